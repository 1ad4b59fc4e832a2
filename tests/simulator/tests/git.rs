//! Git smart HTTP with the real git CLI against the in-process simulator: who may clone and
//! push, with which scheme and user, and what the git log records.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bitbucket_simulator::{AuthSeen, GitService, SimTokenKind, Simulator, TokenFixture};
use common::*;

/// How a test presents a token to git.
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Basic(&'a str, &'a str),
}

impl Auth<'_> {
    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Authorization: Bearer {token}")),
            Auth::Basic(user, token) => Some(format!(
                "Authorization: Basic {}",
                STANDARD.encode(format!("{user}:{token}"))
            )),
        }
    }
}

/// A scratch directory with the simulator's CA, and git with no user or system config.
struct Git {
    dir: tempfile::TempDir,
    ca: PathBuf,
}

impl Git {
    fn new(sim: &Simulator) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, sim.ca_pem()).expect("write CA");
        Self { dir, ca }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs git in `cwd`; the header (if any) goes through `GIT_CONFIG_*`, never argv.
    async fn run(&self, cwd: &Path, auth: &Auth<'_>, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new("git");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_SSL_CAINFO", &self.ca)
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
            .current_dir(cwd)
            .args(args);
        if let Some(header) = auth.header() {
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env("GIT_CONFIG_VALUE_0", header);
        }
        command.output().await.expect("git runs")
    }

    /// `git clone url <name>`.
    async fn clone(&self, url: &str, name: &str, auth: &Auth<'_>) -> Output {
        let target = self.path(name);
        self.run(
            self.dir.path(),
            auth,
            &[
                "clone",
                "--quiet",
                url,
                target.to_str().expect("utf-8 path"),
            ],
        )
        .await
    }

    /// Commits a file in clone `name` and pushes it to branch `branch`.
    async fn push(&self, name: &str, branch: &str, auth: &Auth<'_>) -> Output {
        let repo = self.path(name);
        std::fs::write(repo.join(format!("{branch}.txt")), branch).expect("write file");
        let add = self.run(&repo, &Auth::None, &["add", "."]).await;
        assert!(add.status.success(), "{}", stderr(&add));
        let commit = self
            .run(&repo, &Auth::None, &["commit", "--quiet", "-m", branch])
            .await;
        assert!(commit.status.success(), "{}", stderr(&commit));
        let refspec = format!("HEAD:refs/heads/{branch}");
        self.run(&repo, auth, &["push", "--quiet", "origin", &refspec])
            .await
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output, what: &str) {
    assert!(output.status.success(), "{what} failed: {}", stderr(output));
}

fn assert_refused(output: &Output, code: &str, what: &str) {
    assert!(!output.status.success(), "{what} unexpectedly succeeded");
    let text = stderr(output);
    assert!(
        text.contains(code) || (code == "401" && text.contains("could not read Username")),
        "{what}: expected {code}, git said: {text}"
    );
}

/// Cloud access tokens: Basic `x-token-auth` only, the form Atlassian documents for git (the
/// Cloud 2.0 OpenAPI document's "Repository Cloning"); Bearer is documented for REST only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_access_tokens_clone_with_x_token_auth_only_and_push_with_write_only() {
    let h = Harness::start().await;
    let git = Git::new(&h.sim);
    let api = h.sim.cloud_clone_url("acme", "api");
    let rat = Auth::Basic("x-token-auth", RAT);
    assert_ok(&git.clone(&api, "rat", &rat).await, "clone");
    assert!(
        git.path("rat/README.md").exists(),
        "the initial commit is there"
    );
    assert_ok(&git.push("rat", "rat-branch", &rat).await, "push");
    // Without `.git` too.
    let bare_url = api.trim_end_matches(".git");
    assert_ok(&git.clone(bare_url, "rat-nodotgit", &rat).await, "clone");
    // Bearer, and any other Basic user, are refused.
    assert_refused(
        &git.clone(&api, "x", &Auth::Bearer(RAT)).await,
        "401",
        "bearer",
    );
    let wrong_user = Auth::Basic(USERNAME, RAT);
    assert_refused(
        &git.clone(&api, "x", &wrong_user).await,
        "401",
        "wrong user",
    );
    // The repository token reaches only its repository.
    let worker = h.sim.cloud_clone_url("acme", "worker");
    assert_refused(&git.clone(&worker, "x", &rat).await, "403", "other repo");
    // The project token (scope `repository` only) reads its project, cannot push, and does
    // not reach another project.
    let pat = Auth::Basic("x-token-auth", PAT);
    assert_ok(&git.clone(&api, "pat", &pat).await, "clone");
    assert_refused(&git.push("pat", "pat", &pat).await, "403", "push");
    let frontend = h.sim.cloud_clone_url("acme", "frontend");
    assert_refused(
        &git.clone(&frontend, "x", &pat).await,
        "403",
        "other project",
    );
    // The workspace token reads every repository of acme and none of globex.
    let wat = Auth::Basic("x-token-auth", WAT);
    assert_ok(&git.clone(&frontend, "wat", &wat).await, "clone");
    let globex = h.sim.cloud_clone_url("globex", "secret");
    assert_refused(
        &git.clone(&globex, "x", &wat).await,
        "403",
        "other workspace",
    );
    // A token without a repository scope cannot even read.
    let no_scope = Auth::Basic("x-token-auth", RAT_NO_SCOPE);
    assert_refused(&git.clone(&api, "x", &no_scope).await, "403", "no scope");
}

