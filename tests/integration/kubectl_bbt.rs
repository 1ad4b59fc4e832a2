//! `kubectl bbt` (the binary as the kubectl plugin `kubectl-bbt`) against the real control plane,
//! the real operator and the Bitbucket simulator: `status`, `revalidate` and `check NAME` for a
//! healthy, an expiring, a revoked token, a missing token Secret, a caller who may not read the
//! Secret, and a name that does not exist; kubeconfig handling as kubectl's; help texts, completion
//! and version; and `status` on a terminal (tmux), as a person reads it.

use crate::rendered;
use crate::support;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use bitbucket_simulator::{SimTokenKind, TokenFixture, dc_token_secret};
use bitbucket_token_operator::api::BitbucketToken;
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use support::{
    cluster::{bin_dir, kubeconfig_path},
    helm::service_account_kubeconfig,
    kubectl, wait_for, wait_until,
};

const WAIT: Duration = Duration::from_secs(60);

struct Env {
    base: rendered::Env,
    /// Holds `kubectl-bbt` (a symlink to the binary), kubeconfigs and the simulator's CA.
    dir: tempfile::TempDir,
}

impl std::ops::Deref for Env {
    type Target = rendered::Env;

    fn deref(&self) -> &rendered::Env {
        &self.base
    }
}

impl Env {
    /// A namespace, the simulator and the operator (Secret `corp-ca` holds the simulator's CA).
    async fn start(prefix: &str) -> Self {
        let base = rendered::Env::start(prefix).await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_bitbucket-token-operator"),
            dir.path().join("kubectl-bbt"),
        )
        .expect("link kubectl-bbt");
        std::fs::write(dir.path().join("sim-ca.pem"), base.world.sim.ca_pem()).expect("write CA");
        Self { base, dir }
    }

    async fn create(&self, name: &str, spec: Value) {
        self.apply_token(name, spec).await;
    }

    /// A Cloud repository token for acme/payments, holding fixture token `token`.
    async fn cloud(&self, name: &str, token: &str) {
        self.secret(&format!("{name}-token"), "token", &self.world.secret(token))
            .await;
        self.create(
            name,
            json!({
                "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": format!("{name}-token"), "key": "token"}},
                "access": {"workspace": "acme", "repositories": ["payments"]},
            }),
        )
        .await;
    }

    /// Waits until condition `type_` of `name` has `status` and `reason`.
    async fn wait_condition(&self, name: &str, type_: &str, status: &str, reason: &str) {
        let (t, s, r) = (type_.to_string(), status.to_string(), reason.to_string());
        wait_for(
            &self.ns.api::<BitbucketToken>(),
            name,
            WAIT,
            move |obj: Option<&BitbucketToken>| {
                obj.and_then(|o| o.status.as_ref()).is_some_and(|st| {
                    st.conditions
                        .iter()
                        .any(|c| c.type_ == t && c.status == s && c.reason == r)
                })
            },
        )
        .await;
    }

    fn plugin(&self) -> PathBuf {
        self.dir.path().join("kubectl-bbt")
    }

    /// `kubectl-bbt <args> -n <ns> --kubeconfig <kubeconfig>`, with the simulator as Bitbucket
    /// Cloud and its CA trusted for `check`.
    ///
    /// Commands run as child processes awaited on the runtime, which keeps serving the
    /// in-process simulator meanwhile.
    async fn bbt_as(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(self.plugin());
        command
            .args(args)
            .args(["-n", &self.ns.name, "--kubeconfig"])
            .arg(kubeconfig)
            .env("BTO_CLOUD_API_URL", self.world.sim.cloud_api_url())
            .env_remove("KUBECONFIG");
        if args.first() == Some(&"check") {
            command
                .arg("--ca-file")
                .arg(self.dir.path().join("sim-ca.pem"));
        }
        let output = command.output().await.expect("run kubectl-bbt");
        self.assert_no_secret_printed(&output);
        output
    }

    async fn bbt(&self, args: &[&str]) -> Output {
        self.bbt_as(kubeconfig_path(), args).await
    }

    /// No fixture token's secret (nor its base64) appears in what the command printed.
    fn assert_no_secret_printed(&self, output: &Output) {
        use base64::Engine;
        let printed = format!("{}{}", stdout(output), stderr(output));
        for token in &self.world.fixture.tokens {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&token.secret);
            assert!(
                !printed.contains(&token.secret) && !printed.contains(&encoded),
                "token {} was printed:\n{printed}",
                token.name
            );
        }
    }

    /// `status -o json`, parsed.
    async fn status_json(&self, name: &str) -> Value {
        let output = self.bbt(&["status", name, "-o", "json"]).await;
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("status -o json is JSON ({e}):\n{}", describe(&output)))
    }

    /// Waits until `status` lists an Event with `reason`.
    async fn wait_event(&self, name: &str, reason: &str) -> Value {
        wait_until(&format!("Event {reason} in status"), WAIT, || async {
            self.status_json(name).await["events"]
                .as_array()
                .and_then(|events| events.iter().find(|e| e["reason"] == reason).cloned())
        })
        .await
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn describe(output: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        code(output),
        stdout(output),
        stderr(output)
    )
}

