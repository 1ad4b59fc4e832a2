//! The operator end to end: the real binary against the real control plane and the Bitbucket
//! simulator. Each test has its own namespace, simulator and operator process.

use crate::support;
use crate::world;

use std::{collections::BTreeMap, time::Duration};

use base64::Engine;
use bitbucket_simulator::Fault;
use bitbucket_token_operator::{
    api::{BitbucketToken, OutputFormat, TokenKind},
    controller::{reconcile::REVALIDATE_ANNOTATION, target},
    render::{GitServer, RenderInput, render},
    token::SecretToken,
};
use k8s_openapi::{
    ByteString,
    api::{core::v1::Secret, events::v1::Event},
    apimachinery::pkg::apis::meta::v1::Condition,
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use support::{TestNamespace, client, ensure_crd, operator::Operator, wait_for, wait_until};
use world::World;

const WAIT: Duration = Duration::from_secs(30);

struct Env {
    ns: TestNamespace,
    world: World,
    operator: Operator,
}

impl Env {
    async fn start(prefix: &str) -> Self {
        Self::start_with(prefix, &[]).await
    }

    async fn start_with(prefix: &str, flags: &[&str]) -> Self {
        let client = client().await;
        ensure_crd(&client).await;
        let ns = TestNamespace::create(&client, prefix).await;
        let world = World::start().await;
        let operator = Operator::start(&ns.name, &world.sim, flags);
        Self {
            ns,
            world,
            operator,
        }
    }

    fn tokens(&self) -> Api<BitbucketToken> {
        self.ns.api()
    }

    fn secrets(&self) -> Api<Secret> {
        self.ns.api()
    }

    /// Creates Secret `name` holding fixture token `token` under key `token`.
    async fn token_secret(&self, name: &str, token: &str) {
        self.secret(name, "token", &self.world.secret(token)).await;
    }

    async fn secret(&self, name: &str, key: &str, value: &str) {
        let secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            string_data: Some(BTreeMap::from([(key.to_string(), value.to_string())])),
            ..Secret::default()
        };
        self.secrets()
            .patch(
                name,
                &PatchParams::apply("bto-tests").force(),
                &Patch::Apply(&secret),
            )
            .await
            .expect("apply Secret");
    }

    async fn create(&self, name: &str, spec: Value) -> BitbucketToken {
        let object: BitbucketToken = serde_json::from_value(json!({
            "apiVersion": "bitbucket-token-operator.io/v1beta1",
            "kind": "BitbucketToken",
            "metadata": {"name": name},
            "spec": spec,
        }))
        .expect("BitbucketToken object");
        self.tokens()
            .create(&PostParams::default(), &object)
            .await
            .expect("create BitbucketToken")
    }

    /// Waits until condition `type_` has `status` and `reason`.
    async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: &str,
    ) -> BitbucketToken {
        let (t, s, r) = (type_.to_string(), status.to_string(), reason.to_string());
        wait_for(
            &self.tokens(),
            name,
            WAIT,
            move |obj: Option<&BitbucketToken>| {
                obj.and_then(|o| condition(o, &t))
                    .is_some_and(|c| c.status == s && c.reason == r)
            },
        )
        .await
        .expect("object exists")
    }

    /// Forces the next validation now (instead of after the interval).
    async fn revalidate(&self, name: &str, value: &str) {
        let patch = json!({"metadata": {"annotations": {REVALIDATE_ANNOTATION: value}}});
        self.tokens()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("annotate");
    }

    async fn events(&self, name: &str) -> Vec<Event> {
        let events: Api<Event> = self.ns.api();
        events
            .list(&ListParams::default())
            .await
            .expect("list events")
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect()
    }

    async fn wait_event(&self, name: &str, reason: &str) -> Event {
        wait_until(&format!("event {reason} for {name}"), WAIT, || async {
            self.events(name)
                .await
                .into_iter()
                .find(|e| e.reason.as_deref() == Some(reason))
        })
        .await
    }

    fn git_base(&self) -> url::Url {
        url::Url::parse(&format!("https://localhost:{}", self.world.sim.port())).unwrap()
    }

    /// Asserts that `token` appears nowhere a user or log reader could see it.
    async fn assert_no_leak(&self, token: &str) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(token);
        let logs = self.operator.logs();
        assert!(!logs.is_empty(), "the operator logged something");
        for (what, text) in [
            ("operator log", logs),
            (
                "events",
                serde_json::to_string(&self.events_all().await).unwrap(),
            ),
            (
                "statuses",
                serde_json::to_string(
                    &self
                        .tokens()
                        .list(&ListParams::default())
                        .await
                        .unwrap()
                        .items
                        .iter()
                        .map(|t| &t.status)
                        .collect::<Vec<_>>(),
                )
                .unwrap(),
            ),
        ] {
            assert!(!text.contains(token), "the token leaked into the {what}");
            assert!(
                !text.contains(&encoded),
                "the base64 token leaked into the {what}"
            );
        }
    }

    async fn events_all(&self) -> Vec<Event> {
        let events: Api<Event> = self.ns.api();
        events
            .list(&ListParams::default())
            .await
            .expect("list events")
            .items
    }

    async fn finish(self) {
        self.ns.delete().await;
    }
}

fn condition<'a>(bbt: &'a BitbucketToken, type_: &str) -> Option<&'a Condition> {
    bbt.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

fn data(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, ByteString(v))| (k, String::from_utf8(v).expect("utf-8")))
        .collect()
}

fn rat_spec(secret: &str, permission: &str, formats: &[&str]) -> Value {
    json!({
        "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": secret, "key": "token"}},
        "access": {"workspace": "acme", "repositories": ["payments"], "permission": permission},
        "target": {"formats": formats},
    })
}

