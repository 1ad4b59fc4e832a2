//! The URLs the credentials are scoped to: the narrowest prefixes that cover `access`.
//!
//! Git matches `http.<url>.*` and `credential.<url>.*` sections by scheme, host and port, then by path
//! prefix on segment boundaries: `https://h/ws/repo` matches `/ws/repo`, `/ws/repo/` and
//! `/ws/repo/info/refs`, but neither `/ws/repo.git` nor `/ws/repo-fork`. A repository therefore gets
//! two sections (with and without `.git`), and a workspace or project gets one section ending in `/`.
//! Path comparison is case-sensitive, so a Data Center project key is written in its given, upper
//! and lower case spellings (clone URLs use either).

use std::collections::BTreeSet;

use url::Url;

use super::{GitServer, RenderError};
use crate::api::AccessSpec;

/// Where the credentials apply, as URL paths under one origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// `host[:port]` (default port omitted).
    authority: String,
    /// Context path without a trailing slash: empty, or e.g. `/bitbucket`.
    base_path: String,
    /// Every path spelling git may use for the target; one config section each.
    match_paths: Vec<String>,
    /// One canonical path per target: each repository's clone path, or else the covering prefix.
    target_paths: Vec<String>,
    /// The workspace (Cloud) or project (Data Center) prefix, ending in `/`.
    covering_path: String,
    single_repository: bool,
}

impl Scope {
    pub(crate) fn new(server: &GitServer, access: &AccessSpec) -> Result<Self, RenderError> {
        let (base, is_cloud) = match server {
            GitServer::Cloud { git_base } => (git_base, true),
            GitServer::DataCenter { base } => (base, false),
        };
        let (authority, base_path) = split_base(base)?;
        let repositories = access
            .repositories
            .iter()
            .map(|slug| segment("access.repositories entry", slug, false))
            .collect::<Result<BTreeSet<_>, _>>()?;

        // Directories that hold the repositories, in every spelling; the first is canonical.
        let directories: Vec<String> = if is_cloud {
            let workspace = access
                .workspace
                .as_deref()
                .ok_or(RenderError::MissingWorkspace)?;
            let workspace = segment("access.workspace", workspace, false)?;
            vec![format!("{base_path}/{workspace}/")]
        } else {
            let key = access
                .project
                .as_deref()
                .ok_or(RenderError::MissingProject)?;
            let key = segment("access.project", key, true)?;
            let mut spellings = vec![key.to_ascii_lowercase()];
            for spelling in [key.to_string(), key.to_ascii_uppercase()] {
                if !spellings.contains(&spelling) {
                    spellings.push(spelling);
                }
            }
            spellings
                .iter()
                .map(|key| format!("{base_path}/scm/{key}/"))
                .collect()
        };
        let covering_path = directories.first().cloned().unwrap_or_default();

        let (match_paths, target_paths) = if repositories.is_empty() {
            (directories, vec![covering_path.clone()])
        } else {
            let mut matches = Vec::new();
            let mut targets = Vec::new();
            for slug in &repositories {
                targets.push(format!("{covering_path}{slug}.git"));
                for directory in &directories {
                    matches.push(format!("{directory}{slug}"));
                    matches.push(format!("{directory}{slug}.git"));
                }
            }
            (matches, targets)
        };

        Ok(Scope {
            authority,
            base_path,
            match_paths,
            target_paths,
            covering_path,
            single_repository: repositories.len() == 1,
        })
    }

    /// `https://host[:port]`.
    pub(crate) fn origin(&self) -> String {
        format!("https://{}", self.authority)
    }

    /// `host[:port]`, as written after `@` in a `.git-credentials` line.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// Scheme, host, port and context path: what Tekton's `tekton.dev/git-N` annotation names.
    pub(crate) fn git_base(&self) -> String {
        format!("{}{}", self.origin(), self.base_path)
    }

    /// The URL of every `http.<url>` / `credential.<url>` section to write.
    pub(crate) fn match_urls(&self) -> Vec<String> {
        self.match_paths
            .iter()
            .map(|path| format!("{}{path}", self.origin()))
            .collect()
    }

    /// One canonical path per target (repository clone paths, or the covering prefix).
    pub(crate) fn target_paths(&self) -> &[String] {
        &self.target_paths
    }

