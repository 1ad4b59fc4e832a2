//! Which scopes (Cloud) and permissions (Data Center) a requested access level needs.
//! The readings where Atlassian's documentation is silent are listed in docs/bitbucket-validation.md.

use crate::api::{Permission, TokenKind};

/// The two naming schemes of Cloud scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeNames {
    /// Access tokens and app passwords: `repository`, `repository:write`, `repository:admin`.
    Classic,
    /// Atlassian API tokens: `read:repository:bitbucket`, `write:repository:bitbucket`, ...
    Granular,
}

impl ScopeNames {
    pub fn for_kind(kind: TokenKind) -> Self {
        if kind == TokenKind::ApiToken {
            ScopeNames::Granular
        } else {
            ScopeNames::Classic
        }
    }

    /// Groups of scopes the level needs: every group must be satisfied by one of its members.
    fn needed(self, level: Permission) -> Vec<&'static [&'static str]> {
        match self {
            // `repository:write` is documented as "read and modify", so it satisfies read; nothing
            // documents what `repository:admin` implies, so it is required alongside write.
            ScopeNames::Classic => match level {
                Permission::Read => vec![&["repository", "repository:write"]],
                Permission::Write => vec![&["repository:write"]],
                Permission::Admin => vec![&["repository:write"], &["repository:admin"]],
            },
            // Documented: write:repository does not imply read:repository; push needs both.
            ScopeNames::Granular => match level {
                Permission::Read => vec![&["read:repository:bitbucket"]],
                Permission::Write => vec![
                    &["read:repository:bitbucket"],
                    &["write:repository:bitbucket"],
                ],
                Permission::Admin => vec![
                    &["read:repository:bitbucket"],
                    &["write:repository:bitbucket"],
                    &["admin:repository:bitbucket"],
                ],
            },
        }
    }

    /// The scopes missing from `granted` for `level` (empty when it is enough).
    pub fn missing(self, level: Permission, granted: &[String]) -> Vec<String> {
        self.needed(level)
            .into_iter()
            .filter(|group| !group.iter().any(|s| granted.iter().any(|g| g == s)))
            .map(|group| group[0].to_string())
            .collect()
    }

    /// What to do about missing scopes, in words a person can follow.
    pub fn fix(self, kind: TokenKind, level: Permission) -> String {
        let action = match level {
            Permission::Read => "clone and fetch",
            Permission::Write => "push",
            Permission::Admin => "administer the repositories",
        };
        let scopes = self
            .needed(level)
            .into_iter()
            .map(|group| group[0])
            .collect::<Vec<_>>()
            .join(", ");
        let what = match kind {
            TokenKind::AppPassword => "an API token (app passwords are gone)",
            TokenKind::ApiToken => "an API token",
            TokenKind::RepositoryAccessToken => "a repository access token",
            TokenKind::ProjectAccessToken => "a project access token",
            TokenKind::WorkspaceAccessToken => "a workspace access token",
            TokenKind::HttpAccessToken => "an HTTP access token",
        };
        format!(
            "{action} will fail: create {what} with the scopes {scopes} and put it into the source Secret."
        )
    }
}

/// A Cloud user's role on a repository (`/user/workspaces/{ws}/permissions/repositories`).
pub fn cloud_role_level(role: &str) -> Option<Permission> {
    match role {
        "read" => Some(Permission::Read),
        "write" => Some(Permission::Write),
        "admin" => Some(Permission::Admin),
        _ => None,
    }
}

/// The Data Center repository permission a level needs.
pub fn dc_repo_permission(level: Permission) -> &'static str {
    match level {
        Permission::Read => "REPO_READ",
        Permission::Write => "REPO_WRITE",
        Permission::Admin => "REPO_ADMIN",
    }
}

/// The level a Data Center token's permission list grants on repositories: the higher of its
/// repository and project permission (a project permission covers the project's repositories).
pub fn dc_effective_level(permissions: &[String]) -> Option<Permission> {
    permissions
        .iter()
        .filter_map(|p| match p.as_str() {
            "REPO_READ" | "PROJECT_READ" => Some(Permission::Read),
            "REPO_WRITE" | "PROJECT_WRITE" => Some(Permission::Write),
            "REPO_ADMIN" | "PROJECT_ADMIN" => Some(Permission::Admin),
            _ => None,
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn classic_scopes() {
        let c = ScopeNames::Classic;
        assert!(c.missing(Permission::Read, &s(&["repository"])).is_empty());
        assert!(
            c.missing(Permission::Read, &s(&["repository:write"]))
                .is_empty()
        );
        assert_eq!(
            c.missing(Permission::Read, &s(&["pullrequest"])),
            s(&["repository"])
        );
        assert_eq!(
            c.missing(Permission::Write, &s(&["repository"])),
            s(&["repository:write"])
        );
        assert!(
            c.missing(Permission::Write, &s(&["repository", "repository:write"]))
                .is_empty()
        );
        assert_eq!(
            c.missing(Permission::Admin, &s(&["repository:write"])),
            s(&["repository:admin"])
        );
    }

    #[test]
    fn granular_write_needs_read_too() {
        let g = ScopeNames::Granular;
        assert_eq!(
            g.missing(Permission::Write, &s(&["write:repository:bitbucket"])),
            s(&["read:repository:bitbucket"])
        );
        assert!(
            g.missing(
                Permission::Write,
                &s(&["read:repository:bitbucket", "write:repository:bitbucket"])
            )
            .is_empty()
        );
        assert!(
            g.fix(TokenKind::ApiToken, Permission::Write)
                .contains("read:repository:bitbucket, write:repository:bitbucket")
        );
    }

    #[test]
    fn dc_levels() {
        assert_eq!(
            dc_effective_level(&s(&["PROJECT_READ", "REPO_WRITE"])),
            Some(Permission::Write)
        );
        assert_eq!(
            dc_effective_level(&s(&["PROJECT_ADMIN"])),
            Some(Permission::Admin)
        );
        assert_eq!(dc_effective_level(&s(&[])), None);
        assert_eq!(dc_repo_permission(Permission::Write), "REPO_WRITE");
    }
}
