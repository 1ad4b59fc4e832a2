//! The real git CLI as a pod runs it: an empty `HOME`, no system config, no prompts, the
//! simulator's CA, and the credentials wired in the way the consumer of each format does.
//! Git runs through `tokio::process`, so the in-process simulator keeps serving meanwhile.

use std::{
    path::{Path, PathBuf},
    process::Output,
};

/// How the pod hands the credentials to git.
#[derive(Debug, Clone)]
pub enum Wiring {
    /// `GIT_CONFIG_GLOBAL=<mount>/.gitconfig` (gitconfig, gitCredentials).
    GlobalConfig(PathBuf),
    /// Environment variables (env format, or a tool that sets `http.extraHeader`).
    Env(Vec<(String, String)>),
    /// Nothing: git with no credentials at all.
    Nothing,
}

/// A scratch `HOME` plus the simulator's CA.
pub struct GitRunner {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
    ca: PathBuf,
    wiring: Wiring,
    /// The git binary (default `git` from `PATH`) and what it needs to run from elsewhere.
    program: PathBuf,
    extra_env: Vec<(String, String)>,
    /// Whether `GIT_SSL_CAINFO` names the simulator's CA (default); otherwise git trusts only
    /// its own store and what the wired config says.
    trust_simulator: bool,
    /// Run as this uid and gid instead of the test's own (root in CI).
    user: Option<(u32, u32)>,
}

impl GitRunner {
    pub fn new(ca_pem: &str, wiring: Wiring) -> Self {
        let home = tempfile::tempdir().expect("home dir");
        let work = tempfile::tempdir().expect("work dir");
        let ca = work.path().join("bitbucket-ca.pem");
        std::fs::write(&ca, ca_pem).expect("write the CA");
        Self {
            home,
            work,
            ca,
            wiring,
            program: PathBuf::from("git"),
            extra_env: Vec::new(),
            trust_simulator: true,
            user: None,
        }
    }

    /// Runs `program` instead of the `git` on `PATH`, with `env` added (e.g. `GIT_EXEC_PATH`).
    pub fn with_program(mut self, program: PathBuf, env: Vec<(String, String)>) -> Self {
        self.program = program;
        self.extra_env.extend(env);
        self
    }

    /// Adds an environment variable (after the wiring's, so it can override them).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    /// Does not set `GIT_SSL_CAINFO`: the simulator is trusted only through the wired config.
    pub fn without_simulator_ca(mut self) -> Self {
        self.trust_simulator = false;
        self
    }

    /// Runs git as `uid`/`gid`, as a pod's `runAsUser` (and `fsGroup`) would; hands it the
    /// scratch `HOME` and work directory. Needs root.
    pub fn run_as(mut self, uid: u32, gid: u32) -> Self {
        for dir in [self.home.path(), self.work.path()] {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid)).expect("chown a scratch dir");
        }
        std::os::unix::fs::chown(&self.ca, Some(uid), Some(gid)).expect("chown the CA");
        self.user = Some((uid, gid));
        self
    }

    /// The scratch `HOME`.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Where clones go.
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }

    /// Runs `git <args>` in `cwd` (default: the work dir).
    pub async fn run(&self, cwd: Option<&Path>, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", "e2e")
            .env("GIT_AUTHOR_EMAIL", "e2e@example.invalid")
            .env("GIT_COMMITTER_NAME", "e2e")
            .env("GIT_COMMITTER_EMAIL", "e2e@example.invalid")
            .current_dir(cwd.unwrap_or(self.work.path()))
            .args(args);
        match &self.wiring {
            Wiring::GlobalConfig(file) => {
                command.env("GIT_CONFIG_GLOBAL", file);
            }
            Wiring::Env(vars) => {
                command.envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            }
            Wiring::Nothing => {}
        }
        if self.trust_simulator {
            command.env("GIT_SSL_CAINFO", &self.ca);
        }
        command.envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command.output().await.expect("git runs")
    }

    /// `git clone <url> <dir>`; returns the clone's path.
    pub async fn clone(&self, url: &str, dir: &str) -> (PathBuf, Output) {
        let path = self.work.path().join(dir);
        let out = self
            .run(
                None,
                &["clone", "--quiet", url, path.to_str().expect("utf-8")],
            )
            .await;
        (path, out)
    }

    /// `git fetch origin` in `repo`.
    pub async fn fetch(&self, repo: &Path) -> Output {
        self.run(Some(repo), &["fetch", "--quiet", "origin"]).await
    }

    /// Commits a file in `repo` and pushes it to a new branch `branch`.
    pub async fn commit_and_push(&self, repo: &Path, branch: &str) -> Output {
        std::fs::write(repo.join(format!("{branch}.txt")), branch).expect("write a file");
        for args in [&["add", "."][..], &["commit", "--quiet", "-m", branch][..]] {
            let out = self.run(Some(repo), args).await;
            assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
        }
        let refspec = format!("HEAD:refs/heads/{branch}");
        self.run(Some(repo), &["push", "--quiet", "origin", &refspec])
            .await
    }
}

/// git's standard error, for assertions (git never prints the credentials it sends).
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Whether git's failure says that authentication or authorization was refused.
pub fn refused(output: &Output) -> bool {
    let text = stderr(output);
    !output.status.success()
        && [
            "401",
            "403",
            "Authentication failed",
            "could not read Username",
            // git's store erased the refused line (a writable HOME, as Tekton's).
            "could not read Password",
        ]
        .iter()
        .any(|needle| text.contains(needle))
}
