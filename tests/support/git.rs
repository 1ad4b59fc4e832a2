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
        }
    }

    /// Where clones go.
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }

    /// Runs `git <args>` in `cwd` (default: the work dir).
    pub async fn run(&self, cwd: Option<&Path>, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new("git");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_SSL_CAINFO", &self.ca)
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
        ]
        .iter()
        .any(|needle| text.contains(needle))
}