    /// The repository clone URL when `access` names exactly one repository.
    pub(crate) fn single_repository_url(&self) -> Option<String> {
        match (self.single_repository, self.target_paths.first()) {
            (true, Some(path)) => Some(format!("{}{path}", self.origin())),
            _ => None,
        }
    }

    /// The workspace or project prefix URL (ends in `/`).
    pub(crate) fn covering_url(&self) -> String {
        format!("{}{}", self.origin(), self.covering_path)
    }
}

/// Splits a base URL into authority and context path, refusing what cannot be a git base.
fn split_base(base: &Url) -> Result<(String, String), RenderError> {
    let invalid = |problem| RenderError::InvalidBaseUrl {
        url: without_secrets(base),
        problem,
    };
    if base.scheme() != "https" {
        return Err(invalid("the scheme is not https"));
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(invalid("it contains user info"));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(invalid("it contains a query or fragment"));
    }
    // Git compares `credential.<url>` sections with a URL whose path it percent-encodes (everything
    // but RFC 3986 unreserved characters and `/`), and `http.<url>` sections with the path as
    // written: a context path with any other character (`:`, `!`, `$`, `%`, ...) can match one
    // and never the other, so the GitCredentials format would silently send nothing.
    if !base
        .path()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '~'))
    {
        return Err(invalid(
            "its path may contain only letters, digits and / - . _ ~ (git matches other characters inconsistently)",
        ));
    }
    // An empty segment (`//`) in the context path: git normalizes the URLs it compares, and the
    // property tests found `http.<url>` and `credential.<url>` sections disagreeing on it.
    if base.path().trim_end_matches('/').contains("//") {
        return Err(invalid(
            "its path has an empty segment (//), which git matches inconsistently",
        ));
    }
    let host = base.host_str().ok_or_else(|| invalid("it has no host"))?;
    // Git's URL matching (urlmatch.c, url_normalize) accepts only these characters in a host and
    // ignores a `http.<url>`/`credential.<url>` section whose host has any other (found by the
    // property tests: `https://=`).
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ':' | ']'))
    {
        return Err(invalid(
            "its host may contain only letters, digits and . - _ (git ignores sections for other hosts)",
        ));
    }
    let authority = match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    Ok((authority, base.path().trim_end_matches('/').to_string()))
}

