//! Who may see what on Bitbucket Cloud: scope requirements per endpoint and the
//! resource bindings of each credential kind.
//!
//! Scopes: what each operation requires comes from the OpenAPI document (`crate::contract`).
//! Access tokens and app passwords hold classic names (`repository`, `project`, ...;
//! bitbucket-api.md §1, C); API tokens hold `read:*:bitbucket` names.

use crate::contract::Operation;
use crate::fixture::{CloudRepository, CloudUser, RepoPermission, SimTokenKind, TokenFixture};
use crate::state::SimState;

/// Classic scopes that also grant `repository`, and those that grant `project`: Atlassian's
/// scope list describes `repository:write`, `repository:admin` and `pullrequest` as including
/// repository read access, and `project:admin` project read access (I for `repository:delete`
/// and `pullrequest:write`, which are read here as wider).
const IMPLIES: [(&str, &[&str]); 2] = [
    (
        "repository",
        &[
            "repository:write",
            "repository:admin",
            "repository:delete",
            "pullrequest",
            "pullrequest:write",
        ],
    ),
    ("project", &["project:admin"]),
];

/// Whether `granted` holds `scope` itself or a wider scope that includes it.
pub(crate) fn grants(granted: &[String], scope: &str) -> bool {
    granted.iter().any(|g| g == scope)
        || IMPLIES
            .iter()
            .filter(|(implied, _)| *implied == scope)
            .any(|(_, wider)| granted.iter().any(|g| wider.contains(&g.as_str())))
}

/// `Err(required)` when `token` lacks a scope `operation` requires: API tokens are checked
/// against the document's `x-atlassian-oauth2-scopes` (exact names: `write:repository:bitbucket`
/// does not grant `read:repository:bitbucket`, C), other kinds against `security[].oauth2`.
pub(crate) fn check_scope(
    token: &TokenFixture,
    operation: &Operation,
) -> Result<(), Vec<&'static str>> {
    let required: &[&'static str] = if token.kind == SimTokenKind::ApiToken {
        operation.granular_scopes
    } else {
        operation.oauth2_scopes
    };
    let missing: Vec<&'static str> = required
        .iter()
        .copied()
        .filter(|scope| {
            if token.kind == SimTokenKind::ApiToken {
                !token.scopes.iter().any(|g| g == scope)
            } else {
                !grants(&token.scopes, scope)
            }
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
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