fn assert_exit(output: &Output, expected: i32) {
    assert_eq!(code(output), expected, "{}", describe(output));
}

#[tokio::test]
async fn healthy_token_status_revalidate_and_check() {
    let env = Env::start("bbt-healthy").await;
    env.cloud("payments", "rat-rw").await;
    env.wait_condition("payments", "Ready", "True", "SecretRendered")
        .await;
    env.wait_event("payments", "SecretRendered").await;

    let status = env.bbt(&["status", "payments"]).await;
    assert_exit(&status, 0);
    let text = stdout(&status);
    for expected in [
        &format!("BitbucketToken {}/payments: Ready", env.ns.name) as &str,
        "Ready       True     SecretRendered",
        "TokenValid  True     Valid",
        "Token:       RepositoryAccessToken in Secret payments-token, key token (sha256:",
        "Access:      Read access to acme/payments",
        "Scopes:      repository, repository:write",
        "Validated:",
        "Next check:",
        "no failed attempt to reach Bitbucket",
        "Secret payments-git (Opaque), keys (values not shown):",
        ".git-credentials",
        "git credential store",
        "SecretRendered",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }

    let report = env.status_json("payments").await;
    assert_eq!(report["verdict"], "Ready");
    let keys: Vec<&str> = report["secret"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [".git-credentials", ".gitconfig"]);
    let yaml = env.bbt(&["status", "payments", "-o", "yaml"]).await;
    assert_exit(&yaml, 0);
    let from_yaml: Value = serde_saphyr::from_str(&stdout(&yaml)).expect("YAML");
    assert_eq!(from_yaml["secret"], report["secret"]);
    assert_eq!(from_yaml["conditions"], report["conditions"]);

    // revalidate --wait: a fresh request to Bitbucket, and its verdict.
    let before = env.world.sim.requests_for_token("rat-rw");
    let revalidate = env
        .bbt(&["revalidate", "payments", "--wait", "--timeout", "60s"])
        .await;
    assert_exit(&revalidate, 0);
    assert!(
        stdout(&revalidate).contains("TokenValid  True     Valid"),
        "{}",
        describe(&revalidate)
    );
    assert!(
        env.world.sim.requests_for_token("rat-rw") > before,
        "revalidate made the operator ask Bitbucket again"
    );

    let check = env.bbt(&["check", "payments"]).await;
    assert_exit(&check, 0);
    assert!(
        stdout(&check).starts_with("VALID: "),
        "{}",
        describe(&check)
    );
    let check_json = env.bbt(&["check", "payments", "-o", "json"]).await;
    assert_exit(&check_json, 0);
    let verdict: Value = serde_json::from_slice(&check_json.stdout).expect("JSON");
    assert_eq!(verdict["verdict"], "valid");
    assert_eq!(verdict["name"], "payments");

    // Through kubectl itself: `kubectl bbt` finds the plugin on PATH.
    let path = format!(
        "{}:{}",
        env.dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let through_kubectl = tokio::process::Command::new(bin_dir().join("kubectl"))
        .args([
            "bbt",
            "status",
            "payments",
            "-n",
            &env.ns.name,
            "--kubeconfig",
        ])
        .arg(kubeconfig_path())
        .env("PATH", &path)
        .output()
        .await
        .expect("run kubectl bbt");
    assert_exit(&through_kubectl, 0);
    assert!(stdout(&through_kubectl).contains("payments: Ready"));

    // kubectl's own completion asks `kubectl_complete-bbt` for what follows `kubectl bbt`.
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_bitbucket-token-operator"),
        env.dir.path().join("kubectl_complete-bbt"),
    )
    .expect("link kubectl_complete-bbt");
    let complete = |words: Vec<String>| {
        tokio::process::Command::new(bin_dir().join("kubectl"))
            .arg("__complete")
            .arg("bbt")
            .args(words)
            .env("PATH", &path)
            .output()
    };
    let names = complete(vec![
        "status".into(),
        "-n".into(),
        env.ns.name.clone(),
        "--kubeconfig".into(),
        kubeconfig_path().display().to_string(),
        "pay".into(),
    ])
    .await
    .expect("kubectl __complete");
    assert_eq!(stdout(&names), "payments\n:4\n", "{}", describe(&names));
    let commands = complete(vec!["re".into()])
        .await
        .expect("kubectl __complete");
    assert_eq!(
        stdout(&commands),
        "revalidate\n:4\n",
        "{}",
        describe(&commands)
    );
    env.base.finish().await;
}