/// Two `Authorization` headers on one request (two `extraHeader` values git sends both of) get
/// 400, on git and on the REST API, whatever the headers hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_authorization_headers_get_400() {
    let h = Harness::start().await;
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(h.sim.ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let basic = format!("Basic {}", STANDARD.encode(format!("x-token-auth:{RAT}")));
    let git_url = format!(
        "{}/info/refs?service=git-upload-pack",
        h.sim.cloud_clone_url("acme", "api")
    );
    let rest_url = format!("{}/repositories/acme/api", h.sim.cloud_api_url());
    for url in [&git_url, &rest_url] {
        let one = client
            .get(url)
            .header("authorization", &basic)
            .send()
            .await
            .unwrap();
        assert_eq!(one.status(), 200, "{url}");
        let two = client
            .get(url)
            .header("authorization", &basic)
            .header("authorization", format!("Bearer {RAT}"))
            .send()
            .await
            .unwrap();
        assert_eq!(two.status(), 400, "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_take_the_username_or_the_api_token_user_never_the_email() {
    let h = Harness::start().await;
    h.sim.add_token(TokenFixture {
        name: "api-rw".into(),
        secret: "ATATT3xFfGF0-api-rw+/=%".into(),
        kind: SimTokenKind::ApiToken,
        user: Some(USERNAME.into()),
        scopes: vec![
            "read:repository:bitbucket".into(),
            "write:repository:bitbucket".into(),
        ],
        ..TokenFixture::default()
    });
    let git = Git::new(&h.sim);
    let api = h.sim.cloud_clone_url("acme", "api");
    let rw = Auth::Basic(USERNAME, "ATATT3xFfGF0-api-rw+/=%");
    assert_ok(&git.clone(&api, "rw", &rw).await, "clone with the username");
    assert_ok(&git.push("rw", "api-rw", &rw).await, "push");
    let alias = Auth::Basic("x-bitbucket-api-token-auth", API_TOKEN);
    assert_ok(&git.clone(&api, "alias", &alias).await, "clone");
    // Read scope only: no push.
    assert_refused(&git.push("alias", "api-ro", &alias).await, "403", "push");
    // The email (right for REST) and Bearer are wrong for git.
    let email = Auth::Basic(EMAIL, API_TOKEN);
    assert_refused(&git.clone(&api, "x", &email).await, "401", "email");
    assert_refused(
        &git.clone(&api, "x", &Auth::Bearer(API_TOKEN)).await,
        "401",
        "bearer",
    );
    // write:repository:bitbucket does not imply read.
    let write_only = Auth::Basic(USERNAME, API_WRITE_ONLY);
    assert_refused(
        &git.clone(&api, "x", &write_only).await,
        "403",
        "write-only",
    );
    // The owner's permission caps the token: jdoe only reads acme/worker.
    let worker = h.sim.cloud_clone_url("acme", "worker");
    assert_ok(&git.clone(&worker, "worker", &rw).await, "clone");
    assert_refused(
        &git.push("worker", "nope", &rw).await,
        "403",
        "push over the user's permission",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_passwords_take_the_username() {
    let h = Harness::start().await;
    let git = Git::new(&h.sim);
    let api = h.sim.cloud_clone_url("acme", "api");
    let app = Auth::Basic(USERNAME, APP_PASSWORD);
    assert_ok(&git.clone(&api, "app", &app).await, "clone");
    assert_refused(
        &git.push("app", "app", &app).await,
        "403",
        "push without repository:write",
    );
    let email = Auth::Basic(EMAIL, APP_PASSWORD);
    assert_refused(&git.clone(&api, "x", &email).await, "401", "email");
    let bearer = Auth::Bearer(APP_PASSWORD);
    assert_refused(&git.clone(&api, "x", &bearer).await, "401", "bearer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_tokens_follow_their_scheme_binding_and_permission() {
    let h = Harness::start().await;
    let git = Git::new(&h.sim);
    let (repo, project, personal) = (dc_repo(), dc_project(), dc_personal());
    // Repository token: Bearer only, its repository only, REPO_WRITE pushes. Key any case.
    let deploy_lower = h.sim.dc_clone_url("ops", "deploy");
    assert_ok(
        &git.clone(&deploy_lower, "repo", &Auth::Bearer(&repo)).await,
        "clone",
    );
    assert_ok(
        &git.push("repo", "dc-repo", &Auth::Bearer(&repo)).await,
        "push",
    );
    let deploy = h.sim.dc_clone_url("OPS", "deploy");
    let basic_repo = Auth::Basic("alice", &repo);
    assert_refused(
        &git.clone(&deploy, "x", &basic_repo).await,
        "401",
        "basic repo token",
    );
    let infra = h.sim.dc_clone_url("OPS", "infra");
    assert_refused(
        &git.clone(&infra, "x", &Auth::Bearer(&repo)).await,
        "403",
        "other repo",
    );
    // Project token with read permissions: clones every repository, pushes none.
    assert_ok(
        &git.clone(&infra, "project", &Auth::Bearer(&project)).await,
        "clone",
    );
    assert_refused(
        &git.push("project", "p", &Auth::Bearer(&project)).await,
        "403",
        "push",
    );
    // Personal token: Bearer or Basic with the user slug; capped by the user's permission.
    assert_ok(
        &git.clone(&deploy, "pb", &Auth::Bearer(&personal)).await,
        "clone",
    );
    let basic = Auth::Basic("alice", &personal);
    assert_ok(&git.clone(&deploy, "pbasic", &basic).await, "clone");
    assert_ok(&git.push("pbasic", "alice", &basic).await, "push");
    let read = dc_personal_read();
    let read_only = Auth::Bearer(&read);
    assert_ok(&git.clone(&deploy, "pr", &read_only).await, "clone");
    assert_refused(&git.push("pr", "pr", &read_only).await, "403", "push");
    // A Cloud token is no DC credential.
    assert_refused(
        &git.clone(&deploy, "x", &Auth::Bearer(RAT)).await,
        "401",
        "cloud token",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_expired_unknown_and_missing_credentials_get_a_basic_challenge() {
    let h = Harness::start().await;
    let git = Git::new(&h.sim);
    let api = h.sim.cloud_clone_url("acme", "api");
    let rat_auth = Auth::Basic("x-token-auth", RAT);
    assert_ok(&git.clone(&api, "before", &rat_auth).await, "clone");
    h.sim.revoke("rat");
    let fetch = git
        .run(&git.path("before"), &rat_auth, &["fetch", "--quiet"])
        .await;
    assert_refused(&fetch, "401", "fetch after revocation");
    h.sim.restore("rat");
    let refs = format!("{api}/info/refs?service=git-upload-pack");
    for (what, response) in [
        ("revoked", {
            h.sim.revoke("rat");
            let r = h.basic(&refs, "x-token-auth", RAT).await;
            h.sim.restore("rat");
            r
        }),
        ("expired", h.basic(&refs, "x-token-auth", EXPIRED).await),
        (
            "unknown",
            h.basic(&refs, "x-token-auth", "ATCTT3xFfGN0-never-issued")
                .await,
        ),
        ("anonymous", h.anonymous(&refs).await),
    ] {
        assert_eq!(response.status(), 401, "{what}");
        assert_eq!(
            header(&response, "www-authenticate"),
            Some("Basic realm=\"Bitbucket\""),
            "{what}"
        );
    }
    // Pushing anonymously is refused even where reading is public.
    let docs = h.sim.cloud_clone_url("acme", "docs");
    assert_ok(
        &git.clone(&docs, "docs", &Auth::None).await,
        "anonymous clone of a public repo",
    );
    assert_refused(
        &git.push("docs", "anon", &Auth::None).await,
        "401",
        "anonymous push",
    );
    // The receive-pack advertisement alone needs write.
    let advert = format!("{api}/info/refs?service=git-receive-pack");
    let pat = h.basic(&advert, "x-token-auth", PAT).await;
    assert_eq!(pat.status(), 403);
    let rat = h.basic(&advert, "x-token-auth", RAT).await;
    assert_eq!(rat.status(), 200);
    assert_eq!(
        header(&rat, "content-type"),
        Some("application/x-git-receive-pack-advertisement")
    );
    // Unknown repositories are 404.
    let missing = h.sim.cloud_clone_url("acme", "missing");
    let response = h
        .basic(
            &format!("{missing}/info/refs?service=git-upload-pack"),
            "x-token-auth",
            RAT,
        )
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_git_log_shows_scheme_user_host_and_path_but_never_the_secret() {
    let h = Harness::start().await;
    let git = Git::new(&h.sim);
    let port = h.sim.port();
    let by_ip = format!("https://127.0.0.1:{port}/acme/api.git");
    assert_ok(
        &git.clone(&by_ip, "ip", &Auth::Basic("x-token-auth", RAT))
            .await,
        "clone",
    );
    let deploy = h.sim.dc_clone_url("OPS", "deploy");
    assert_ok(
        &git.clone(&deploy, "dc", &Auth::Bearer(&dc_repo())).await,
        "clone",
    );
    let log = h.sim.git_requests();
    let cloud: Vec<_> = log
        .iter()
        .filter(|r| r.path.starts_with("/acme/"))
        .collect();
    assert!(!cloud.is_empty());
    for request in &cloud {
        assert_eq!(request.host, format!("127.0.0.1:{port}"));
        assert_eq!(
            request.auth,
            AuthSeen::Basic {
                user: "x-token-auth".into()
            }
        );
        assert_eq!(request.token_name.as_deref(), Some("rat"));
        assert_eq!(request.service, GitService::UploadPack);
        assert_eq!(request.status, 200);
    }
    let dc: Vec<_> = log
        .iter()
        .filter(|r| r.path.starts_with("/bitbucket/scm/OPS/deploy.git/"))
        .collect();
    assert!(!dc.is_empty());
    assert!(
        dc.iter()
            .all(|r| r.auth == AuthSeen::Bearer && r.host == format!("localhost:{port}"))
    );
    let printed = format!("{log:?}");
    assert!(!printed.contains(RAT) && !printed.contains(&dc_repo()));
    // The control API shows the same log.
    let control = h
        .anonymous(&format!("https://localhost:{port}/_sim/git/requests"))
        .await;
    let rows = json(control).await;
    let rows = rows.as_array().expect("a list");
    assert_eq!(rows.len(), log.len());
    assert!(
        rows.iter()
            .any(|r| r["user"] == "x-token-auth" && r["token"] == "rat")
    );
    assert!(!rows.iter().any(|r| r.to_string().contains(RAT)));
    // Git requests are not API requests: the API counters stay untouched.
    assert_eq!(h.sim.request_count(), 0);
    h.sim.reset_git_requests();
    assert!(h.sim.git_requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_request_bodies_reach_git_http_backend_intact() {
    let h = Harness::start().await;
    let url = h.sim.cloud_clone_url("acme", "api");
    // A protocol v0 upload-pack request for the initial commit, gzip-compressed by gzip(1).
    let refs = h
        .basic(
            &format!("{url}/info/refs?service=git-upload-pack"),
            "x-token-auth",
            RAT,
        )
        .await;
    let advert = refs.bytes().await.expect("advertisement");
    let text = String::from_utf8_lossy(&advert);
    let head = text
        .lines()
        .find(|l| l.ends_with(" refs/heads/main"))
        .and_then(|l| l.get(4..44))
        .expect("the advertisement names main")
        .to_owned();
    let want = format!("want {head}\n");
    let body = format!(
        "{:04x}{want}0000{:04x}done\n",
        want.len() + 4,
        "done\n".len() + 4
    );
    let mut gzip = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs");
    {
        use std::io::Write;
        let mut stdin = gzip.stdin.take().expect("stdin");
        stdin.write_all(body.as_bytes()).expect("write");
    }
    let compressed = gzip.wait_with_output().expect("gzip output").stdout;
    let response = h
        .client
        .post(format!("{url}/git-upload-pack"))
        .basic_auth("x-token-auth", Some(RAT))
        .header("content-type", "application/x-git-upload-pack-request")
        .header("content-encoding", "gzip")
        .body(compressed)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let pack = response.bytes().await.expect("body");
    assert!(
        pack.windows(4).any(|w| w == b"PACK"),
        "a packfile comes back"
    );
}