#[tokio::test]
async fn renders_every_format_for_every_token_kind() {
    let env = Env::start("render").await;
    let sim = &env.world.sim;
    env.secret("corp-ca", "ca.crt", &sim.ca_pem()).await;
    for (secret, token) in [
        ("rat", "rat-rw"),
        ("api", "api-rw"),
        ("app", "app"),
        ("dcrepo", "dc-repo-rw"),
        ("dcuser", "dc-personal"),
        ("wat", "wat"),
    ] {
        env.token_secret(secret, token).await;
    }
    let dc_server = json!({"dataCenter": {"url": sim.dc_base_url(), "caBundleSecretRef": {"name": "corp-ca", "key": "ca.crt"}}});
    let cases: Vec<(&str, &str, TokenKind, Value)> = vec![
        (
            "cloud-rat",
            "rat-rw",
            TokenKind::RepositoryAccessToken,
            rat_spec("rat", "Write", &["GitConfig", "GitCredentials"]),
        ),
        (
            "cloud-api",
            "api-rw",
            TokenKind::ApiToken,
            json!({
                "token": {"kind": "APIToken", "secretRef": {"name": "api", "key": "token"}, "email": "alice@example.com", "username": "alice"},
                "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Write"},
                "target": {"formats": ["BasicAuth", "Env"], "labels": {"team": "payments"}},
            }),
        ),
        (
            "cloud-app",
            "app",
            TokenKind::AppPassword,
            json!({
                "token": {"kind": "AppPassword", "secretRef": {"name": "app", "key": "token"}, "username": "alice"},
                "access": {"workspace": "acme", "repositories": ["payments"]},
                "target": {"formats": ["GitConfig"]},
            }),
        ),
        (
            "cloud-wat",
            "wat",
            TokenKind::WorkspaceAccessToken,
            json!({
                "token": {"kind": "WorkspaceAccessToken", "secretRef": {"name": "wat", "key": "token"}},
                "access": {"workspace": "acme"},
                "target": {"formats": ["ArgoCD", "BearerToken"], "mountPath": "/workspace/creds"},
            }),
        ),
        (
            "dc-repo",
            "dc-repo-rw",
            TokenKind::HttpAccessToken,
            json!({
                "server": dc_server,
                "token": {"kind": "HTTPAccessToken", "secretRef": {"name": "dcrepo", "key": "token"}},
                "access": {"project": "PAY", "repositories": ["payments"], "permission": "Write"},
                "target": {"formats": ["BearerToken", "GitConfig", "ArgoCD"], "name": "dc-repo-credentials"},
            }),
        ),
        (
            "dc-personal",
            "dc-personal",
            TokenKind::HttpAccessToken,
            json!({
                "server": dc_server,
                "token": {"kind": "HTTPAccessToken", "secretRef": {"name": "dcuser", "key": "token"}, "username": "bob"},
                "access": {"project": "PAY", "repositories": ["payments", "ledger"], "permission": "Write"},
                "target": {"formats": ["GitCredentials", "BasicAuth"]},
            }),
        ),
    ];
    for (name, _, _, spec) in &cases {
        env.create(name, spec.clone()).await;
    }
    for (name, token_name, kind, spec) in &cases {
        let bbt = env
            .wait_condition(name, "Ready", "True", "SecretRendered")
            .await;
        let status = bbt.status.clone().unwrap();
        assert_eq!(
            condition(&bbt, "TokenValid").unwrap().reason,
            "Valid",
            "{name}"
        );
        assert_eq!(status.observed_generation, bbt.metadata.generation);
        assert!(
            status.last_validated_at.is_some()
                && status.next_validation_at > status.last_validated_at,
            "{name}: {status:?}"
        );
        let secret_name = status.secret_name.clone().unwrap();
        assert_eq!(
            secret_name,
            spec["target"]["name"]
                .as_str()
                .map_or(format!("{name}-git"), String::from)
        );
        let secret = env.secrets().get(&secret_name).await.unwrap();
        // The Secret holds exactly what the renderer makes from the spec and the token...
        let token = SecretToken::parse(&env.world.secret(token_name)).unwrap();
        let formats: Vec<OutputFormat> =
            serde_json::from_value(spec["target"]["formats"].clone()).unwrap();
        let server = match spec.get("server") {
            Some(_) => GitServer::DataCenter {
                base: url::Url::parse(&sim.dc_base_url()).unwrap(),
            },
            None => GitServer::Cloud {
                git_base: env.git_base(),
            },
        };
        let access = serde_json::from_value(spec["access"].clone()).unwrap();
        let ca_pem = sim.ca_pem();
        let expected = render(&RenderInput {
            token: &token,
            kind: *kind,
            server: &server,
            access: &access,
            username: spec["token"]["username"].as_str(),
            formats: &formats,
            mount_path: spec["target"]["mountPath"]
                .as_str()
                .unwrap_or("/etc/bitbucket-git"),
            // Data Center cases name the simulator's CA in caBundleSecretRef.
            ca_bundle: spec.get("server").map(|_| ca_pem.as_bytes()),
        })
        .unwrap();
        assert_eq!(data(&secret), expected.data, "{name}");
        assert_eq!(
            secret.type_.as_deref(),
            Some(expected.type_.as_str()),
            "{name}"
        );
        // ...plus ownership and bookkeeping.
        assert_eq!(
            secret
                .labels()
                .get(target::MANAGED_BY_LABEL)
                .map(String::as_str),
            Some(target::MANAGED_BY)
        );
        assert_eq!(
            secret.annotations().get(target::FINGERPRINT_ANNOTATION),
            status.token_fingerprint.as_ref()
        );
        let owner = &secret.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("BitbucketToken", bbt.uid().unwrap().as_str(), Some(true))
        );
        for (key, value) in expected.labels {
            assert_eq!(
                secret.labels().get(&key),
                Some(&value),
                "{name}: label {key}"
            );
        }
    }
    // Spot checks of the literal content, independent of the renderer.
    let rat = data(&env.secrets().get("cloud-rat-git").await.unwrap());
    let port = sim.port();
    assert!(
        rat[".gitconfig"].contains(&format!(
            "[http \"https://localhost:{port}/acme/payments.git\"]"
        )),
        "{}",
        rat[".gitconfig"]
    );
    // Cloud access tokens reach git as Basic x-token-auth, the documented form.
    assert!(rat[".gitconfig"].contains(&format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("x-token-auth:{}", env.world.secret("rat-rw")))
    )));
    assert!(rat[".git-credentials"].contains("x-token-auth:"));
    let dc = data(&env.secrets().get("dc-repo-credentials").await.unwrap());
    assert_eq!(dc["bearerToken"], env.world.secret("dc-repo-rw"));
    let api = env.secrets().get("cloud-api-git").await.unwrap();
    assert_eq!(api.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(data(&api)["username"], "alice");
    assert_eq!(
        api.labels().get("team").map(String::as_str),
        Some("payments")
    );
    let wat = env.secrets().get("cloud-wat-git").await.unwrap();
    assert_eq!(
        wat.labels()
            .get("argocd.argoproj.io/secret-type")
            .map(String::as_str),
        Some("repo-creds")
    );
    // Status facts from Bitbucket.
    let dc_status = env.tokens().get("dc-repo").await.unwrap().status.unwrap();
    assert_eq!(
        dc_status.expiry_source,
        Some(bitbucket_token_operator::api::ExpirySource::Bitbucket)
    );
    assert!(dc_status.granted_scopes.contains(&"REPO_WRITE".to_string()));
    let rat_status = env.tokens().get("cloud-rat").await.unwrap().status.unwrap();
    assert!(
        rat_status
            .granted_scopes
            .contains(&"repository:write".to_string())
    );
    env.wait_event("cloud-rat", "SecretRendered").await;
    for (_, token_name, _, _) in &cases {
        env.assert_no_leak(&env.world.secret(token_name)).await;
    }
    env.finish().await;
}

#[tokio::test]
async fn rotation_rerenders_at_once_and_reports_it() {
    let env = Env::start("rotate").await;
    env.token_secret("src", "rat-ro").await;
    env.create("rotating", rat_spec("src", "Read", &["BearerToken"]))
        .await;
    let before = env
        .wait_condition("rotating", "Ready", "True", "SecretRendered")
        .await;
    assert_eq!(
        data(&env.secrets().get("rotating-git").await.unwrap())["bearerToken"],
        env.world.secret("rat-ro")
    );
    env.token_secret("src", "rat-rw").await;
    let new_token = env.world.secret("rat-rw");
    wait_until("the rendered Secret holds the new token", WAIT, || async {
        let secret = env.secrets().get("rotating-git").await.ok()?;
        (data(&secret)["bearerToken"] == new_token).then_some(())
    })
    .await;
    env.wait_event("rotating", "TokenRotated").await;
    let after = env.tokens().get("rotating").await.unwrap();
    assert_ne!(
        after.status.unwrap().token_fingerprint,
        before.status.unwrap().token_fingerprint
    );
    env.finish().await;
}