/// A Data Center token Bitbucket says expires in 12 days and an hour.
fn expiring_fixture() -> TokenFixture {
    let id = 100_000_000_077;
    TokenFixture {
        name: "dc-expiring".into(),
        secret: dc_token_secret(id, 77),
        kind: SimTokenKind::DcRepository,
        project: Some("PAY".into()),
        repository: Some("payments".into()),
        permissions: vec!["REPO_READ".into()],
        expires_at: Some(Utc::now() + TimeDelta::days(12) + TimeDelta::hours(1)),
        ..TokenFixture::default()
    }
}

async fn create_expiring(env: &Env, name: &str) {
    let fixture = expiring_fixture();
    env.world.sim.add_token(fixture.clone());
    env.secret(&format!("{name}-token"), "token", &fixture.secret)
        .await;
    env.create(
        name,
        json!({
            "server": {"dataCenter": {
                "url": env.world.sim.dc_base_url(),
                "caBundleSecretRef": {"name": "corp-ca", "key": "ca.crt"},
            }},
            "token": {"kind": "HTTPAccessToken", "secretRef": {"name": format!("{name}-token"), "key": "token"}},
            "access": {"project": "PAY", "repositories": ["payments"]},
        }),
    )
    .await;
    env.wait_condition(name, "Expiring", "True", "ExpiresSoon")
        .await;
}

