//! The consumers' own code reads the Secrets the operator rendered on the control plane and
//! clones (and pushes) from the simulator's git server:
//! - Tekton Pipelines' creds-init (`pkg/credentials/gitcreds`), then the real git CLI;
//! - Flux's git client (`fluxcd/pkg/git` auth options from the Secret, `gogit` clone and push);
//! - Argo CD's repo-server code: `util/db` finds the repository Secret on the control plane
//!   (label, `url` match or `repo-creds` prefix), `util/git` clones and pushes with it.
//!
//! All three are pinned Go programs built by `scripts/build-consumers.sh` into the tools cache.

use crate::rendered;
use crate::support;

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::PostParams;
use rendered::{Env, dc_spec};
use serde_json::{Value, json};
use support::{
    cluster::{bin_dir, kubeconfig_path},
    git::{GitRunner, Wiring, stderr},
    kubelet::mount_secret,
};

/// A consumer program from the tools cache.
fn tool(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-tools.sh",
        path.display()
    );
    path
}

/// Writes the Secret as the API server returned it (what a consumer's client reads).
fn secret_json(dir: &Path, secret: &Secret) -> PathBuf {
    let name = secret.metadata.name.clone().expect("named Secret");
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec(secret).expect("JSON")).expect("write the Secret");
    file
}

/// Runs `program` with a clean environment: Go trusts only the system store plus what the
/// Secret carries, and `public_ca` (the simulator's CA standing in for bitbucket.org's public
/// one) when given.
async fn run(program: &Path, args: &[&str], public_ca: Option<&Path>) -> std::process::Output {
    let mut command = tokio::process::Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .args(args);
    if let Some(ca) = public_ca {
        command.env("SSL_CERT_FILE", ca);
    }
    command.output().await.expect("the consumer runs")
}

fn repository(kind: &str, project: Option<&str>, repository: &str) -> Value {
    let mut access =
        json!({"workspace": "acme", "repositories": [repository], "permission": "Write"});
    if let Some(key) = project {
        access["project"] = json!(key);
    }
    json!({"token": {"kind": kind}, "access": access})
}