#[tokio::test]
async fn revocation_flips_the_conditions_and_keeps_the_secret() {
    let env = Env::start("revoke").await;
    env.token_secret("src", "rat-rw").await;
    env.create("revoked", rat_spec("src", "Write", &["GitConfig"]))
        .await;
    env.wait_condition("revoked", "Ready", "True", "SecretRendered")
        .await;
    let rendered = env.secrets().get("revoked-git").await.unwrap();
    env.world.sim.revoke("rat-rw");
    env.revalidate("revoked", "1").await;
    let bbt = env
        .wait_condition("revoked", "TokenValid", "False", "Revoked")
        .await;
    let ready = condition(&bbt, "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "Revoked")
    );
    assert!(
        ready.message.contains("left as it was"),
        "{}",
        ready.message
    );
    let warning = env.wait_event("revoked", "TokenRevoked").await;
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    let kept = env.secrets().get("revoked-git").await.unwrap();
    assert_eq!(
        kept.metadata.resource_version, rendered.metadata.resource_version,
        "the Secret is untouched"
    );
    // The source Secret disappears: precise reason, Secret still kept.
    env.secrets()
        .delete("src", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_condition("revoked", "TokenValid", "False", "SourceSecretNotFound")
        .await;
    assert_eq!(
        env.secrets().get("revoked-git").await.unwrap().data,
        rendered.data
    );
    env.assert_no_leak(&env.world.secret("rat-rw")).await;
    env.finish().await;
}

#[tokio::test]
async fn a_missing_scope_is_named_and_nothing_is_rendered() {
    let env = Env::start("scope").await;
    env.token_secret("src", "rat-ro").await;
    env.create("push", rat_spec("src", "Write", &["GitConfig"]))
        .await;
    let bbt = env
        .wait_condition("push", "TokenValid", "False", "InsufficientScope")
        .await;
    let message = &condition(&bbt, "TokenValid").unwrap().message;
    assert!(
        message.contains("repository:write") && message.contains("push will fail"),
        "{message}"
    );
    assert_eq!(condition(&bbt, "Ready").unwrap().status, "False");
    assert!(env.secrets().get_opt("push-git").await.unwrap().is_none());
    let event = env.wait_event("push", "InsufficientScope").await;
    assert!(event.note.unwrap_or_default().contains("repository:write"));
    env.finish().await;
}

#[tokio::test]
async fn an_outage_leaves_the_secret_and_ready_alone_and_recovers() {
    let env = Env::start("outage").await;
    env.token_secret("src", "rat-rw").await;
    env.create("steady", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    env.wait_condition("steady", "Ready", "True", "SecretRendered")
        .await;
    let rendered = env.secrets().get("steady-git").await.unwrap();
    env.world.sim.set_fault(Fault::ServiceUnavailable);
    env.revalidate("steady", "outage").await;
    let bbt = env
        .wait_condition("steady", "TokenValid", "Unknown", "BitbucketUnreachable")
        .await;
    assert_eq!(
        condition(&bbt, "Ready").unwrap().status,
        "True",
        "a transient failure never takes Ready away"
    );
    assert_eq!(
        env.secrets()
            .get("steady-git")
            .await
            .unwrap()
            .metadata
            .resource_version,
        rendered.metadata.resource_version
    );
    env.world.sim.set_fault(Fault::None);
    env.revalidate("steady", "recovered").await;
    env.wait_condition("steady", "TokenValid", "True", "Valid")
        .await;
    env.finish().await;
}

#[tokio::test]
async fn expiring_flips_on_time_without_asking_bitbucket() {
    let env = Env::start("expiry").await;
    env.token_secret("src", "rat-rw").await;
    let expires = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let mut soon = rat_spec("src", "Read", &["GitConfig"]);
    soon["token"]["expiresAt"] = json!(expires.to_rfc3339());
    // The warning window opens about eight seconds from now.
    soon["expiryWarning"] = json!("3592s");
    env.create("soon", soon).await;
    let first = env
        .wait_condition("soon", "Ready", "True", "SecretRendered")
        .await;
    assert_eq!(condition(&first, "Expiring").unwrap().reason, "NotExpiring");
    let calls = env.world.sim.requests_for_token("rat-rw");
    let flipped = env
        .wait_condition("soon", "Expiring", "True", "ExpiresSoon")
        .await;
    assert_eq!(
        env.world.sim.requests_for_token("rat-rw"),
        calls,
        "the flip needs no Bitbucket call"
    );
    assert_eq!(
        flipped.status.unwrap().expiry_source,
        Some(bitbucket_token_operator::api::ExpirySource::Declared)
    );
    env.wait_event("soon", "TokenExpiringSoon").await;
    env.finish().await;
}

#[tokio::test]
async fn a_host_off_the_allowlist_is_never_contacted() {
    let env = Env::start_with("allow", &["--allowed-dc-host", "git.example.com"]).await;
    env.token_secret("src", "dc-repo-rw").await;
    env.create(
        "offlist",
        json!({
            "server": {"dataCenter": {"url": env.world.sim.dc_base_url()}},
            "token": {"kind": "HTTPAccessToken", "secretRef": {"name": "src", "key": "token"}},
            "access": {"project": "PAY", "repositories": ["payments"]},
        }),
    )
    .await;
    let bbt = env
        .wait_condition("offlist", "TokenValid", "False", "HostNotAllowed")
        .await;
    assert!(
        condition(&bbt, "TokenValid")
            .unwrap()
            .message
            .contains("allowlist")
    );
    assert_eq!(env.world.sim.request_count(), 0);
    env.finish().await;
}

#[tokio::test]
async fn fifty_objects_sharing_one_token_cost_one_bitbucket_call() {
    let env = Env::start("shared").await;
    env.token_secret("shared", "rat-rw").await;
    for i in 0..50 {
        env.create(
            &format!("team-{i}"),
            rat_spec("shared", "Read", &["BearerToken"]),
        )
        .await;
    }
    for i in 0..50 {
        env.wait_condition(&format!("team-{i}"), "Ready", "True", "SecretRendered")
            .await;
    }
    // Validating a repository access token for read is one GET of the repository.
    assert_eq!(env.world.sim.requests_for_token("rat-rw"), 1);
    env.finish().await;
}

#[tokio::test]
async fn deletion_follows_the_deletion_policy() {
    let env = Env::start("delete").await;
    env.token_secret("src", "rat-rw").await;
    let mut retain = rat_spec("src", "Read", &["GitConfig"]);
    retain["target"]["deletionPolicy"] = json!("Retain");
    env.create("deleted", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    env.create("retained", retain).await;
    env.wait_condition("deleted", "Ready", "True", "SecretRendered")
        .await;
    env.wait_condition("retained", "Ready", "True", "SecretRendered")
        .await;
    assert!(
        env.secrets()
            .get("retained-git")
            .await
            .unwrap()
            .owner_references()
            .is_empty()
    );
    for name in ["deleted", "retained"] {
        env.tokens()
            .delete(name, &DeleteParams::background())
            .await
            .unwrap();
    }
    // The garbage collector rediscovers new resource types every 30 s: allow for it.
    wait_until(
        "the garbage collector removes deleted-git",
        Duration::from_secs(120),
        || async {
            env.secrets()
                .get_opt("deleted-git")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(
        env.secrets()
            .get_opt("retained-git")
            .await
            .unwrap()
            .is_some(),
        "Retain keeps the Secret"
    );
    env.finish().await;
}

#[tokio::test]
async fn a_secret_it_does_not_own_is_left_untouched() {
    let env = Env::start("conflict").await;
    env.secret("taken-git", "note", "somebody else's").await;
    let before = env.secrets().get("taken-git").await.unwrap();
    env.token_secret("src", "rat-rw").await;
    env.create("taken", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    let bbt = env
        .wait_condition("taken", "Ready", "False", "SecretConflict")
        .await;
    assert_eq!(condition(&bbt, "TokenValid").unwrap().status, "True");
    let after = env.secrets().get("taken-git").await.unwrap();
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
    assert_eq!(
        data(&after),
        BTreeMap::from([("note".to_string(), "somebody else's".to_string())])
    );
    env.finish().await;
}

#[tokio::test]
async fn sigterm_stops_the_operator_cleanly() {
    let mut env = Env::start("shutdown").await;
    env.token_secret("src", "rat-rw").await;
    env.create("one", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    env.wait_condition("one", "Ready", "True", "SecretRendered")
        .await;
    let status = env.operator.stop();
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        env.operator.logs()
    );
    env.finish().await;
}

#[tokio::test]
async fn a_restarted_operator_trusts_a_fresh_status_and_writes_nothing() {
    let mut env = Env::start("resume").await;
    env.token_secret("src", "rat-rw").await;
    env.token_secret("other-src", "rat-ro").await;
    env.create("steady", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    // A declared expiry keeps its check apart from steady's in the shared cache.
    let mut rotated = rat_spec("other-src", "Read", &["GitConfig"]);
    rotated["token"]["expiresAt"] = json!("2030-01-01T00:00:00Z");
    env.create("rotated", rotated).await;
    let before = env
        .wait_condition("steady", "Ready", "True", "SecretRendered")
        .await;
    let rotated_before = env
        .wait_condition("rotated", "Ready", "True", "SecretRendered")
        .await;
    let secret_before = env.secrets().get("steady-git").await.unwrap();
    assert!(env.operator.stop().success());
    let calls = env.world.sim.requests_for_token("rat-rw");

    // While it is down, the other object's token rotates: that one must be checked again.
    env.token_secret("other-src", "rat-rw").await;
    let flags: [&str; 0] = [];
    env.operator = Operator::start(&env.ns.name, &env.world.sim, &flags);
    let fingerprint = |t: &BitbucketToken| t.status.as_ref().unwrap().token_fingerprint.clone();
    let steady_fingerprint = fingerprint(&before);
    let after = wait_for(
        &env.tokens(),
        "rotated",
        WAIT,
        move |t: Option<&BitbucketToken>| {
            t.is_some_and(|t| t.status.as_ref().unwrap().token_fingerprint == steady_fingerprint)
        },
    )
    .await
    .unwrap();
    assert_ne!(fingerprint(&after), fingerprint(&rotated_before));
    env.wait_condition("rotated", "Ready", "True", "SecretRendered")
        .await;
    wait_until("the new process reconciled steady", WAIT, || async {
        env.operator
            .logs()
            .lines()
            .any(|l| l.contains("reconciled") && l.contains("name=steady"))
            .then_some(())
    })
    .await;
    let steady = env.tokens().get("steady").await.unwrap();
    assert_eq!(
        steady.resource_version(),
        before.resource_version(),
        "no status write for an unchanged, freshly checked token"
    );
    assert_eq!(
        env.secrets()
            .get("steady-git")
            .await
            .unwrap()
            .resource_version(),
        secret_before.resource_version(),
        "the rendered Secret is untouched"
    );
    // rat-rw was asked about once more, for the rotated object, never for steady.
    assert_eq!(env.world.sim.requests_for_token("rat-rw"), calls + 1);
    env.finish().await;
}

/// A minimal workload of `kind` labelled `labels` (no pods run on the test control plane).
fn workload(kind: &str, name: &str, labels: Value) -> kube::api::DynamicObject {
    let mut spec = json!({
        "selector": {"matchLabels": {"workload": name}},
        "template": {
            "metadata": {"labels": {"workload": name}},
            "spec": {"containers": [{"name": "git", "image": "alpine/git"}]},
        },
    });
    if kind == "StatefulSet" {
        spec["serviceName"] = json!(name);
    }
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }))
    .unwrap()
}

fn workload_api(env: &Env, kind: &str) -> Api<kube::api::DynamicObject> {
    let gvk = kube::api::GroupVersionKind::gvk("apps", "v1", kind);
    let resource = kube::api::ApiResource::from_gvk(&gvk);
    Api::namespaced_with(
        env.ns.api::<Secret>().into_client(),
        &env.ns.name,
        &resource,
    )
}

fn template_annotation(object: &kube::api::DynamicObject, key: &str) -> Option<String> {
    object.data["spec"]["template"]["metadata"]["annotations"][key]
        .as_str()
        .map(String::from)
}

#[tokio::test]
async fn rotation_restarts_exactly_the_selected_workloads_once() {
    use bitbucket_token_operator::controller::rollout::{
        RESTARTED_AT_ANNOTATION, ROTATED_TO_ANNOTATION,
    };
    let env = Env::start_with("restart", &["--restart-workloads"]).await;
    let selected = json!({"git-credentials": "payments"});
    for (kind, name, labels) in [
        ("Deployment", "ci-runner", selected.clone()),
        ("StatefulSet", "builder", selected.clone()),
        ("DaemonSet", "agent", selected.clone()),
        (
            "Deployment",
            "unrelated",
            json!({"git-credentials": "other"}),
        ),
    ] {
        workload_api(&env, kind)
            .create(&PostParams::default(), &workload(kind, name, labels))
            .await
            .unwrap();
    }
    env.token_secret("src", "rat-ro").await;
    let mut spec = rat_spec("src", "Read", &["GitConfig"]);
    spec["target"]["restartOnRotation"] =
        json!({"selector": {"matchLabels": {"git-credentials": "payments"}}});
    env.create("rolling", spec).await;
    env.wait_condition("rolling", "Ready", "True", "SecretRendered")
        .await;
    for (kind, name) in [
        ("Deployment", "ci-runner"),
        ("StatefulSet", "builder"),
        ("DaemonSet", "agent"),
    ] {
        let object = workload_api(&env, kind).get(name).await.unwrap();
        assert_eq!(
            template_annotation(&object, RESTARTED_AT_ANNOTATION),
            None,
            "never on the first render"
        );
    }
    env.token_secret("src", "rat-rw").await;
    let new_fingerprint = SecretToken::parse(&env.world.secret("rat-rw"))
        .unwrap()
        .fingerprint();
    let expected = new_fingerprint.clone();
    let rotated = wait_for(
        &env.tokens(),
        "rolling",
        WAIT,
        move |obj: Option<&BitbucketToken>| {
            obj.and_then(|o| o.status.as_ref()?.last_restart.as_ref())
                .is_some_and(|r| r.token_fingerprint == expected)
        },
    )
    .await
    .unwrap();
    let validated_after_rotation = rotated.status.as_ref().unwrap().last_validated_at;
    let record = rotated.status.unwrap().last_restart.unwrap();
    let mut restarted = record.workloads.clone();
    restarted.sort();
    assert_eq!(
        restarted,
        [
            "DaemonSet/agent",
            "Deployment/ci-runner",
            "StatefulSet/builder"
        ]
    );
    let mut stamps = Vec::new();
    for (kind, name) in [
        ("Deployment", "ci-runner"),
        ("StatefulSet", "builder"),
        ("DaemonSet", "agent"),
    ] {
        let object = workload_api(&env, kind).get(name).await.unwrap();
        assert_eq!(
            template_annotation(&object, ROTATED_TO_ANNOTATION).as_deref(),
            Some(new_fingerprint.as_str())
        );
        stamps.push((kind, name, object.metadata.generation));
    }
    let unrelated = workload_api(&env, "Deployment")
        .get("unrelated")
        .await
        .unwrap();
    assert_eq!(
        template_annotation(&unrelated, RESTARTED_AT_ANNOTATION),
        None
    );
    env.wait_event("rolling", "WorkloadsRestarted").await;
    // Another reconcile of the same rotation restarts nothing again.
    env.revalidate("rolling", "again").await;
    wait_until("the revalidation is done", WAIT, || async {
        let bbt = env.tokens().get("rolling").await.ok()?;
        (bbt.status?.last_validated_at > validated_after_rotation).then_some(())
    })
    .await;
    for (kind, name, generation) in stamps {
        let object = workload_api(&env, kind).get(name).await.unwrap();
        assert_eq!(
            object.metadata.generation, generation,
            "{kind}/{name} was not restarted twice"
        );
    }
    env.finish().await;
}

/// One scrape of the operator's /metrics.
async fn scrape(env: &Env) -> String {
    let addr = wait_until("the operator's metrics address", WAIT, || async {
        env.operator.http_addr()
    })
    .await;
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics body")
}

/// The value of the sample whose line starts with `series` (name and labels), if served.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// Every metric name a scrape serves samples under (counters with `_total`, histograms with
/// `_bucket`, `_sum` and `_count`), from its `# TYPE` lines.
fn served_names(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .flat_map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            match parts.next() {
                Some("counter") => vec![format!("{name}_total")],
                Some("histogram") => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|s| format!("{name}{s}"))
                    .collect(),
                _ => vec![name],
            }
        })
        .collect()
}

/// Metric names the alert fixture, the rules and the dashboard use.
fn names_used_by_monitoring() -> std::collections::BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = std::collections::BTreeSet::new();
    for file in [
        "tests/alerts/rules.test.yaml",
        "charts/bitbucket-token-operator/templates/prometheusrule.yaml",
        "charts/bitbucket-token-operator/dashboards/bitbucket-tokens.json",
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        let mut rest = text.as_str();
        while let Some(at) = rest.find("bitbucket_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    names
}

#[tokio::test]
async fn metrics_follow_the_tokens_and_their_series_go_with_them() {
    let env = Env::start("metrics").await;
    let ns = env.ns.name.clone();
    env.token_secret("good-src", "rat-rw").await;
    env.token_secret("bad-src", "rat-ro").await;
    let expires = chrono::Utc::now() + chrono::TimeDelta::days(30);
    let mut good = rat_spec("good-src", "Read", &["GitConfig"]);
    good["token"]["expiresAt"] = json!(expires.to_rfc3339());
    env.create("good", good).await;
    env.create("revoked", rat_spec("bad-src", "Read", &["GitConfig"]))
        .await;
    let ready = env
        .wait_condition("good", "Ready", "True", "SecretRendered")
        .await;
    env.wait_condition("revoked", "Ready", "True", "SecretRendered")
        .await;
    // Cloud answers 401 alike for unknown and revoked tokens: Revoked means it worked before.
    env.world.sim.revoke("rat-ro");
    env.revalidate("revoked", "1").await;
    env.wait_condition("revoked", "TokenValid", "False", "Revoked")
        .await;
    let status_expiry = ready
        .status
        .and_then(|s| s.expires_at)
        .expect("status.expiresAt")
        .timestamp();

    let labels =
        |name: &str| format!(r#"namespace="{ns}",name="{name}",kind="RepositoryAccessToken""#);
    let valid_good = format!(
        r#"bitbucket_token_valid{{{},reason="Valid"}}"#,
        labels("good")
    );
    let valid_revoked = format!(
        r#"bitbucket_token_valid{{{},reason="Revoked"}}"#,
        labels("revoked")
    );
    // The cache that metrics read from follows the status writes within moments.
    let text = wait_until("both tokens in /metrics", WAIT, || async {
        let text = scrape(&env).await;
        (sample(&text, &valid_good).is_some() && sample(&text, &valid_revoked).is_some())
            .then_some(text)
    })
    .await;
    assert_eq!(sample(&text, &valid_good), Some(1.0), "{text}");
    assert_eq!(sample(&text, &valid_revoked), Some(0.0), "{text}");
    let ready_series = |name: &str| format!("bitbucket_token_ready{{{}}}", labels(name));
    assert_eq!(sample(&text, &ready_series("good")), Some(1.0));
    assert_eq!(sample(&text, &ready_series("revoked")), Some(0.0));
    assert_eq!(
        sample(
            &text,
            &format!(
                "bitbucket_token_expiration_timestamp_seconds{{{}}}",
                labels("good")
            )
        ),
        Some(status_expiry as f64),
        "the expiry equals status.expiresAt"
    );
    assert_eq!(
        sample(
            &text,
            &format!("bitbucket_token_validation_failing{{{}}}", labels("good"))
        ),
        Some(0.0)
    );
    let host = format!("localhost:{}", env.world.sim.port());
    let api_2xx = sample(
        &text,
        &format!(r#"bitbucket_api_requests_total{{host="{host}",status="2xx"}}"#),
    );
    assert!(api_2xx.is_some_and(|n| n >= 1.0), "{text}");
    let api_4xx = sample(
        &text,
        &format!(r#"bitbucket_api_requests_total{{host="{host}",status="4xx"}}"#),
    );
    assert!(
        api_4xx.is_some_and(|n| n >= 1.0),
        "the revoked token's 401: {text}"
    );
    assert!(sample(&text, "bitbucket_token_operator_reconcile_total").is_some_and(|n| n >= 2.0));
    assert_eq!(sample(&text, "bitbucket_token_operator_leader"), Some(1.0));
    assert!(
        sample(
            &text,
            "bitbucket_token_operator_reconcile_duration_seconds_count"
        )
        .is_some_and(|n| n >= 2.0)
    );

    // Everything the alerts and the dashboard query is really served.
    let served = served_names(&text);
    for name in names_used_by_monitoring() {
        assert!(
            served.contains(&name),
            "{name} is used by the rules or the dashboard but not served: {served:?}"
        );
    }
    for token in ["rat-rw", "rat-ro"] {
        assert!(
            !text.contains(&env.world.secret(token)),
            "a token leaked into /metrics"
        );
    }

    env.tokens()
        .delete("good", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = r#"name="good""#;
    let text = wait_until("the deleted token's series to go", WAIT, || async {
        let text = scrape(&env).await;
        (!text.contains(gone)).then_some(text)
    })
    .await;
    assert_eq!(sample(&text, &valid_revoked), Some(0.0), "the other stays");
    env.finish().await;
}

#[tokio::test]
async fn an_edited_rendered_secret_is_repaired() {
    let env = Env::start("drift").await;
    env.token_secret("src", "rat-rw").await;
    env.create("one", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    env.wait_condition("one", "Ready", "True", "SecretRendered")
        .await;
    let rendered = env.secrets().get("one-git").await.unwrap();
    let good = data(&rendered);
    // Someone overwrites the rendered content (the operator's annotations stay as they were).
    let patch = json!({"stringData": {".gitconfig": "[core]\n\tsshCommand = evil\n"}});
    env.secrets()
        .patch("one-git", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("tamper");
    wait_for(
        &env.secrets(),
        "one-git",
        WAIT,
        move |s: Option<&Secret>| s.is_some_and(|s| data(s) == good),
    )
    .await
    .unwrap();
    env.finish().await;
}

/// Issue 18: under `deletionPolicy: Retain` the rendered Secret has no owner reference; an edit or
/// a deletion of it is still repaired within seconds (the validation interval is an hour).
#[tokio::test]
async fn a_retained_secret_edited_or_deleted_is_repaired() {
    let env = Env::start("retain-drift").await;
    env.token_secret("src", "rat-rw").await;
    let mut spec = rat_spec("src", "Read", &["GitConfig"]);
    spec["target"]["deletionPolicy"] = json!("Retain");
    env.create("kept", spec).await;
    env.wait_condition("kept", "Ready", "True", "SecretRendered")
        .await;
    let rendered = env.secrets().get("kept-git").await.unwrap();
    assert!(rendered.owner_references().is_empty());
    let good = data(&rendered);
    let patch = json!({"stringData": {".gitconfig": "[core]\n\tsshCommand = evil\n"}});
    env.secrets()
        .patch("kept-git", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("tamper");
    let expected = good.clone();
    wait_for(
        &env.secrets(),
        "kept-git",
        WAIT,
        move |s: Option<&Secret>| s.is_some_and(|s| data(s) == expected),
    )
    .await
    .unwrap();
    env.secrets()
        .delete("kept-git", &DeleteParams::default())
        .await
        .expect("delete the rendered Secret");
    let uid = rendered.metadata.uid.clone();
    wait_for(
        &env.secrets(),
        "kept-git",
        WAIT,
        move |s: Option<&Secret>| s.is_some_and(|s| s.metadata.uid != uid && data(s) == good),
    )
    .await
    .unwrap();
    env.finish().await;
}

/// `(attempt, retry in ms)` of every logged failed reconcile of `name`, in log order.
fn logged_failures(logs: &str, name: &str) -> Vec<(u32, u64)> {
    let field = |line: &str, key: &str| -> Option<u64> {
        let rest = line.split(&format!(" {key}=")).nth(1)?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    logs.lines()
        .filter(|l| l.contains("reconcile failed") && l.contains(&format!("name={name}}}")))
        .map(|l| {
            let attempt = field(l, "attempt").unwrap_or(0) as u32;
            (attempt, field(l, "retry_in_ms").unwrap_or(0))
        })
        .collect()
}

/// A ValidatingAdmissionPolicy (the API server's own CEL admission) refusing every Secret with
/// the operator's managed-by label in one namespace; removed on drop.
struct RefuseRendered {
    name: String,
}

impl RefuseRendered {
    async fn install(env: &Env) -> Self {
        use k8s_openapi::api::admissionregistration::v1::{
            ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
        };
        let client = client().await;
        let name = format!("bto-refuse-{}", env.ns.name);
        let policy: ValidatingAdmissionPolicy = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"], "resources": ["secrets"],
                }]},
                "validations": [{
                    "expression": "!has(object.metadata.labels) || !('app.kubernetes.io/managed-by' in object.metadata.labels)",
                    "message": "rendered Secrets are refused in this namespace",
                    // 403: a policy refusing the request, which may change; a 422 (the default
                    // reason, Invalid) is reported as a spec the API server refuses instead.
                    "reason": "Forbidden",
                }],
            },
        }))
        .unwrap();
        let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": env.ns.name,
                }}},
            },
        }))
        .unwrap();
        Api::<ValidatingAdmissionPolicy>::all(client.clone())
            .create(&PostParams::default(), &policy)
            .await
            .unwrap();
        Api::<ValidatingAdmissionPolicyBinding>::all(client)
            .create(&PostParams::default(), &binding)
            .await
            .unwrap();
        // The policy takes effect once the API server has loaded it: probe with a dry run.
        let probe: Secret = serde_json::from_value(json!({
            "metadata": {"name": "probe", "labels": {"app.kubernetes.io/managed-by": "probe"}},
        }))
        .unwrap();
        let dry_run = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        wait_until("the admission policy refuses", WAIT, || async {
            env.secrets()
                .create(&dry_run, &probe)
                .await
                .is_err()
                .then_some(())
        })
        .await;
        Self { name }
    }
}