#[tokio::test]
async fn expiring_token_says_when() {
    let env = Env::start("bbt-expiring").await;
    create_expiring(&env, "ledger").await;
    env.wait_event("ledger", "TokenExpiringSoon").await;
    let status = env.bbt(&["status", "ledger"]).await;
    assert_exit(&status, 0);
    let text = stdout(&status);
    for expected in [
        "Expiring    True     ExpiresSoon",
        "(in 12 days), reported by Bitbucket",
        "Server:      Bitbucket Data Center https://",
        "REPO_READ",
        "ca.crt",
        "TokenExpiringSoon",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    let report = env.status_json("ledger").await;
    assert_eq!(report["expirySource"], "Bitbucket");
    // check NAME reads the CA bundle Secret too, and sends the token only to the host the
    // operator accepted.
    let check = env.bbt(&["check", "ledger", "-o", "json"]).await;
    assert_exit(&check, 0);
    let verdict: Value = serde_json::from_slice(&check.stdout).expect("JSON");
    assert_eq!(verdict["verdict"], "valid", "{}", describe(&check));
    assert_eq!(verdict["expirySource"], "Bitbucket");
    env.base.finish().await;
}

#[tokio::test]
async fn revoked_token_is_not_ready_everywhere() {
    let env = Env::start("bbt-revoked").await;
    env.cloud("payments", "rat-ro").await;
    env.wait_condition("payments", "Ready", "True", "SecretRendered")
        .await;
    env.world.sim.revoke("rat-ro");

    let revalidate = env.bbt(&["revalidate", "payments", "--wait"]).await;
    assert_exit(&revalidate, 1);
    let text = stdout(&revalidate);
    assert!(text.contains("NOT READY"), "{}", describe(&revalidate));
    assert!(
        text.contains("TokenValid  False    Revoked"),
        "{}",
        describe(&revalidate)
    );

    let status = env.bbt(&["status", "payments"]).await;
    assert_exit(&status, 1);
    assert!(
        stdout(&status).contains("Secret payments-git (Opaque)"),
        "the Secret is kept and still shown:\n{}",
        describe(&status)
    );
    env.wait_event("payments", "TokenRevoked").await;

    let check = env.bbt(&["check", "payments"]).await;
    assert_exit(&check, 1);
    assert!(
        stdout(&check).starts_with("INVALID (Revoked): "),
        "{}",
        describe(&check)
    );
    env.base.finish().await;
}

#[tokio::test]
async fn missing_token_secret() {
    let env = Env::start("bbt-missing").await;
    env.create(
        "payments",
        json!({
            "token": {"kind": "RepositoryAccessToken", "secretRef": {"name": "nowhere", "key": "token"}},
            "access": {"workspace": "acme", "repositories": ["payments"]},
        }),
    )
    .await;
    env.wait_condition("payments", "TokenValid", "False", "SourceSecretNotFound")
        .await;

    let status = env.bbt(&["status", "payments"]).await;
    assert_exit(&status, 1);
    let text = stdout(&status);
    assert!(text.contains("SourceSecretNotFound"), "{text}");
    assert!(
        text.contains("Secret payments-git: does not exist"),
        "{text}"
    );

    let check = env.bbt(&["check", "payments"]).await;
    assert_exit(&check, 1);
    assert!(
        stdout(&check).starts_with("INVALID (SourceSecretNotFound): Secret nowhere"),
        "{}",
        describe(&check)
    );
    // The operator answers the request without asking Bitbucket.
    let revalidate = env
        .bbt(&["revalidate", "payments", "--wait", "--timeout", "30s"])
        .await;
    assert_exit(&revalidate, 1);
    assert!(stdout(&revalidate).contains("SourceSecretNotFound"));
    env.base.finish().await;
}

#[tokio::test]
async fn a_caller_who_may_not_read_the_secret() {
    let env = Env::start("bbt-rbac").await;
    env.cloud("payments", "rat-rw").await;
    env.wait_condition("payments", "Ready", "True", "SecretRendered")
        .await;
    // A ServiceAccount that may read and annotate BitbucketTokens and read Events, not Secrets.
    let ns = env.ns.name.as_str();
    for args in [
        vec!["create", "serviceaccount", "viewer", "-n", ns],
        vec![
            "create",
            "role",
            "bbt-viewer",
            "-n",
            ns,
            "--verb=get,list,watch,patch",
            "--resource=bitbuckettokens.bitbucket-token-operator.io",
        ],
        vec![
            "create",
            "rolebinding",
            "bbt-viewer",
            "-n",
            ns,
            "--role=bbt-viewer",
            &format!("--serviceaccount={ns}:viewer"),
        ],
        vec![
            "create",
            "role",
            "events-reader",
            "-n",
            ns,
            "--verb=list",
            "--resource=events",
        ],
        vec![
            "create",
            "rolebinding",
            "events-reader",
            "-n",
            ns,
            "--role=events-reader",
            &format!("--serviceaccount={ns}:viewer"),
        ],
    ] {
        let output = kubectl(&args);
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            describe(&output)
        );
    }
    let viewer = service_account_kubeconfig(env.dir.path(), ns, "viewer");

    let check = env.bbt_as(&viewer, &["check", "payments"]).await;
    assert_exit(&check, 4);
    let message = stderr(&check);
    for expected in [
        "you may not read Secret \"payments-token\" (the token)",
        "system:serviceaccount:",
        "revalidate payments",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing:\n{message}"
        );
    }
    let as_json = env
        .bbt_as(&viewer, &["check", "payments", "-o", "json"])
        .await;
    assert_exit(&as_json, 4);
    let error: Value = serde_json::from_slice(&as_json.stdout).expect("JSON");
    assert_eq!(error["verdict"], "error");

    let status = env.bbt_as(&viewer, &["status", "payments"]).await;
    assert_exit(&status, 0);
    let text = stdout(&status);
    assert!(
        text.contains("Secret payments-git: keys not shown:") && text.contains("forbidden"),
        "{text}"
    );
    let revalidate = env
        .bbt_as(&viewer, &["revalidate", "payments", "--wait"])
        .await;
    assert_exit(&revalidate, 0);

    // Elsewhere the ServiceAccount may not even read BitbucketTokens.
    let other = tokio::process::Command::new(env.plugin())
        .args(["status", "payments", "-n", "default", "--kubeconfig"])
        .arg(&viewer)
        .output()
        .await
        .expect("run");
    assert_exit(&other, 4);
    assert!(stderr(&other).contains("you may not get BitbucketToken"));
    env.base.finish().await;
}

#[tokio::test]
async fn a_name_that_does_not_exist() {
    let env = Env::start("bbt-notfound").await;
    for args in [
        &["status", "ghost"][..],
        &["revalidate", "ghost", "--wait"],
        &["check", "ghost"],
    ] {
        let output = env.bbt(args).await;
        assert_exit(&output, 3);
        assert!(
            stderr(&output).contains(&format!(
                "BitbucketToken \"ghost\" not found in namespace {}",
                env.ns.name
            )),
            "{}",
            describe(&output)
        );
    }
    env.base.finish().await;
}

