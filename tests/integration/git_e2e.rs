//! Proven with real git: the operator renders each format for each token kind, the test reads the
//! Secret back from the API server, lays it out as a pod would see it (kubelet's Secret volume, or
//! `envFrom`), and runs `git clone`, `git fetch` and `git push` against the simulator's git
//! server, which applies the same token rules as its API.

use crate::rendered;
use crate::support;

use base64::Engine;
use bitbucket_simulator::AuthSeen;
use k8s_openapi::api::core::v1::Secret;
use rendered::{Env, dc_spec as dc};
use serde_json::{Value, json};
use support::{
    cluster::bin_dir,
    git::{GitRunner, Wiring, refused, stderr},
    kubelet::{env_from_secret, mount_secret_for, secret_data},
};

/// `runAsUser` and `fsGroup` of the example pods: git never runs as root in a pod.
const POD_USER: u32 = 1000;

/// How the consumer of a format hands the Secret to git.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consumer {
    /// Pod: Secret volume at `target.mountPath` + `GIT_CONFIG_GLOBAL` (gitconfig, gitCredentials).
    Volume,
    /// Pod: `envFrom: secretRef` (env).
    EnvFrom,
    /// Tekton's credential init (its own code) for a basic-auth Secret, then git with that HOME.
    Tekton,
    /// Flux / Argo CD (go-git): `Authorization: Bearer <bearerToken>` on every request.
    Bearer,
    /// Argo CD repository Secret: Basic `username:password`, or Bearer, for `url`.
    ArgoCd,
}

impl Consumer {
    fn of(format: &str) -> Self {
        match format {
            "GitConfig" | "GitCredentials" => Self::Volume,
            "Env" => Self::EnvFrom,
            "BasicAuth" => Self::Tekton,
            "BearerToken" => Self::Bearer,
            "ArgoCD" => Self::ArgoCd,
            other => panic!("unknown format {other}"),
        }
    }
}

impl Env {
    /// Sets the Secret up the way `consumer` does and returns git wired to it.
    fn git_for(&self, name: &str, secret: &Secret, consumer: Consumer) -> GitRunner {
        let ca = self.world.sim.ca_pem();
        let data = secret_data(secret);
        let header = |value: String| {
            Wiring::Env(vec![
                ("GIT_CONFIG_COUNT".into(), "1".into()),
                ("GIT_CONFIG_KEY_0".into(), "http.extraHeader".into()),
                (
                    "GIT_CONFIG_VALUE_0".into(),
                    format!("Authorization: {value}"),
                ),
            ])
        };
        let basic = |user: &str, password: &str| {
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        };
        match consumer {
            Consumer::Volume => {
                let mount = self.mount_path(name);
                std::fs::create_dir_all(&mount).expect("mount dir");
                // As examples/consumers/pod-clone-gitconfig.yaml: `defaultMode: 0400`, a
                // non-root user and `fsGroup`, so kubelet's root-owned files are group-readable.
                mount_secret_for(secret, &mount, 0o400, Some(POD_USER));
                GitRunner::new(&ca, Wiring::GlobalConfig(mount.join(".gitconfig")))
                    .run_as(POD_USER, POD_USER)
            }
            Consumer::EnvFrom => GitRunner::new(&ca, Wiring::Env(env_from_secret(secret))),
            Consumer::Bearer => {
                GitRunner::new(&ca, header(format!("Bearer {}", data["bearerToken"])))
            }
            Consumer::ArgoCd => match data.get("bearerToken") {
                Some(token) => GitRunner::new(&ca, header(format!("Bearer {token}"))),
                None => GitRunner::new(
                    &ca,
                    header(format!(
                        "Basic {}",
                        basic(&data["username"], &data["password"])
                    )),
                ),
            },
            Consumer::Tekton => {
                // Tekton's own creds-init code (scripts/consumers/tekton-gitcreds) writes
                // ~/.gitconfig and ~/.git-credentials from the Secret's annotations and keys.
                let dir = self.mount_path(name);
                let (volumes, home) = (dir.join("creds-secrets"), dir.join("home"));
                let volume = volumes.join(secret.metadata.name.as_deref().expect("named"));
                std::fs::create_dir_all(&volume).expect("volume dir");
                std::fs::create_dir_all(&home).expect("home");
                mount_secret_for(secret, &volume, 0o400, None);
                let json = dir.join("secret.json");
                std::fs::write(&json, serde_json::to_vec(secret).expect("JSON")).expect("write");
                let init = std::process::Command::new(bin_dir().join("tekton-gitcreds"))
                    .arg("-volumes")
                    .arg(&volumes)
                    .arg("-home")
                    .arg(&home)
                    .arg(&json)
                    .output()
                    .expect("tekton-gitcreds runs (scripts/install-tools.sh builds it)");
                assert!(init.status.success(), "creds-init: {}", stderr(&init));
                GitRunner::new(&ca, Wiring::Nothing).with_env("HOME", &home.display().to_string())
            }
        }
    }