impl Drop for RefuseRendered {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Cluster-scoped: remove it even when the test failed (a thread: Drop cannot await).
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(async move {
                    use k8s_openapi::api::admissionregistration::v1::{
                        ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
                    };
                    let client = client().await;
                    let params = DeleteParams::default();
                    let _ = Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
                        .delete(&name, &params)
                        .await;
                    let _ = Api::<ValidatingAdmissionPolicy>::all(client)
                        .delete(&name, &params)
                        .await;
                })
        })
        .join()
        .unwrap();
    }
}

/// Issue 18: Kubernetes API errors (here: an admission policy refuses the rendered Secret) are retried
/// per object with an exponential, jittered back-off, and each failure is logged exactly once.
#[tokio::test]
async fn api_errors_back_off_per_object_and_are_logged_once() {
    let env = Env::start("api-backoff").await;
    env.token_secret("src", "rat-rw").await;
    let _refusal = RefuseRendered::install(&env).await;
    for name in ["a", "b"] {
        env.create(name, rat_spec("src", "Read", &["GitConfig"]))
            .await;
    }
    let failures = wait_until(
        "three failures of each object",
        Duration::from_secs(120),
        || async {
            let logs = env.operator.logs();
            let (a, b) = (logged_failures(&logs, "a"), logged_failures(&logs, "b"));
            (a.len() >= 3 && b.len() >= 3).then_some((a, b))
        },
    )
    .await;
    for failures in [&failures.0, &failures.1] {
        let attempts: Vec<u32> = failures.iter().map(|f| f.0).collect();
        assert_eq!(
            attempts,
            (1..=attempts.len() as u32).collect::<Vec<_>>(),
            "each failure is logged once, with its attempt: {failures:?}"
        );
        assert!(
            failures[2].1 > failures[0].1,
            "the wait grows: {failures:?}"
        );
    }
    assert_ne!(
        failures.0[..3],
        failures.1[..3],
        "objects failing together retry on their own beats"
    );
    assert!(env.secrets().get_opt("a-git").await.unwrap().is_none());
    // Logged once: the API server's message appears once in the failure's line, not again in a
    // dump of its Status.
    let logs = env.operator.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("reconcile failed") && l.contains("name=a}"))
        .collect();
    for line in &lines {
        assert_eq!(
            line.matches("rendered Secrets are refused").count(),
            1,
            "{line}"
        );
    }
    env.finish().await;
}

