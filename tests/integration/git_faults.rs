//! Everyday set-ups that used to fail although the operator said Ready (issue 15), each proven
//! with the real git CLI against the simulator's git server and Secrets rendered on the control
//! plane:
//! 1. other config adds a second `Authorization` header or credential helper;
//! 2. a Data Center server with a private CA;
//! 4. a pod that runs as a non-root user (kubelet's files are root-owned);
//! 5. a git older than 2.31 (no `GIT_CONFIG_GLOBAL`, no `GIT_CONFIG_COUNT`);
//! 6. `subPath` mounts (documentation).
//!
//! Fault 3 (Tekton) is in `tests/integration/consumers.rs`.

use crate::rendered;
use crate::support;

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Secret;
use rendered::{Env, dc_spec};
use serde_json::{Value, json};
use support::{
    cluster::bin_dir,
    git::{GitRunner, Wiring, stderr},
    kubelet::{env_from_secret, mount_secret, mount_secret_for},
};

fn repo_write() -> Value {
    json!({"token": {"kind": "RepositoryAccessToken"},
           "access": {"workspace": "acme", "repositories": ["payments"], "permission": "Write"}})
}

fn workspace_read() -> Value {
    json!({"token": {"kind": "WorkspaceAccessToken"}, "access": {"workspace": "acme"}})
}

/// Mounts `secret` at the BitbucketToken's mount path (mode 0444, root-owned) and returns it.
fn mount(env: &Env, name: &str, secret: &Secret) -> PathBuf {
    let dir = env.mount_path(name);
    std::fs::create_dir_all(&dir).expect("mount dir");
    mount_secret(secret, &dir, 0o444);
    dir
}

/// A global config file in a scratch directory with `text`.
fn config_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).expect("write a config file");
    file
}