/// `kubectl-bbt status payments <args>` with `$KUBECONFIG` set to `kubeconfig_env`.
async fn status_with(env: &Env, kubeconfig_env: String, args: &[&str]) -> Output {
    let output = tokio::process::Command::new(env.plugin())
        .args(["status", "payments"])
        .args(args)
        .env("KUBECONFIG", kubeconfig_env)
        .output()
        .await
        .expect("run");
    env.assert_no_secret_printed(&output);
    output
}

/// Writes a kubeconfig with `value` as JSON (a subset of YAML).
fn write_kubeconfig(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).expect("write kubeconfig");
    path
}

#[tokio::test]
async fn kubeconfig_flags_and_files_as_kubectl() {
    let env = Env::start("bbt-kubeconfig").await;
    env.cloud("payments", "rat-rw").await;
    env.wait_condition("payments", "Ready", "True", "SecretRendered")
        .await;
    let admin: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(kubeconfig_path()).unwrap()).unwrap();
    // File A: the real cluster and user, a context in the test namespace, current.
    let a = write_kubeconfig(
        env.dir.path(),
        "a.yaml",
        &json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": admin["clusters"], "users": admin["users"],
            "contexts": [{"name": "here", "context": {"cluster": "bto-test", "user": "admin", "namespace": env.ns.name}}],
            "current-context": "here",
        }),
    );
    // File B: a cluster nobody listens on, current; its context uses A's user.
    let b = write_kubeconfig(
        env.dir.path(),
        "b.yaml",
        &json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:9"}}],
            "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "admin"}}],
            "current-context": "dead",
        }),
    );
    let joined = |paths: &[&Path]| {
        std::env::join_paths(paths)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    // Merged, the first file's current-context wins: B's dead cluster.
    assert_exit(&status_with(&env, joined(&[&b, &a]), &[]).await, 4);
    // --context picks A's context, and its namespace, from the merged files.
    assert_exit(
        &status_with(&env, joined(&[&b, &a]), &["--context", "here"]).await,
        0,
    );
    assert_exit(&status_with(&env, joined(&[&a, &b]), &[]).await, 0);
    assert_exit(
        &status_with(&env, joined(&[&a, &b]), &["--context", "dead"]).await,
        4,
    );
    // Files that do not exist are skipped, as kubectl does.
    let missing = env.dir.path().join("missing.yaml");
    assert_exit(&status_with(&env, joined(&[&missing, &a]), &[]).await, 0);
    // --kubeconfig replaces $KUBECONFIG; -n replaces the context's namespace.
    let a_text = a.display().to_string();
    assert_exit(
        &status_with(&env, joined(&[&b]), &["--kubeconfig", &a_text]).await,
        0,
    );
    let elsewhere = status_with(&env, joined(&[&a]), &["-n", "default"]).await;
    assert_exit(&elsewhere, 3);
    assert!(stderr(&elsewhere).contains("not found in namespace default"));
    env.base.finish().await;
}

#[test]
fn help_completion_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-bbt");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_bitbucket-token-operator"), &plugin).unwrap();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_bitbucket-token-operator"));
    for program in [&plugin, &binary] {
        for command in ["status", "revalidate", "check"] {
            let help = Command::new(program)
                .args([command, "--help"])
                .output()
                .unwrap();
            assert_exit(&help, 0);
            let text = stdout(&help);
            assert!(text.contains("Exit codes:"), "{command}: {text}");
            for code in ["0", "1", "2", "3", "4", "64"] {
                assert!(
                    text.contains(&format!("\n  {code} ")),
                    "{command} --help names exit code {code}:\n{text}"
                );
            }
        }
    }
    let top = Command::new(&plugin).arg("--help").output().unwrap();
    assert!(stdout(&top).contains("Usage: kubectl bbt <COMMAND>"));
    assert!(
        !stdout(&top).contains("\n  run "),
        "the plugin has no `run`"
    );

    let bash = Command::new(&plugin)
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert_exit(&bash, 0);
    let script = dir.path().join("kubectl-bbt.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert_exit(&syntax, 0);
    assert!(stdout(&bash).contains("kubectl-bbt"));
    // The completion script, sourced, completes the subcommands.
    let complete = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; f=$(complete -p kubectl-bbt | sed -E 's/.*-F ([^ ]+).*/\\1/'); \
             COMP_WORDS=(kubectl-bbt st); COMP_CWORD=1; COMP_LINE='kubectl-bbt st'; COMP_POINT=14; \
             \"$f\" kubectl-bbt st kubectl-bbt; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        stdout(&complete).trim(),
        "status",
        "{}",
        describe(&complete)
    );
    for shell in ["zsh", "fish"] {
        let output = Command::new(&plugin)
            .args(["completion", shell])
            .output()
            .unwrap();
        assert_exit(&output, 0);
        assert!(stdout(&output).contains("kubectl-bbt"), "{shell}");
    }
    let for_binary = Command::new(&binary)
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(stdout(&for_binary).contains("bitbucket-token-operator"));

    let version = Command::new(&plugin).arg("version").output().unwrap();
    assert_exit(&version, 0);
    let text = stdout(&version);
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    if head.status.success() {
        let commit = stdout(&head).trim().to_string();
        assert!(
            text.contains(&format!("commit:                {commit}")),
            "{text}"
        );
    }
    for expected in [
        concat!("bitbucket-token-operator ", env!("CARGO_PKG_VERSION")),
        "Kubernetes API:        1.",
        "BitbucketToken API:    bitbucket-token-operator.io/",
        "Bitbucket Cloud:       REST API 2.0",
        "Bitbucket Data Center: REST API 1.0",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
}