/// Issue 18: starvation under overload. 120 BitbucketTokens asking to be checked every second,
/// an operator allowed one reconcile at a time: it cannot keep up. Every object must get its
/// first reconcile before any object gets its second, and the operator must stretch the intervals
/// and say so (metric and condition) instead of leaving objects without a status.
#[tokio::test]
async fn under_overload_every_object_comes_first_and_intervals_stretch() {
    const N: usize = 120;
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "overload").await;
    let world = World::start().await;
    let tokens: Api<BitbucketToken> = ns.api();
    // Watch every change from the start: the order of first statuses and second ones.
    let watched = tokens.clone();
    let order = tokio::spawn(async move {
        use futures::StreamExt;
        use kube::runtime::watcher;
        let mut writes: BTreeMap<String, (usize, Option<String>)> = BTreeMap::new();
        let mut stream = watcher(watched, watcher::Config::default()).boxed();
        while let Some(event) = stream.next().await {
            let Ok(watcher::Event::Apply(bbt) | watcher::Event::InitApply(bbt)) = event else {
                continue;
            };
            let Some(status) = &bbt.status else { continue };
            let key = serde_json::to_string(status).unwrap();
            let entry = writes.entry(bbt.name_any()).or_insert((0, None));
            if entry.1.as_deref() != Some(key.as_str()) {
                *entry = (entry.0 + 1, Some(key));
            }
            if writes.len() == N {
                // The moment the last object got its first status: how often had any been written?
                return writes.values().map(|(count, _)| *count).max().unwrap_or(0);
            }
        }
        0
    });
    // Everything exists before the operator starts, so all objects are due for their first
    // reconcile at once.
    let secrets: Api<Secret> = ns.api();
    let source: Secret = serde_json::from_value(json!({
        "metadata": {"name": "src"},
        "stringData": {"token": world.secret("rat-rw")},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &source)
        .await
        .unwrap();
    for i in 0..N {
        let object: BitbucketToken = serde_json::from_value(json!({
            "apiVersion": "bitbucket-token-operator.io/v1beta1",
            "kind": "BitbucketToken",
            "metadata": {"name": format!("t-{i:03}")},
            "spec": rat_spec("src", "Read", &["GitConfig"]),
        }))
        .unwrap();
        tokens
            .create(&PostParams::default(), &object)
            .await
            .unwrap();
    }
    let env = Env {
        operator: Operator::start(
            &ns.name,
            &world.sim,
            &["--concurrency=1", "--default-validation-interval=1s"],
        ),
        ns,
        world,
    };
    let most = tokio::time::timeout(Duration::from_secs(120), order)
        .await
        .expect("every object got a status within 2 minutes")
        .unwrap();
    assert_eq!(
        most, 1,
        "no object had a second status before every object had its first"
    );
    let factor = wait_until("the stretch metric", WAIT, || async {
        sample(
            &scrape(&env).await,
            "bitbucket_token_operator_interval_stretch_ratio",
        )
        .filter(|factor| *factor > 1.0)
    })
    .await;
    let bbt = env
        .wait_condition("t-000", "IntervalStretched", "True", "OperatorSaturated")
        .await;
    let message = condition(&bbt, "IntervalStretched")
        .unwrap()
        .message
        .clone();
    assert!(message.contains("instead of every 1s"), "{message}");
    assert!(env.operator.logs().contains("stretching them all"));
    eprintln!("overload: {N} objects every 1s with one slot: intervals stretched x{factor:.1}");
    env.finish().await;
}

// --- Issue 14: verdicts for tokens as Bitbucket issues them today ---------------------------

/// Fault 5: a declared expiry that passes while the operator watches turns the token Expired at
/// that instant, without a Bitbucket call, and the expiry metric keeps the declared time.
#[tokio::test]
async fn a_declared_expiry_passing_while_watched_expires_the_token() {
    let env = Env::start("expires-now").await;
    env.token_secret("src", "rat-rw").await;
    let expires = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 6, 0).unwrap();
    let mut spec = rat_spec("src", "Read", &["GitConfig"]);
    spec["token"]["expiresAt"] = json!(expires.to_rfc3339());
    env.create("short", spec).await;
    env.wait_condition("short", "TokenValid", "True", "Valid")
        .await;
    let calls = env.world.sim.requests_for_token("rat-rw");
    let bbt = env
        .wait_condition("short", "TokenValid", "False", "Expired")
        .await;
    let valid = condition(&bbt, "TokenValid").unwrap();
    let late = valid.last_transition_time.0.as_second() - expires.timestamp();
    assert!((0..=5).contains(&late), "flipped {late} s after the expiry");
    assert_eq!(condition(&bbt, "Ready").unwrap().status, "False");
    assert_eq!(
        env.world.sim.requests_for_token("rat-rw"),
        calls,
        "the expiry needs no Bitbucket call"
    );
    assert_eq!(bbt.status.as_ref().unwrap().expires_at, Some(expires));
    let event = env.wait_event("short", "TokenExpired").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    let metrics = scrape(&env).await;
    let series = format!(
        r#"bitbucket_token_expiration_timestamp_seconds{{namespace="{}",name="short",kind="RepositoryAccessToken"}}"#,
        env.ns.name
    );
    assert_eq!(
        sample(&metrics, &series),
        Some(expires.timestamp() as f64),
        "{metrics}"
    );
    assert!(env.secrets().get_opt("short-git").await.unwrap().is_some());
    env.finish().await;
}