    /// The repository URL git should clone for this Secret (Argo CD: its `url`).
    fn clone_url(&self, secret: &Secret, consumer: Consumer, default: &str) -> String {
        if consumer != Consumer::ArgoCd {
            return default.to_string();
        }
        let url = secret_data(secret)["url"].clone();
        if url.ends_with('/') {
            // A repo-creds template: any repository below the prefix.
            format!("{url}{}", default.rsplit('/').next().unwrap_or_default())
        } else {
            url
        }
    }
}

/// One BitbucketToken per (token, format): what to clone and whether push must work.
struct Case {
    name: String,
    token: &'static str,
    format: &'static str,
    spec: Value,
    url: String,
    can_push: bool,
}

fn cases(
    token: &'static str,
    formats: &[&'static str],
    spec: Value,
    url: &str,
    can_push: bool,
) -> Vec<Case> {
    formats
        .iter()
        .map(|format| Case {
            name: format!("{token}-{}", format.to_ascii_lowercase()),
            token,
            format,
            spec: spec.clone(),
            url: url.to_string(),
            can_push,
        })
        .collect()
}

/// Renders every case, then clones, fetches and pushes through each Secret.
async fn prove(env: &Env, cases: Vec<Case>) {
    for case in &cases {
        env.create(&case.name, case.token, case.format, case.spec.clone())
            .await;
    }
    let mut failures = Vec::new();
    for case in &cases {
        let secret = env.rendered(&case.name).await;
        let consumer = Consumer::of(case.format);
        let git = env.git_for(&case.name, &secret, consumer);
        let url = env.clone_url(&secret, consumer, &case.url);
        let what = format!("{} ({} via {consumer:?})", case.name, case.format);
        let (repo, clone) = git.clone(&url, "clone").await;
        if !clone.status.success() {
            failures.push(format!("{what}: clone failed: {}", stderr(&clone)));
            continue;
        }
        if !repo.join("README.md").exists() {
            failures.push(format!("{what}: the clone has no README.md"));
        }
        let fetch = git.fetch(&repo).await;
        if !fetch.status.success() {
            failures.push(format!("{what}: fetch failed: {}", stderr(&fetch)));
        }
        let push = git
            .commit_and_push(&repo, &format!("e2e-{}", case.name))
            .await;
        match (case.can_push, push.status.success()) {
            (true, false) => failures.push(format!("{what}: push failed: {}", stderr(&push))),
            (false, true) => failures.push(format!("{what}: push worked without write")),
            (false, false) if !stderr(&push).contains("403") => {
                failures.push(format!("{what}: push refused unclearly: {}", stderr(&push)))
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn repo_spec(kind: &str, permission: &str) -> Value {
    json!({
        "token": {"kind": kind},
        "access": {"workspace": "acme", "repositories": ["payments"], "permission": permission},
    })
}

fn user_spec(kind: &str, username: &str) -> Value {
    let mut spec = json!({
        "token": {"kind": kind, "username": username},
        "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Write"},
    });
    // The REST API takes an API token with the account's email; app passwords use the username.
    if kind == "APIToken" {
        spec["token"]["email"] = json!("alice@example.com");
    }
    spec
}

const ALL_CLOUD: [&str; 6] = [
    "GitConfig",
    "GitCredentials",
    "Env",
    "BasicAuth",
    "BearerToken",
    "ArgoCD",
];
const USER_FORMATS: [&str; 5] = ["GitConfig", "GitCredentials", "Env", "BasicAuth", "ArgoCD"];
/// Cloud's git endpoints take access tokens only as Basic `x-token-auth` (the documented form):
/// `bearerToken` serves the REST API there (e.g. Argo CD's SCM provider), not git.
const CLOUD_GIT: [&str; 5] = ["GitConfig", "GitCredentials", "Env", "BasicAuth", "ArgoCD"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_access_tokens_clone_fetch_and_push_through_every_format() {
    let env = Env::start("git-cloud-at").await;
    let payments = env.world.sim.cloud_clone_url("acme", "payments");
    let mut all = Vec::new();
    // `+/=` (rat-rw) and `%` (rat-pct) in the token, in every format.
    for token in ["rat-rw", "rat-pct"] {
        all.extend(cases(
            token,
            &CLOUD_GIT,
            repo_spec("RepositoryAccessToken", "Write"),
            &payments,
            true,
        ));
    }
    all.extend(cases(
        "rat-ro",
        &["GitConfig", "GitCredentials", "Env"],
        repo_spec("RepositoryAccessToken", "Read"),
        &payments,
        false,
    ));
    all.extend(cases(
        "pat",
        &["GitConfig", "GitCredentials"],
        json!({"token": {"kind": "ProjectAccessToken"},
               "access": {"workspace": "acme", "project": "PAY", "permission": "Write"}}),
        &payments,
        true,
    ));
    all.extend(cases(
        "wat",
        &["Env", "ArgoCD"],
        json!({"token": {"kind": "WorkspaceAccessToken"}, "access": {"workspace": "acme"}}),
        &payments,
        false,
    ));
    prove(&env, all).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_and_app_passwords_clone_fetch_and_push_through_every_format() {
    let env = Env::start("git-cloud-user").await;
    let payments = env.world.sim.cloud_clone_url("acme", "payments");
    let mut all = Vec::new();
    all.extend(cases(
        "api-rw",
        &USER_FORMATS,
        user_spec("APIToken", "alice"),
        &payments,
        true,
    ));
    for token in ["app", "app-pct"] {
        all.extend(cases(
            token,
            &USER_FORMATS,
            user_spec("AppPassword", "alice"),
            &payments,
            true,
        ));
    }
    prove(&env, all).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_tokens_clone_fetch_and_push_through_every_format() {
    let env = Env::start("git-dc").await;
    let payments = env.world.sim.dc_clone_url("PAY", "payments");
    let mut all = Vec::new();
    all.extend(cases(
        "dc-repo-rw",
        &["GitConfig", "Env", "BearerToken", "ArgoCD"],
        dc(None, json!(["payments"]), "Write"),
        &payments,
        true,
    ));
    all.extend(cases(
        "dc-project-r",
        &["GitConfig", "Env", "BearerToken", "ArgoCD"],
        dc(None, json!([]), "Read"),
        &payments,
        false,
    ));
    all.extend(cases(
        "dc-personal",
        &ALL_CLOUD,
        dc(Some("bob"), json!(["payments", "ledger"]), "Write"),
        &payments,
        true,
    ));
    prove(&env, all).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stops_git_in_every_format() {
    let env = Env::start("git-revoked").await;
    let payments = env.world.sim.cloud_clone_url("acme", "payments");
    let formats = ["GitConfig", "GitCredentials", "Env", "BasicAuth", "ArgoCD"];
    let all = cases(
        "rat-rw",
        &formats,
        repo_spec("RepositoryAccessToken", "Write"),
        &payments,
        true,
    );
    for case in &all {
        env.create(&case.name, case.token, case.format, case.spec.clone())
            .await;
    }
    let mut clones = Vec::new();
    for case in &all {
        let secret = env.rendered(&case.name).await;
        let git = env.git_for(&case.name, &secret, Consumer::of(case.format));
        let (repo, clone) = git.clone(&payments, "clone").await;
        assert!(clone.status.success(), "{}: {}", case.name, stderr(&clone));
        clones.push((case.name.clone(), git, repo));
    }
    env.world.sim.revoke("rat-rw");
    env.world.sim.reset_git_requests();
    for (name, git, repo) in &clones {
        let fetch = git.fetch(repo).await;
        assert!(
            refused(&fetch),
            "{name}: fetch after revocation: {}",
            stderr(&fetch)
        );
        let clone = git.clone(&payments, "again").await.1;
        assert!(
            refused(&clone),
            "{name}: clone after revocation: {}",
            stderr(&clone)
        );
    }
    // Every attempt presented the revoked token and got 401.
    let with_token = env.git_log(|r| r.token_name.as_deref() == Some("rat-rw"));
    assert!(!with_token.is_empty());
    assert!(with_token.iter().all(|r| r.status == 401), "{with_token:?}");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_reach_another_repository_workspace_or_host() {
    let env = Env::start("git-scope").await;
    let sim = &env.world.sim;
    let git_formats = ["GitConfig", "GitCredentials", "Env"];
    let mut all = Vec::new();
    all.extend(cases(
        "wat",
        &git_formats,
        json!({"token": {"kind": "WorkspaceAccessToken"}, "access": {"workspace": "acme"}}),
        "",
        false,
    ));
    all.extend(cases(
        "rat-rw",
        &git_formats,
        repo_spec("RepositoryAccessToken", "Write"),
        "",
        true,
    ));
    all.extend(cases(
        "dc-repo-rw",
        &["GitConfig", "Env"],
        json!({"token": {"kind": "HTTPAccessToken"},
               "access": {"project": "PAY", "repositories": ["payments"], "permission": "Write"}}),
        "",
        true,
    ));
    for case in &all {
        env.create(&case.name, case.token, case.format, case.spec.clone())
            .await;
    }
    let by_ip = |url: String| url.replacen("localhost", "127.0.0.1", 1);
    for case in &all {
        let secret = env.rendered(&case.name).await;
        let git = env.git_for(&case.name, &secret, Consumer::of(case.format));
        // (inside the target, outside it) pairs: the inside clone proves the wiring works.
        let (inside, outside): (String, Vec<String>) = match case.token {
            "wat" => (
                sim.cloud_clone_url("acme", "payments"),
                vec![
                    sim.cloud_clone_url("globex", "payments"),
                    by_ip(sim.cloud_clone_url("acme", "payments")),
                ],
            ),
            "rat-rw" => (
                sim.cloud_clone_url("acme", "payments"),
                vec![
                    sim.cloud_clone_url("acme", "ledger"),
                    sim.cloud_clone_url("globex", "payments"),
                    by_ip(sim.cloud_clone_url("acme", "payments")),
                ],
            ),
            _ => (
                sim.dc_clone_url("PAY", "payments"),
                vec![
                    sim.dc_clone_url("PAY", "ledger"),
                    by_ip(sim.dc_clone_url("PAY", "payments")),
                ],
            ),
        };
        let (_, ok) = git.clone(&inside, "inside").await;
        assert!(ok.status.success(), "{}: {}", case.name, stderr(&ok));
        for (i, url) in outside.iter().enumerate() {
            sim.reset_git_requests();
            let (_, out) = git.clone(url, &format!("outside-{i}")).await;
            assert!(
                !out.status.success(),
                "{}: cloned {url} without credentials",
                case.name
            );
            let seen = sim.git_requests();
            assert!(!seen.is_empty(), "{}: {url} was asked", case.name);
            assert!(
                seen.iter()
                    .all(|r| r.auth == AuthSeen::None && r.token_name.is_none()),
                "{}: credentials reached {url}: {seen:?}",
                case.name
            );
        }
    }
    env.finish().await;
}