/// Clones, commits and pushes a branch; returns a failure description, if any.
async fn clone_and_push(git: &GitRunner, url: &str, branch: &str) -> Option<String> {
    let (repo, clone) = git.clone(url, branch).await;
    if !clone.status.success() {
        return Some(format!("clone failed: {}", stderr(&clone)));
    }
    let push = git.commit_and_push(&repo, branch).await;
    (!push.status.success()).then(|| format!("push failed: {}", stderr(&push)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_authorization_header_whatever_else_git_is_configured_with() {
    let env = Env::start("git-one-header").await;
    let sim = &env.world.sim;
    env.create("ws-read", "wat", "GitConfig", workspace_read())
        .await;
    env.create_formats("repo-write", "rat-rw", &["GitConfig", "Env"], repo_write())
        .await;
    env.create("repo-store", "rat-rw", "GitCredentials", repo_write())
        .await;
    let ws = mount(&env, "ws-read", &env.rendered("ws-read").await);
    let repo_secret = env.rendered("repo-write").await;
    let repo = mount(&env, "repo-write", &repo_secret);
    let store = mount(&env, "repo-store", &env.rendered("repo-store").await);
    let scratch = tempfile::tempdir().expect("scratch");
    let include = |first: &Path, second: &Path| {
        format!(
            "[include]\n\tpath = {}\n\tpath = {}\n",
            first.join(".gitconfig").display(),
            second.join(".gitconfig").display()
        )
    };
    let ca = sim.ca_pem();
    let global = |name: &str, text: String| {
        GitRunner::new(
            &ca,
            Wiring::GlobalConfig(config_file(scratch.path(), name, &text)),
        )
    };
    let mut both = GitRunner::new(&ca, Wiring::GlobalConfig(repo.join(".gitconfig")));
    for (key, value) in env_from_secret(&repo_secret) {
        both = both.with_env(&key, &value);
    }
    let cases = [
        (
            "a workspace read token's .gitconfig included before the repository write token's",
            global("ws-first", include(&ws, &repo)),
        ),
        (
            "the repository write token's .gitconfig included before the workspace read token's",
            global("repo-first", include(&repo, &ws)),
        ),
        ("one Secret used both as gitconfig and as env", both),
        (
            "an image-wide http.extraHeader",
            global(
                "image-header",
                format!(
                    "[http]\n\textraHeader = Authorization: Bearer image-wide-token\n{}",
                    include(&ws, &repo)
                ),
            ),
        ),
    ];
    let payments = sim.cloud_clone_url("acme", "payments");
    let mut failures = Vec::new();
    for (i, (what, git)) in cases.iter().enumerate() {
        sim.reset_git_requests();
        if let Some(failure) = clone_and_push(git, &payments, &format!("one-header-{i}")).await {
            failures.push(format!("{what}: {failure}"));
        }
        let seen = sim.git_requests();
        assert!(!seen.is_empty(), "{what}: no git request");
        let secret = env.world.secret("rat-rw");
        assert!(
            seen.iter()
                .flat_map(|r| &r.headers)
                .all(|h| !h.value.contains(&secret)),
            "{what}: the recorded headers hold the token"
        );
        for request in seen {
            if request.authorization_headers() != 1
                || request.token_name.as_deref() != Some("rat-rw")
            {
                failures.push(format!(
                    "{what}: {} {} carried {} Authorization headers ({:?})",
                    request.method,
                    request.path,
                    request.authorization_headers(),
                    request
                        .headers
                        .iter()
                        .filter(|h| h.name == "authorization")
                        .map(|h| h.value.clone())
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    // An image's own credential helper (here one that answers with a wrong password) is not
    // asked before the rendered store.
    let image_helper = global(
        "image-helper",
        format!(
            "[credential]\n\thelper = \"!f() {{ echo username=x-token-auth; echo password=wrong; }}; f\"\n[include]\n\tpath = {}\n",
            store.join(".gitconfig").display()
        ),
    );
    sim.reset_git_requests();
    if let Some(failure) = clone_and_push(&image_helper, &payments, "one-helper").await {
        failures.push(format!("an image-wide credential helper: {failure}"));
    }
    for request in sim.git_requests() {
        if request.authorization_headers() > 1
            || (request.authorization_headers() == 1
                && request.token_name.as_deref() != Some("rat-rw"))
        {
            failures.push(format!(
                "an image-wide credential helper: {} {} answered {} with {:?}",
                request.method, request.path, request.status, request.headers
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_reaches_git_through_the_rendered_secret() {
    let env = Env::start("git-private-ca").await;
    let sim = &env.world.sim;
    let dc = |username: Option<&str>| dc_spec(username, json!(["payments"]), "Write");
    env.create("dc-gitconfig", "dc-repo-rw", "GitConfig", dc(None))
        .await;
    env.create("dc-store", "dc-personal", "GitCredentials", dc(Some("bob")))
        .await;
    env.create("dc-env", "dc-repo-rw", "Env", dc(None)).await;
    let ca = sim.ca_pem();
    let payments = sim.dc_clone_url("PAY", "payments");

    // git's own trust store does not hold the simulator's CA.
    let bare = GitRunner::new(&ca, Wiring::Nothing).without_simulator_ca();
    let (_, out) = bare.clone(&payments, "untrusted").await;
    assert!(
        !out.status.success() && stderr(&out).to_lowercase().contains("certificate"),
        "the simulator must not be trusted by default: {}",
        stderr(&out)
    );

    let mut failures = Vec::new();
    for name in ["dc-gitconfig", "dc-store", "dc-env"] {
        let secret = env.rendered(name).await;
        let data = support::kubelet::secret_data(&secret);
        if data.get("ca.crt") != Some(&ca) {
            failures.push(format!(
                "{name}: the Secret does not carry the CA as ca.crt"
            ));
            continue;
        }
        let dir = mount(&env, name, &secret);
        let git = if name == "dc-env" {
            // envFrom for the variables, the volume for ca.crt.
            GitRunner::new(&ca, Wiring::Env(env_from_secret(&secret)))
        } else {
            GitRunner::new(&ca, Wiring::GlobalConfig(dir.join(".gitconfig")))
        }
        .without_simulator_ca();
        if let Some(failure) = clone_and_push(&git, &payments, &format!("ca-{name}")).await {
            failures.push(format!("{name}: {failure}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish().await;
}

/// `securityContext` and the credentials volume of an example pod.
#[derive(Debug)]
struct PodAccess {
    file: String,
    run_as_user: u32,
    fs_group: Option<u32>,
    default_mode: u32,
}

/// A volume's `defaultMode` as Kubernetes reads it (`parse_objects` reads `0400` as YAML 1.1
/// octal, as the API server's YAML decoder does); 0644 when absent.
fn file_mode(value: &Value) -> u32 {
    match value {
        Value::Number(n) => n.as_u64().expect("a mode") as u32,
        Value::Null => 0o644,
        other => panic!("defaultMode {other:?}"),
    }
}

/// Every example pod (Pod or pod template) that mounts a Secret and sets `GIT_CONFIG_GLOBAL`.
fn example_pods() -> Vec<PodAccess> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/consumers");
    let mut pods = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples/consumers") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read an example");
        for doc in support::helm::parse_objects(&text) {
            let spec = if doc["kind"] == "Pod" {
                &doc["spec"]
            } else {
                &doc["spec"]["template"]["spec"]
            };
            let Some(containers) = spec["containers"].as_array() else {
                continue;
            };
            let reads_gitconfig = containers.iter().any(|c| {
                c["env"]
                    .as_array()
                    .is_some_and(|env| env.iter().any(|e| e["name"] == "GIT_CONFIG_GLOBAL"))
            });
            let Some(volume) = spec["volumes"]
                .as_array()
                .and_then(|v| v.iter().find(|v| v.get("secret").is_some()))
            else {
                continue;
            };
            if !reads_gitconfig {
                continue;
            }
            let user = containers[0]["securityContext"]["runAsUser"]
                .as_u64()
                .or(spec["securityContext"]["runAsUser"].as_u64());
            pods.push(PodAccess {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                run_as_user: user.unwrap_or(0) as u32,
                fs_group: spec["securityContext"]["fsGroup"]
                    .as_u64()
                    .map(|g| g as u32),
                default_mode: file_mode(&volume["secret"]["defaultMode"]),
            });
        }
    }
    assert!(
        !pods.is_empty(),
        "no example pod reads a mounted .gitconfig"
    );
    pods
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_pods_read_their_credentials_as_their_non_root_user() {
    let env = Env::start("git-non-root").await;
    let sim = &env.world.sim;
    env.create_formats(
        "rat",
        "rat-rw",
        &["GitConfig", "GitCredentials"],
        repo_write(),
    )
    .await;
    let secret = env.rendered("rat").await;
    let payments = sim.cloud_clone_url("acme", "payments");
    let mut failures = Vec::new();
    for pod in example_pods() {
        if pod.run_as_user == 0 {
            failures.push(format!("{}: runs git as root", pod.file));
            continue;
        }
        let dir = env.mount_path(&pod.file);
        std::fs::create_dir_all(&dir).expect("mount dir");
        // Kubelet: root-owned files with defaultMode, group fsGroup and group read if set.
        mount_secret_for(&secret, &dir, pod.default_mode, pod.fs_group);
        let gid = pod.fs_group.unwrap_or(pod.run_as_user);
        let git = GitRunner::new(&sim.ca_pem(), Wiring::GlobalConfig(dir.join(".gitconfig")))
            .run_as(pod.run_as_user, gid);
        if let Some(failure) = clone_and_push(&git, &payments, "non-root").await {
            failures.push(format!("{} ({pod:?}): {failure}", pod.file));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish().await;
}

/// Debian bullseye's git 2.30, installed by scripts/build-consumers.sh.
fn old_git(git: GitRunner) -> GitRunner {
    let root = bin_dir().join("git-2.30");
    let program = root.join("usr/bin/git");
    assert!(
        program.exists(),
        "{} is missing: run scripts/install-tools.sh",
        program.display()
    );
    let var = |dir: &str| root.join(dir).display().to_string();
    git.with_program(
        program,
        vec![
            ("GIT_EXEC_PATH".into(), var("usr/lib/git-core")),
            (
                "GIT_TEMPLATE_DIR".into(),
                var("usr/share/git-core/templates"),
            ),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_older_than_2_31_uses_the_documented_forms() {
    let env = Env::start("git-old").await;
    let sim = &env.world.sim;
    let ca = sim.ca_pem();
    env.create_formats(
        "rat",
        "rat-rw",
        &["GitConfig", "GitCredentials"],
        repo_write(),
    )
    .await;
    env.create("rat-store", "rat-rw", "GitCredentials", repo_write())
        .await;
    env.create("rat-env", "rat-rw", "Env", repo_write()).await;
    let both = mount(&env, "rat", &env.rendered("rat").await);
    let store = mount(&env, "rat-store", &env.rendered("rat-store").await);
    let env_secret = env.rendered("rat-env").await;
    let payments = sim.cloud_clone_url("acme", "payments");

    let version = old_git(GitRunner::new(&ca, Wiring::Nothing))
        .run(None, &["--version"])
        .await;
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(version.starts_with("git version 2.30."), "{version}");

    // What docs/consuming.md says for git < 2.32 and < 2.31.
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/consuming.md"))
            .expect("docs/consuming.md");
    for needle in [
        "GIT_CONFIG_GLOBAL` needs git 2.32",
        "`Env` needs git 2.31",
        "HOME=",
        "include.path=",
    ] {
        assert!(docs.contains(needle), "docs/consuming.md lacks {needle:?}");
    }

    let mut failures = Vec::new();
    // HOME=<mountPath>: git reads $HOME/.gitconfig (both formats and the store alone).
    for (what, dir) in [
        ("GitConfig+GitCredentials", &both),
        ("GitCredentials", &store),
    ] {
        let git = old_git(GitRunner::new(&ca, Wiring::Nothing))
            .with_env("HOME", &dir.display().to_string());
        if let Some(failure) =
            clone_and_push(&git, &payments, &format!("old-home-{}", what.len())).await
        {
            failures.push(format!("HOME={} ({what}): {failure}", dir.display()));
        }
    }
    // git -c include.path=<mountPath>/.gitconfig
    let git = old_git(GitRunner::new(&ca, Wiring::Nothing));
    let include = format!("include.path={}", both.join(".gitconfig").display());
    let target = git.work_dir().join("old-include");
    let clone = git
        .run(
            None,
            &[
                "-c",
                &include,
                "clone",
                "--quiet",
                &payments,
                target.to_str().unwrap(),
            ],
        )
        .await;
    if !clone.status.success() {
        failures.push(format!("-c {include}: clone failed: {}", stderr(&clone)));
    }
    // The forms the floors are about really are ignored by git 2.30: a clone gets no credentials.
    for (what, git) in [
        (
            "GIT_CONFIG_GLOBAL",
            old_git(GitRunner::new(
                &ca,
                Wiring::GlobalConfig(both.join(".gitconfig")),
            )),
        ),
        (
            "Env",
            old_git(GitRunner::new(
                &ca,
                Wiring::Env(env_from_secret(&env_secret)),
            )),
        ),
    ] {
        let (_, out) = git.clone(&payments, &format!("ignored-{what}")).await;
        if out.status.success() {
            failures.push(format!(
                "git 2.30 used {what}; the documented floor is wrong"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish().await;
}

#[test]
fn subpath_mounts_are_documented_with_what_they_lose() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for file in ["docs/formats.md", "docs/consuming.md"] {
        let text = std::fs::read_to_string(root.join(file)).expect("read docs");
        for (i, paragraph) in text.split("\n\n").enumerate() {
            if !paragraph.contains("subPath") {
                continue;
            }
            let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
            for needle in ["never receives a rotated token", ".git-credentials"] {
                if !paragraph.contains(needle) {
                    failures.push(format!(
                        "{file}, paragraph {i} mentions subPath without {needle:?}:\n{paragraph}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