/// Fault 6: a rejection Bitbucket gives for a token (here: revoked) reaches every object that
/// shares it, at once and without a call of its own.
#[tokio::test]
async fn a_revoked_token_flips_every_object_that_shares_it() {
    let env = Env::start("shared-revoke").await;
    env.token_secret("src", "rat-rw").await;
    // Different access: different questions to Bitbucket, one token.
    env.create("reader", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    env.create("writer", rat_spec("src", "Write", &["GitConfig"]))
        .await;
    for name in ["reader", "writer"] {
        env.wait_condition(name, "Ready", "True", "SecretRendered")
            .await;
    }
    env.world.sim.revoke("rat-rw");
    env.revalidate("reader", "revoked").await;
    env.wait_condition("reader", "TokenValid", "False", "Revoked")
        .await;
    let calls = env.world.sim.requests_for_token("rat-rw");
    let writer = env
        .wait_condition("writer", "TokenValid", "False", "Revoked")
        .await;
    assert_eq!(condition(&writer, "Ready").unwrap().status, "False");
    assert_eq!(
        env.world.sim.requests_for_token("rat-rw"),
        calls,
        "the second object reuses the rejection"
    );
    assert!(env.secrets().get_opt("writer-git").await.unwrap().is_some());
    env.finish().await;
}

/// A revoked token stays `Revoked` at every later check: Bitbucket's 401 alone cannot tell a
/// revoked token from a wrong one, the status can (it accepted this very token before), and the
/// alert is raised once, not again as `TokenInvalid`.
#[tokio::test]
async fn a_revoked_token_stays_revoked_at_the_next_check() {
    let env = Env::start("revoked-again").await;
    env.token_secret("src", "rat-rw").await;
    env.create("ci", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    env.wait_condition("ci", "Ready", "True", "SecretRendered")
        .await;
    env.world.sim.revoke("rat-rw");
    env.revalidate("ci", "first").await;
    env.wait_condition("ci", "TokenValid", "False", "Revoked")
        .await;
    env.wait_event("ci", "TokenRevoked").await;
    let calls = env.world.sim.requests_for_token("rat-rw");
    env.revalidate("ci", "second").await;
    let bbt = wait_for(&env.tokens(), "ci", WAIT, |obj: Option<&BitbucketToken>| {
        obj.and_then(|o| o.status.as_ref())
            .is_some_and(|s| s.observed_revalidate.as_deref() == Some("second"))
    })
    .await
    .expect("object exists");
    assert!(
        env.world.sim.requests_for_token("rat-rw") > calls,
        "the second check asked Bitbucket again"
    );
    let valid = condition(&bbt, "TokenValid").unwrap();
    assert_eq!(
        (valid.status.as_str(), valid.reason.as_str()),
        ("False", "Revoked")
    );
    let reasons: Vec<String> = env
        .events("ci")
        .await
        .into_iter()
        .map(|e| e.reason.unwrap_or_default())
        .collect();
    assert!(!reasons.iter().any(|r| r == "TokenInvalid"), "{reasons:?}");
    assert_eq!(
        reasons.iter().filter(|r| *r == "TokenRevoked").count(),
        1,
        "{reasons:?}"
    );
    assert!(env.secrets().get_opt("ci-git").await.unwrap().is_some());
    env.finish().await;
}

/// Fault 3: a Data Center repository token with a username asked for Basic formats: Bitbucket
/// refuses that form, so the operator says so and renders nothing.
#[tokio::test]
async fn a_basic_form_bitbucket_refuses_is_not_rendered() {
    let env = Env::start("dc-basic").await;
    env.token_secret("src", "dc-repo-rw").await;
    env.create(
        "svc",
        json!({
            "server": {"dataCenter": {"url": env.world.sim.dc_base_url()}},
            "token": {"kind": "HTTPAccessToken", "username": "svc-ci",
                      "secretRef": {"name": "src", "key": "token"}},
            "access": {"project": "PAY", "repositories": ["payments"]},
            "target": {"formats": ["BasicAuth", "ArgoCD"]},
        }),
    )
    .await;
    let bbt = env
        .wait_condition("svc", "TokenValid", "False", "BasicAuthRefused")
        .await;
    let message = &condition(&bbt, "TokenValid").unwrap().message;
    assert!(
        message.contains("svc-ci") && message.contains("only as Bearer"),
        "{message}"
    );
    assert_eq!(condition(&bbt, "Ready").unwrap().status, "False");
    assert!(env.secrets().get_opt("svc-git").await.unwrap().is_none());
    env.assert_no_leak(&env.world.secret("dc-repo-rw")).await;
    env.finish().await;
}

/// Faults 1 and 2: a `BBDC-` token's expiry and permissions come from Bitbucket; a project token
/// with only the `repository` scope and an API token with only read:repository:bitbucket are
/// judged on what git needs, and rendered.
#[tokio::test]
async fn tokens_as_bitbucket_issues_them_today_are_valid() {
    let env = Env::start("today").await;
    env.token_secret("dc", "dc-repo-rw").await;
    env.token_secret("pat", "pat-repo-only").await;
    env.token_secret("api", "api-read-only").await;
    env.create(
        "dc",
        json!({
            "server": {"dataCenter": {"url": env.world.sim.dc_base_url()}},
            "token": {"kind": "HTTPAccessToken", "secretRef": {"name": "dc", "key": "token"}},
            // No formats: the default for a Bearer-only token is GitConfig alone.
            "access": {"project": "PAY", "repositories": ["payments"], "permission": "Write"},
        }),
    )
    .await;
    env.create(
        "pat",
        json!({
            "token": {"kind": "ProjectAccessToken", "secretRef": {"name": "pat", "key": "token"}},
            "access": {"workspace": "acme", "project": "PAY", "permission": "Read"},
        }),
    )
    .await;
    env.create(
        "api",
        json!({
            "token": {"kind": "APIToken", "email": "alice@example.com", "username": "alice",
                      "secretRef": {"name": "api", "key": "token"}},
            "access": {"workspace": "acme", "permission": "Read"},
        }),
    )
    .await;
    assert!(env.world.secret("dc-repo-rw").starts_with("BBDC-"));
    let dc = env
        .wait_condition("dc", "Ready", "True", "SecretRendered")
        .await;
    let status = dc.status.as_ref().unwrap();
    assert_eq!(
        status.expiry_source,
        Some(bitbucket_token_operator::api::ExpirySource::Bitbucket)
    );
    assert_eq!(
        status.expires_at.map(|at| at.timestamp()),
        Some(world::DC_EXPIRY.timestamp())
    );
    assert!(status.granted_scopes.contains(&"REPO_WRITE".to_string()));
    assert_eq!(condition(&dc, "Expiring").unwrap().reason, "NotExpiring");
    let rendered = data(&env.secrets().get("dc-git").await.unwrap());
    assert_eq!(
        rendered.keys().collect::<Vec<_>>(),
        [".gitconfig"],
        "GitConfig alone by default for a Bearer-only token"
    );
    for name in ["pat", "api"] {
        let bbt = env
            .wait_condition(name, "Ready", "True", "SecretRendered")
            .await;
        assert_eq!(condition(&bbt, "TokenValid").unwrap().reason, "Valid");
        assert!(
            env.secrets()
                .get_opt(&format!("{name}-git"))
                .await
                .unwrap()
                .is_some()
        );
    }
    env.finish().await;
}

/// The operator finds its cluster as kubectl does: `KUBECONFIG=a:b` merged (the first file to set
/// a value wins) and `--context` choosing from the merge. Here the context is only in the second
/// file, its user only in the first, and the first file's current-context points at a port where
/// nothing listens: only a merged read honouring `--context` reaches the API server.
#[tokio::test]
async fn kubeconfig_lists_are_merged_and_context_is_honoured() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "kubeconfig").await;
    let world = World::start().await;
    let admin = kube::config::Kubeconfig::read_from(support::cluster::kubeconfig_path())
        .expect("the admin kubeconfig");
    let cluster = admin.clusters[0].cluster.clone().expect("a cluster");
    let user = admin.auth_infos[0].auth_info.clone().expect("a user");
    let dir = tempfile::tempdir().expect("temp dir");
    let first = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": true}}],
        "users": [{"name": "tester", "user": user}],
        "contexts": [{"name": "decoy", "context": {"cluster": "nowhere", "user": "tester"}}],
        "current-context": "decoy",
    });
    let second = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "real", "cluster": cluster}],
        "contexts": [{"name": "real", "context": {"cluster": "real", "user": "tester", "namespace": ns.name}}],
    });
    let paths: Vec<String> = [("a.yaml", first), ("b.yaml", second)]
        .into_iter()
        .map(|(name, config)| {
            let path = dir.path().join(name);
            std::fs::write(&path, serde_json::to_string(&config).expect("JSON")).expect("write");
            path.display().to_string()
        })
        .collect();
    let list = paths.join(":");
    let kubeconfig_env = [("KUBECONFIG", list.as_str())];
    // A context that is in neither file: the operator says so and exits.
    let mut wrong = Operator::start_from_env(
        &ns.name,
        &world.sim,
        &["--context", "no-such"],
        &kubeconfig_env,
    );
    let status = wrong.wait_exit(WAIT).expect("exits on an unknown context");
    assert!(!status.success());
    let logs = wrong.logs();
    assert!(
        logs.contains("no-such"),
        "the error names the context: {logs}"
    );
    let operator = Operator::start_from_env(
        &ns.name,
        &world.sim,
        &["--context", "real"],
        &kubeconfig_env,
    );
    let mut env = Env {
        ns,
        world,
        operator,
    };
    env.token_secret("src", "rat-ro").await;
    env.create("merged", rat_spec("src", "Read", &["GitConfig"]))
        .await;
    env.wait_condition("merged", "Ready", "True", "SecretRendered")
        .await;
    assert!(env.operator.stop().success(), "{}", env.operator.logs());
    env.finish().await;
}