/// The URL for an error message, without user info, query or fragment (they may hold secrets).
fn without_secrets(url: &Url) -> String {
    let mut shown = url.clone();
    // Both calls fail only for URLs that cannot have user info, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// One URL path segment from the spec: letters, digits, `.`, `_`, `-` (and a leading `~` for Data
/// Center personal project keys). `.` and `..` are refused: git would normalise them away and
/// widen the scope to the parent directory.
fn segment<'a>(
    field: &'static str,
    value: &'a str,
    allow_tilde: bool,
) -> Result<&'a str, RenderError> {
    let body = match value.strip_prefix('~') {
        Some(rest) if allow_tilde => rest,
        _ => value,
    };
    let ok = !body.is_empty()
        && body != "."
        && body != ".."
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(value)
    } else {
        Err(RenderError::InvalidUrlSegment {
            field,
            value: value.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Permission;

    fn access(workspace: Option<&str>, project: Option<&str>, repos: &[&str]) -> AccessSpec {
        AccessSpec {
            workspace: workspace.map(str::to_string),
            project: project.map(str::to_string),
            repositories: repos.iter().map(|r| r.to_string()).collect(),
            permission: Permission::Read,
        }
    }

    fn cloud() -> GitServer {
        GitServer::Cloud {
            git_base: Url::parse("https://bitbucket.org").unwrap(),
        }
    }

    fn dc(url: &str) -> GitServer {
        GitServer::DataCenter {
            base: Url::parse(url).unwrap(),
        }
    }

    #[test]
    fn cloud_workspace_and_project_use_the_workspace_prefix() {
        for project in [None, Some("PAY")] {
            let scope = Scope::new(&cloud(), &access(Some("acme"), project, &[])).unwrap();
            assert_eq!(scope.match_urls(), ["https://bitbucket.org/acme/"]);
            assert_eq!(scope.target_paths(), ["/acme/"]);
            assert_eq!(scope.covering_url(), "https://bitbucket.org/acme/");
            assert_eq!(scope.single_repository_url(), None);
            assert_eq!(scope.git_base(), "https://bitbucket.org");
        }
    }

    #[test]
    fn cloud_repositories_get_both_spellings_sorted_and_deduplicated() {
        let scope = Scope::new(
            &cloud(),
            &access(Some("acme"), None, &["payments", "ledger", "payments"]),
        )
        .unwrap();
        assert_eq!(
            scope.match_urls(),
            [
                "https://bitbucket.org/acme/ledger",
                "https://bitbucket.org/acme/ledger.git",
                "https://bitbucket.org/acme/payments",
                "https://bitbucket.org/acme/payments.git",
            ]
        );
        assert_eq!(
            scope.target_paths(),
            ["/acme/ledger.git", "/acme/payments.git"]
        );
        assert_eq!(scope.single_repository_url(), None);
    }

    #[test]
    fn data_center_project_covers_every_key_spelling_under_the_context_path() {
        let scope = Scope::new(
            &dc("https://git.example.com:8443/bitbucket/"),
            &access(None, Some("Pay"), &[]),
        )
        .unwrap();
        assert_eq!(
            scope.match_urls(),
            [
                "https://git.example.com:8443/bitbucket/scm/pay/",
                "https://git.example.com:8443/bitbucket/scm/Pay/",
                "https://git.example.com:8443/bitbucket/scm/PAY/",
            ]
        );
        assert_eq!(scope.git_base(), "https://git.example.com:8443/bitbucket");
        assert_eq!(scope.authority(), "git.example.com:8443");
        assert_eq!(scope.target_paths(), ["/bitbucket/scm/pay/"]);
    }

    #[test]
    fn data_center_single_repository() {
        let scope = Scope::new(
            &dc("https://git.example.com"),
            &access(None, Some("PAY"), &["payments"]),
        )
        .unwrap();
        assert_eq!(
            scope.match_urls(),
            [
                "https://git.example.com/scm/pay/payments",
                "https://git.example.com/scm/pay/payments.git",
                "https://git.example.com/scm/PAY/payments",
                "https://git.example.com/scm/PAY/payments.git",
            ]
        );
        assert_eq!(
            scope.single_repository_url().as_deref(),
            Some("https://git.example.com/scm/pay/payments.git")
        );
        assert_eq!(scope.git_base(), "https://git.example.com");
    }

    #[test]
    fn personal_project_keys_keep_their_tilde() {
        let scope = Scope::new(
            &dc("https://git.example.com"),
            &access(None, Some("~alice"), &[]),
        )
        .unwrap();
        assert_eq!(
            scope.match_urls(),
            [
                "https://git.example.com/scm/~alice/",
                "https://git.example.com/scm/~ALICE/",
            ]
        );
    }

    #[test]
    fn missing_or_unsafe_names_are_refused() {
        assert_eq!(
            Scope::new(&cloud(), &access(None, Some("PAY"), &[])),
            Err(RenderError::MissingWorkspace)
        );
        assert_eq!(
            Scope::new(&dc("https://h"), &access(None, None, &[])),
            Err(RenderError::MissingProject)
        );
        for bad in ["..", ".", "", "a/b", "a b", "a\"b", "~x", "a%2f", "a\nb"] {
            let err = Scope::new(&cloud(), &access(Some("acme"), None, &[bad])).unwrap_err();
            assert!(
                matches!(
                    err,
                    RenderError::InvalidUrlSegment {
                        field: "access.repositories entry",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
        assert!(Scope::new(&cloud(), &access(Some("../x"), None, &[])).is_err());
        assert!(Scope::new(&dc("https://h"), &access(None, Some("~.."), &[])).is_err());
    }

    #[test]
    fn base_urls_must_be_plain_https() {
        for (url, problem) in [
            ("http://git.example.com", "the scheme is not https"),
            ("https://u:p@git.example.com", "it contains user info"),
            (
                "https://git.example.com/?x=1",
                "it contains a query or fragment",
            ),
            (
                "https://git.example.com/#f",
                "it contains a query or fragment",
            ),
        ] {
            let err = Scope::new(&dc(url), &access(None, Some("PAY"), &[])).unwrap_err();
            assert!(!err.to_string().contains("u:p"), "{err}");
            assert_eq!(
                Scope::new(&dc(url), &access(None, Some("PAY"), &[])),
                Err(RenderError::InvalidBaseUrl {
                    url: without_secrets(&Url::parse(url).unwrap()),
                    problem
                })
            );
        }
    }
}