/// `kubectl bbt status` in a real terminal (tmux, 90x50): what a person sees, written to the
/// test log and to target/test-logs/kubectl-bbt-status.txt. Lines fit the terminal's width.
#[tokio::test]
async fn a_person_reads_status_in_a_terminal() {
    let env = Env::start("bbt-tmux").await;
    create_expiring(&env, "ledger").await;
    env.wait_event("ledger", "TokenExpiringSoon").await;
    let socket = format!("bto-test-{}", std::process::id());
    let path = format!(
        "{}:{}:{}",
        env.dir.path().display(),
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let command = format!(
        "kubectl bbt status ledger -n {} --kubeconfig {}; echo \"[exit $?]\"",
        env.ns.name,
        kubeconfig_path().display()
    );
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket])
            .args(args)
            .env("PATH", &path)
            .env_remove("TMUX")
            .output()
            .expect("run tmux (apt-get install tmux; scripts/install-node-packages.sh)")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-x",
        "90",
        "-y",
        "50",
        "-s",
        "bbt",
        "bash",
        "--norc",
        "--noprofile",
    ]);
    assert_exit(&started, 0);
    assert_exit(&tmux(&["set-option", "-g", "remain-on-exit", "on"]), 0);
    assert_exit(
        &tmux(&["send-keys", "-t", "bbt", "-l", &format!("clear; {command}")]),
        0,
    );
    assert_exit(&tmux(&["send-keys", "-t", "bbt", "Enter"]), 0);
    let screen = wait_until("status on the tmux screen", WAIT, || async {
        // -J joins lines the terminal wrapped, so a line too long for it shows as one.
        let capture = tmux(&["capture-pane", "-p", "-J", "-t", "bbt"]);
        let text = stdout(&capture);
        // The typed command shows `[exit $?]`; the finished one prints `[exit <number>]`.
        let finished = text.lines().any(|line| {
            line.strip_prefix("[exit ")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        });
        finished.then_some(text)
    })
    .await;
    let _ = tmux(&["kill-server"]);
    let log = format!(
        "----- tmux 90x50: kubectl bbt status ledger -----\n{}\n-----\n",
        screen.trim_end()
    );
    std::io::stderr().write_all(log.as_bytes()).ok();
    let logs = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-logs");
    std::fs::create_dir_all(&logs).ok();
    std::fs::write(logs.join("kubectl-bbt-status.txt"), &log).ok();

    assert!(screen.contains("[exit 0]"), "{screen}");
    for expected in [
        &format!("BitbucketToken {}/ledger: Ready", env.ns.name) as &str,
        "Expiring    True     ExpiresSoon",
        "(in 12 days), reported by Bitbucket",
        "keys (values not shown):",
        "TokenExpiringSoon",
    ] {
        assert!(
            screen.contains(expected),
            "{expected:?} not on screen:\n{screen}"
        );
    }
    let output = screen
        .split_once("BitbucketToken ")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    assert!(
        output.lines().all(|line| line.chars().count() <= 90),
        "every line fits the 90-column terminal:\n{screen}"
    );
    assert!(!screen.contains('\u{1b}'), "no raw escape sequences");
    env.base.finish().await;
}