/// Tekton: the controller's `MatchingAnnotations` and the entrypoint's flag parsing and `Write`
/// for `secrets`, with each Secret's keys laid out under `<volumes>/<name>/`.
async fn tekton_creds_init(secrets: &[Secret]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().expect("tekton dir");
    let (volumes, home) = (dir.path().join("creds-secrets"), dir.path().join("home"));
    std::fs::create_dir_all(&home).expect("home");
    let mut args = vec![
        "-volumes".to_string(),
        volumes.display().to_string(),
        "-home".to_string(),
        home.display().to_string(),
    ];
    for secret in secrets {
        let name = secret.metadata.name.clone().expect("named Secret");
        let volume = volumes.join(&name);
        std::fs::create_dir_all(&volume).expect("volume dir");
        mount_secret(secret, &volume, 0o400);
        args.push(secret_json(dir.path(), secret).display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&tool("tekton-gitcreds"), &args, None).await;
    (dir, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tekton_two_tokens_on_one_service_account_each_clone_with_its_own() {
    let env = Env::start("tekton").await;
    let sim = &env.world.sim;
    // A repository token for acme/payments and a project token used for acme/ledger: same
    // host, same username (x-token-auth).
    env.create(
        "payments",
        "rat-rw",
        "BasicAuth",
        repository("RepositoryAccessToken", None, "payments"),
    )
    .await;
    env.create(
        "ledger",
        "pat",
        "BasicAuth",
        repository("ProjectAccessToken", Some("PAY"), "ledger"),
    )
    .await;
    let secrets = [env.rendered("payments").await, env.rendered("ledger").await];
    let (dir, init) = tekton_creds_init(&secrets).await;
    assert!(
        init.status.success(),
        "Tekton's creds-init refused the ServiceAccount's Secrets (the step would not run): {}{}",
        String::from_utf8_lossy(&init.stdout),
        stderr(&init)
    );
    let home = dir.path().join("home");
    let ca = sim.ca_pem();
    let mut failures = Vec::new();
    for (repo, token) in [("payments", "rat-rw"), ("ledger", "pat")] {
        let git_url = sim.cloud_clone_url("acme", repo);
        for url in [
            git_url.clone(),
            git_url.trim_end_matches(".git").to_string(),
        ] {
            // A step's git with Tekton's HOME and the documented `credential.useHttpPath`.
            let git = GitRunner::new(&ca, Wiring::Nothing)
                .with_env("HOME", &home.display().to_string())
                .with_env("GIT_CONFIG_COUNT", "1")
                .with_env("GIT_CONFIG_KEY_0", "credential.useHttpPath")
                .with_env("GIT_CONFIG_VALUE_0", "true");
            sim.reset_git_requests();
            let branch = format!("tekton-{repo}-{}", url.len());
            let (clone_dir, clone) = git.clone(&url, &branch).await;
            if !clone.status.success() {
                failures.push(format!("{url}: clone failed: {}", stderr(&clone)));
                continue;
            }
            let push = git.commit_and_push(&clone_dir, &branch).await;
            if !push.status.success() {
                failures.push(format!("{url}: push failed: {}", stderr(&push)));
            }
            let others: Vec<_> = sim
                .git_requests()
                .into_iter()
                .filter(|r| r.token_name.as_deref().is_some_and(|t| t != token))
                .collect();
            if !others.is_empty() {
                failures.push(format!("{url}: another token was sent: {others:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_clones_and_pushes_with_the_rendered_secret() {
    let env = Env::start("flux").await;
    let sim = &env.world.sim;
    let dc = |username: Option<&str>| dc_spec(username, json!(["payments"]), "Write");
    let app = json!({"token": {"kind": "AppPassword", "username": "alice"},
                     "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Write"}});
    let cloud = sim.cloud_clone_url("acme", "payments");
    let dc_url = sim.dc_clone_url("PAY", "payments");
    // (BitbucketToken, fixture token, format, spec, clone URL): username/password, and for Data
    // Center (private CA) bearerToken + ca.crt and username/password + ca.crt.
    let cases = [
        ("app", "app", "BasicAuth", app, cloud.clone()),
        (
            "rat",
            "rat-rw",
            "BasicAuth",
            repository("RepositoryAccessToken", None, "payments"),
            cloud,
        ),
        (
            "dc-bearer",
            "dc-repo-rw",
            "BearerToken",
            dc(None),
            dc_url.clone(),
        ),
        (
            "dc-basic",
            "dc-personal",
            "BasicAuth",
            dc(Some("bob")),
            dc_url,
        ),
    ];
    for (name, token, format, spec, _) in &cases {
        env.create(name, token, format, spec.clone()).await;
    }
    let scratch = tempfile::tempdir().expect("scratch");
    let public_ca = scratch.path().join("bitbucket-org-ca.pem");
    std::fs::write(&public_ca, sim.ca_pem()).expect("write the CA");
    let mut failures = Vec::new();
    for (name, token, _, _, url) in &cases {
        // Cloud is publicly trusted; Data Center only through the Secret's ca.crt.
        let trust = (!name.starts_with("dc-")).then_some(public_ca.as_path());
        let secret = secret_json(scratch.path(), &env.rendered(name).await);
        let dir = scratch.path().join(format!("clone-{name}"));
        sim.reset_git_requests();
        let out = run(
            &tool("flux-gogit"),
            &[
                "-secret",
                secret.to_str().unwrap(),
                "-url",
                url,
                "-dir",
                dir.to_str().unwrap(),
                "-push",
                &format!("flux-{name}"),
            ],
            trust,
        )
        .await;
        if !out.status.success() {
            failures.push(format!("{name}: {}", stderr(&out)));
            continue;
        }
        let pushed = sim.git_requests().into_iter().any(|r| {
            r.path.ends_with("/git-receive-pack")
                && r.status == 200
                && r.token_name.as_deref() == Some(*token)
        });
        if !pushed {
            failures.push(format!("{name}: no accepted push with {token}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish().await;
}

/// Creates the ConfigMap and Secret Argo CD's settings manager reads in its namespace.
async fn argocd_settings(env: &Env) {
    let labels = json!({"app.kubernetes.io/part-of": "argocd"});
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "argocd-cm", "labels": labels.clone()}}),
    )
    .expect("ConfigMap");
    env.ns
        .api::<ConfigMap>()
        .create(&PostParams::default(), &cm)
        .await
        .expect("argocd-cm");
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "argocd-secret", "labels": labels}}))
            .expect("Secret");
    env.ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .expect("argocd-secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argocd_finds_the_repository_secret_and_clones_with_its_git_client() {
    let env = Env::start("argocd").await;
    let sim = &env.world.sim;
    argocd_settings(&env).await;
    // A `repository` Secret (one repository, Basic x-token-auth), a `repo-creds` template
    // (workspace prefix) and a Data Center `repository` Secret (Bearer, private CA).
    env.create(
        "rat",
        "rat-rw",
        "ArgoCD",
        repository("RepositoryAccessToken", None, "payments"),
    )
    .await;
    env.create(
        "wat",
        "wat",
        "ArgoCD",
        json!({"token": {"kind": "WorkspaceAccessToken"}, "access": {"workspace": "acme"}}),
    )
    .await;
    env.create(
        "dc",
        "dc-repo-rw",
        "ArgoCD",
        json!({"token": {"kind": "HTTPAccessToken"},
               "access": {"project": "PAY", "repositories": ["payments"], "permission": "Write"}}),
    )
    .await;
    let dc = env.rendered("dc").await;
    for name in ["rat", "wat"] {
        env.rendered(name).await;
    }
    // argocd-tls-certs-cm as repo-server mounts it: one file per host, here the Secret's ca.crt
    // (for Cloud it stands in for bitbucket.org's public CA).
    let scratch = tempfile::tempdir().expect("scratch");
    let tls = scratch.path().join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    let ca = support::kubelet::secret_data(&dc)["ca.crt"].clone();
    std::fs::write(tls.join("localhost"), ca).expect("write the CA");

    let cases = [
        (
            "rat",
            sim.cloud_clone_url("acme", "payments"),
            Some("rat-rw"),
        ),
        ("wat", sim.cloud_clone_url("acme", "ledger"), None),
        (
            "dc",
            sim.dc_clone_url("pay", "payments"),
            Some("dc-repo-rw"),
        ),
    ];
    let mut failures = Vec::new();
    for (name, url, pusher) in &cases {
        let dir = scratch.path().join(format!("clone-{name}"));
        let branch = format!("argocd-{name}");
        let mut args = vec![
            "-kubeconfig",
            kubeconfig_path().to_str().unwrap(),
            "-namespace",
            &env.ns.name,
            "-url",
            url,
            "-dir",
            dir.to_str().unwrap(),
        ];
        if pusher.is_some() {
            args.extend(["-push", &branch]);
        }
        sim.reset_git_requests();
        let out = tokio::process::Command::new(tool("argocd-repo"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", scratch.path())
            .env("ARGOCD_TLS_DATA_PATH", &tls)
            .args(&args)
            .output()
            .await
            .expect("argocd-repo runs");
        if !out.status.success() {
            failures.push(format!(
                "{name}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                stderr(&out)
            ));
            continue;
        }
        if !dir.join("README.md").exists() {
            failures.push(format!("{name}: the checkout has no README.md"));
        }
        if let Some(token) = pusher {
            let pushed = sim.git_requests().into_iter().any(|r| {
                r.path.ends_with("/git-receive-pack")
                    && r.status == 200
                    && r.token_name.as_deref() == Some(*token)
            });
            if !pushed {
                failures.push(format!("{name}: no accepted push with {token}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish().await;
}
