//! Which repository and which git operation an HTTP path addresses.
//!
//! Cloud: `/<workspace>/<repo>[.git]/<rest>`; Data Center: `{contextPath}/scm/<KEY>/<repo>[.git]/<rest>`
//! (key case-insensitive). `<rest>` is what `git http-backend` serves: `info/refs`,
//! `git-upload-pack`, `git-receive-pack` (smart HTTP) or a dumb-protocol file (`HEAD`, `objects/...`).

use crate::state::SimState;

/// The two git services; receive-pack (push) needs write access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GitService {
    /// `git-upload-pack`: clone and fetch.
    UploadPack,
    /// `git-receive-pack`: push.
    ReceivePack,
}

impl GitService {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "git-upload-pack" => Some(Self::UploadPack),
            "git-receive-pack" => Some(Self::ReceivePack),
            _ => None,
        }
    }

    /// Whether the service changes the repository.
    pub fn writes(self) -> bool {
        self == Self::ReceivePack
    }
}

/// A repository of the fixture, in its canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RepoRef {
    Cloud { workspace: String, slug: String },
    DataCenter { key: String, slug: String },
}

impl RepoRef {
    /// Directory of the bare repository below the repositories root.
    pub fn relative_dir(&self) -> String {
        match self {
            Self::Cloud { workspace, slug } => format!("cloud/{workspace}/{slug}.git"),
            Self::DataCenter { key, slug } => format!("dc/{key}/{slug}.git"),
        }
    }
}

/// A request path that addresses a git repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitPath {
    /// The repository, or `None` when the path has a git shape but names no fixture repository.
    pub repo: Option<RepoRef>,
    /// Everything after `<repo>[.git]/`, e.g. `info/refs`.
    pub rest: String,
}

impl GitPath {
    /// The service: from `?service=` for `info/refs`, from the path for the POST endpoints,
    /// and upload-pack (read) for dumb-protocol files.
    pub fn service(&self, query: Option<&str>) -> GitService {
        if let Some(service) = GitService::parse(&self.rest) {
            return service;
        }
        query
            .into_iter()
            .flat_map(|q| url::form_urlencoded::parse(q.as_bytes()))
            .find(|(k, _)| k == "service")
            .and_then(|(_, v)| GitService::parse(&v))
            .unwrap_or(GitService::UploadPack)
    }
}

fn is_git_rest(rest: &[&str]) -> bool {
    matches!(
        rest,
        ["git-upload-pack"] | ["git-receive-pack"] | ["HEAD"] | ["objects", ..] | ["info", ..]
    )
}

fn strip_git(name: &str) -> &str {
    name.strip_suffix(".git").unwrap_or(name)
}

/// Parses `path` (already known not to be an API or control path).
pub(crate) fn parse(state: &SimState, path: &str) -> Option<GitPath> {
    let scm_prefix = format!("{}/scm/", state.data_center.context_path);
    if let Some(after) = path.strip_prefix(&scm_prefix) {
        let segments: Vec<&str> = after.split('/').collect();
        let (key, repo, rest) = match segments.as_slice() {
            [key, repo, rest @ ..] if is_git_rest(rest) => (*key, strip_git(repo), rest),
            _ => return None,
        };
        let found = state.data_center.projects.iter().find_map(|p| {
            let slug = p.repositories.iter().find(|s| s.as_str() == repo)?;
            p.key
                .eq_ignore_ascii_case(key)
                .then(|| RepoRef::DataCenter {
                    key: p.key.clone(),
                    slug: slug.clone(),
                })
        });
        return Some(GitPath {
            repo: found,
            rest: rest.join("/"),
        });
    }
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let (workspace, repo, rest) = match segments.as_slice() {
        [ws, repo, rest @ ..] if is_git_rest(rest) => (*ws, strip_git(repo), rest),
        _ => return None,
    };
    let found = state
        .cloud
        .workspaces
        .iter()
        .filter(|w| w.slug == workspace)
        .flat_map(|w| w.repositories.iter().map(move |r| (w, r)))
        .find(|(_, r)| r.slug == repo)
        .map(|(w, r)| RepoRef::Cloud {
            workspace: w.slug.clone(),
            slug: r.slug.clone(),
        });
    Some(GitPath {
        repo: found,
        rest: rest.join("/"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{CloudFixture, CloudRepository, DcProject, Fixture, Workspace};

    fn state() -> SimState {
        let mut fixture = Fixture {
            cloud: CloudFixture {
                workspaces: vec![Workspace {
                    slug: "acme".into(),
                    repositories: vec![CloudRepository {
                        name: None,
                        slug: "api".into(),
                        ..CloudRepository::default()
                    }],
                    ..Workspace::default()
                }],
                users: vec![],
            },
            ..Fixture::default()
        };
        fixture.data_center.projects = vec![DcProject {
            key: "OPS".into(),
            name: "Ops".into(),
            repositories: vec!["deploy".into()],
            ..DcProject::default()
        }];
        SimState::new(fixture, 1)
    }

    #[test]
    fn cloud_paths_with_and_without_dot_git() {
        let state = state();
        let expected = Some(RepoRef::Cloud {
            workspace: "acme".into(),
            slug: "api".into(),
        });
        for path in ["/acme/api.git/info/refs", "/acme/api/info/refs"] {
            let parsed = parse(&state, path).unwrap();
            assert_eq!(parsed.repo, expected, "{path}");
            assert_eq!(parsed.rest, "info/refs");
        }
        let post = parse(&state, "/acme/api.git/git-receive-pack").unwrap();
        assert_eq!(post.service(None), GitService::ReceivePack);
        let refs = parse(&state, "/acme/api.git/info/refs").unwrap();
        assert_eq!(
            refs.service(Some("service=git-receive-pack")),
            GitService::ReceivePack
        );
        assert_eq!(
            refs.service(Some("service=git-upload-pack")),
            GitService::UploadPack
        );
        assert_eq!(
            parse(&state, "/acme/other.git/info/refs").unwrap().repo,
            None
        );
        assert_eq!(parse(&state, "/acme/api.git/README"), None);
        assert_eq!(parse(&state, "/acme"), None);
    }

    #[test]
    fn dc_paths_ignore_key_case() {
        let state = state();
        for path in [
            "/bitbucket/scm/OPS/deploy.git/info/refs",
            "/bitbucket/scm/ops/deploy.git/info/refs",
            "/bitbucket/scm/Ops/deploy/git-upload-pack",
        ] {
            let parsed = parse(&state, path).unwrap();
            assert_eq!(
                parsed.repo,
                Some(RepoRef::DataCenter {
                    key: "OPS".into(),
                    slug: "deploy".into()
                }),
                "{path}"
            );
        }
        assert_eq!(
            parse(&state, "/bitbucket/scm/OPS/nope.git/info/refs")
                .unwrap()
                .repo,
            None
        );
    }
}
