//! A namespace with the operator running against the simulator, and BitbucketTokens whose
//! rendered Secrets tests read back from the API server and hand to git and the consumers.
#![allow(dead_code)]

use std::{os::unix::fs::PermissionsExt, path::PathBuf, time::Duration};

use bitbucket_simulator::GitRequest;
use bitbucket_token_operator::api::BitbucketToken;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

use crate::support::{TestNamespace, client, ensure_crd, operator::Operator, wait_rendered};
use crate::world::World;

/// How long a BitbucketToken may take to become Ready.
pub const WAIT: Duration = Duration::from_secs(60);

pub struct Env {
    pub ns: TestNamespace,
    pub world: World,
    _operator: Operator,
    /// One directory per BitbucketToken, used as its `target.mountPath`.
    pub mounts: tempfile::TempDir,
}

impl Env {
    /// A namespace, a simulator and the operator; Secret `corp-ca` holds the simulator's CA.
    pub async fn start(prefix: &str) -> Self {
        let client = client().await;
        ensure_crd(&client).await;
        let ns = TestNamespace::create(&client, prefix).await;
        let world = World::start().await;
        let operator = Operator::start(&ns.name, &world.sim, &[]);
        let mounts = tempfile::tempdir().expect("mounts dir");
        // Pods' users (not root) reach the volumes below, as under kubelet's pod directory.
        std::fs::set_permissions(mounts.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open the mounts dir");
        let env = Self {
            ns,
            world,
            _operator: operator,
            mounts,
        };
        env.secret("corp-ca", "ca.crt", &env.world.sim.ca_pem())
            .await;
        env
    }

    /// Applies Secret `name` with one key.
    pub async fn secret(&self, name: &str, key: &str, value: &str) {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name},
            "stringData": {key: value},
        }))
        .expect("Secret");
        self.ns
            .api::<Secret>()
            .patch(
                name,
                &PatchParams::apply("bto-tests").force(),
                &Patch::Apply(&secret),
            )
            .await
            .expect("apply Secret");
    }

    /// `<mounts>/<name>`: the BitbucketToken's `target.mountPath`.
    pub fn mount_path(&self, name: &str) -> PathBuf {
        self.mounts.path().join(name)
    }

    /// Creates a BitbucketToken for fixture token `token` with `spec` (token.secretRef, the
    /// mount path and, for HTTPAccessToken, the DC server with `corp-ca` are filled in),
    /// rendering only `format`.
    pub async fn create(&self, name: &str, token: &str, format: &str, spec: Value) {
        self.create_formats(name, token, &[format], spec).await
    }

    /// Like [`Env::create`], rendering `formats`.
    pub async fn create_formats(&self, name: &str, token: &str, formats: &[&str], mut spec: Value) {
        self.secret(&format!("{name}-token"), "token", &self.world.secret(token))
            .await;
        spec["token"]["secretRef"] = json!({"name": format!("{name}-token"), "key": "token"});
        spec["target"] = json!({
            "formats": formats,
            "mountPath": self.mount_path(name).display().to_string(),
        });
        if spec["token"]["kind"] == "HTTPAccessToken" {
            spec["server"] = json!({"dataCenter": {
                "url": self.world.sim.dc_base_url(),
                "caBundleSecretRef": {"name": "corp-ca", "key": "ca.crt"},
            }});
        }
        self.apply_token(name, spec).await;
    }

    /// Creates BitbucketToken `name` with `spec` as given.
    pub async fn apply_token(&self, name: &str, spec: Value) {
        let spec = serde_json::from_value(spec).expect("BitbucketToken spec");
        self.ns
            .api::<BitbucketToken>()
            .create(&PostParams::default(), &BitbucketToken::new(name, spec))
            .await
            .expect("create BitbucketToken");
    }

    /// Waits until `name` is Ready and returns its Secret as read back from the API server.
    pub async fn rendered(&self, name: &str) -> Secret {
        let secret_name = wait_rendered(&self.ns.api::<BitbucketToken>(), name, WAIT).await;
        let secrets: Api<Secret> = self.ns.api();
        secrets.get(&secret_name).await.expect("the Secret exists")
    }

    /// The git requests the simulator saw that match `filter`.
    pub fn git_log(&self, filter: impl Fn(&GitRequest) -> bool) -> Vec<GitRequest> {
        self.world
            .sim
            .git_requests()
            .into_iter()
            .filter(|r| filter(r))
            .collect()
    }

    pub async fn finish(self) {
        self.ns.delete().await;
    }
}

/// A Data Center `HTTPAccessToken` spec for project PAY (with `token.username` when given).
pub fn dc_spec(username: Option<&str>, repositories: Value, permission: &str) -> Value {
    let mut token = json!({"kind": "HTTPAccessToken"});
    if let Some(user) = username {
        token["username"] = json!(user);
    }
    json!({"token": token,
           "access": {"project": "PAY", "repositories": repositories, "permission": permission}})
}
