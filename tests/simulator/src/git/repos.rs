//! The bare repositories served over git smart HTTP: one per fixture repository, created at
//! start in a temporary directory, each with an initial commit on `main` holding a README.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::path::RepoRef;
use crate::error::SimulatorError;
use crate::fixture::Fixture;

/// Fixed identity and date, so every run creates the same commit ids.
const AUTHOR: &str = "Bitbucket Simulator <simulator@example.invalid> 1700000000 +0000";

/// The temporary directory holding every repository; removed when dropped.
#[derive(Debug)]
pub(crate) struct Repositories {
    dir: tempfile::TempDir,
}

impl Repositories {
    /// Creates a bare repository for every Cloud and Data Center repository of `fixture`.
    pub async fn create(fixture: &Fixture) -> Result<Self, SimulatorError> {
        let dir = tempfile::Builder::new()
            .prefix("bitbucket-simulator-git-")
            .tempdir()
            .map_err(|source| SimulatorError::GitIo {
                what: "create the repositories directory".into(),
                source,
            })?;
        let cloud = fixture.cloud.workspaces.iter().flat_map(|w| {
            w.repositories.iter().map(|r| RepoRef::Cloud {
                workspace: w.slug.clone(),
                slug: r.slug.clone(),
            })
        });
        let dc = fixture.data_center.projects.iter().flat_map(|p| {
            p.repositories.iter().map(|slug| RepoRef::DataCenter {
                key: p.key.clone(),
                slug: slug.clone(),
            })
        });
        for repo in cloud.chain(dc) {
            create_one(dir.path(), &repo).await?;
        }
        Ok(Self { dir })
    }

    /// `GIT_PROJECT_ROOT` for `git http-backend`.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

fn display_name(repo: &RepoRef) -> String {
    match repo {
        RepoRef::Cloud { workspace, slug } => format!("{workspace}/{slug}"),
        RepoRef::DataCenter { key, slug } => format!("{key}/{slug}"),
    }
}

async fn create_one(root: &Path, repo: &RepoRef) -> Result<(), SimulatorError> {
    let dir: PathBuf = root.join(repo.relative_dir());
    let dir_arg = dir.display().to_string();
    git(
        root,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            &dir_arg,
        ],
        None,
    )
    .await?;
    // Authentication and authorization happen in the simulator; the CGI may serve pushes.
    git(
        root,
        &["--git-dir", &dir_arg, "config", "http.receivepack", "true"],
        None,
    )
    .await?;
    let readme = format!(
        "# {}\n\nServed by the Bitbucket simulator over git smart HTTP.\n",
        display_name(repo)
    );
    let message = "Initial commit\n";
    let stream = format!(
        "commit refs/heads/main\nauthor {AUTHOR}\ncommitter {AUTHOR}\ndata {}\n{message}\
         M 100644 inline README.md\ndata {}\n{readme}\n",
        message.len(),
        readme.len(),
    );
    git(
        root,
        &["--git-dir", &dir_arg, "fast-import", "--quiet"],
        Some(stream.as_bytes()),
    )
    .await
}

/// Runs `git <args>` with no user or system configuration.
async fn git(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<(), SimulatorError> {
    let command_line = format!("git {}", args.join(" "));
    let io_error = |source| SimulatorError::GitIo {
        what: format!("run `{command_line}` (is git installed?)"),
        source,
    };
    let mut child = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(io_error)?;
    if let (Some(bytes), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(bytes).await.map_err(io_error)?;
    }
    let output = child.wait_with_output().await.map_err(io_error)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(SimulatorError::GitCommand {
            command: command_line,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}
