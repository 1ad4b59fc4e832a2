//! Who may see what on Bitbucket Cloud: scope requirements per endpoint and the
//! resource bindings of each credential kind.
//!
//! Scopes: access tokens and app passwords use the classic names (`repository`,
//! `project`, ...; bitbucket-api.md §1, C); a wider scope such as `repository:write`
//! also grants `repository` (I). API tokens use `read:*:bitbucket` names and
//! `write:repository:bitbucket` does not imply `read:repository:bitbucket` (C).

use crate::fixture::{CloudRepository, CloudUser, RepoPermission, SimTokenKind, TokenFixture};
use crate::state::SimState;

/// Which kind of data an endpoint returns (decides the scope it needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Repository,
    Workspace,
    Project,
    User,
    RepositoryPermissions,
}

const REPOSITORY_READ: [&str; 6] = [
    "repository",
    "repository:write",
    "repository:admin",
    "repository:delete",
    "pullrequest",
    "pullrequest:write",
];
const PROJECT_READ: [&str; 2] = ["project", "project:admin"];

/// `Err(required)` when `token` lacks the scope `need` requires.
pub(crate) fn check_scope(token: &TokenFixture, need: Need) -> Result<(), Vec<&'static str>> {
    let (accepted, required): (&[&str], &'static str) = if token.kind == SimTokenKind::ApiToken {
        match need {
            Need::Repository | Need::RepositoryPermissions => {
                (&["read:repository:bitbucket"], "read:repository:bitbucket")
            }
            Need::Workspace => (&["read:workspace:bitbucket"], "read:workspace:bitbucket"),
            Need::Project => (&["read:project:bitbucket"], "read:project:bitbucket"),
            Need::User => (&["read:user:bitbucket"], "read:user:bitbucket"),
        }
    } else {
        match need {
            Need::Repository | Need::RepositoryPermissions => (&REPOSITORY_READ, "repository"),
            Need::Project => (&PROJECT_READ, "project"),
            Need::Workspace | Need::User => return Ok(()),
        }
    };
    if token.scopes.iter().any(|s| accepted.contains(&s.as_str())) {
        Ok(())
    } else {
        Err(vec![required])
    }
}

/// `X-Credential-Type` value (bitbucket-api.md §3: `repo_access_token`, `apikey` seen; the
/// others follow the same pattern, I).
pub(crate) fn credential_type(kind: SimTokenKind) -> &'static str {
    match kind {
        SimTokenKind::RepositoryAccessToken => "repo_access_token",
        SimTokenKind::ProjectAccessToken => "project_access_token",
        SimTokenKind::WorkspaceAccessToken => "workspace_access_token",
        SimTokenKind::ApiToken => "apikey",
        SimTokenKind::AppPassword => "app_password",
        SimTokenKind::DcPersonal | SimTokenKind::DcProject | SimTokenKind::DcRepository => {
            "unknown"
        }
    }
}

/// The account behind a user-bound credential.
pub(crate) fn owner<'a>(state: &'a SimState, token: &TokenFixture) -> Option<&'a CloudUser> {
    match token.kind {
        SimTokenKind::ApiToken | SimTokenKind::AppPassword => {
            state.cloud_user(token.user.as_deref())
        }
        _ => None,
    }
}

/// The user's permission on `workspace/slug`, if any.
pub(crate) fn user_permission(
    user: &CloudUser,
    workspace: &str,
    slug: &str,
) -> Option<RepoPermission> {
    user.permissions
        .get(&format!("{workspace}/{slug}"))
        .copied()
}

fn bound_workspace(token: &TokenFixture, workspace: &str) -> bool {
    token.workspace.as_deref() == Some(workspace)
}

/// Whether `token` may read the (private) repository `workspace/repo`.
pub(crate) fn can_read_repository(
    state: &SimState,
    token: &TokenFixture,
    workspace: &str,
    repo: &CloudRepository,
) -> bool {
    match token.kind {
        SimTokenKind::RepositoryAccessToken => {
            bound_workspace(token, workspace) && token.repository.as_deref() == Some(&repo.slug)
        }
        SimTokenKind::ProjectAccessToken => {
            bound_workspace(token, workspace) && token.project.as_deref() == Some(&repo.project)
        }
        SimTokenKind::WorkspaceAccessToken => bound_workspace(token, workspace),
        SimTokenKind::ApiToken | SimTokenKind::AppPassword => owner(state, token)
            .and_then(|user| user_permission(user, workspace, &repo.slug))
            .is_some(),
        SimTokenKind::DcPersonal | SimTokenKind::DcProject | SimTokenKind::DcRepository => false,
    }
}

/// Whether `token` may read workspace `workspace` (access tokens of that workspace, or
/// accounts with a permission on one of its repositories).
pub(crate) fn can_read_workspace(state: &SimState, token: &TokenFixture, workspace: &str) -> bool {
    if token.kind.is_cloud_access_token() {
        return bound_workspace(token, workspace);
    }
    let prefix = format!("{workspace}/");
    owner(state, token).is_some_and(|user| user.permissions.keys().any(|k| k.starts_with(&prefix)))
}

/// Whether `token` may read project `key` of `workspace`.
pub(crate) fn can_read_project(
    state: &SimState,
    token: &TokenFixture,
    workspace: &str,
    key: &str,
    repositories: &[CloudRepository],
) -> bool {
    match token.kind {
        SimTokenKind::WorkspaceAccessToken => bound_workspace(token, workspace),
        SimTokenKind::ProjectAccessToken => {
            bound_workspace(token, workspace) && token.project.as_deref() == Some(key)
        }
        _ => repositories
            .iter()
            .filter(|r| r.project == key)
            .any(|r| can_read_repository(state, token, workspace, r)),
    }
}
