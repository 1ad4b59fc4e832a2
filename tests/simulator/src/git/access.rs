//! Who may clone and push over HTTPS: exactly the documented authentication forms per kind.
//!
//! - Cloud access tokens (repository, project, workspace): Basic `x-token-auth:<token>` only.
//!   Atlassian documents this form for git ("Repository Cloning" in the Cloud 2.0 OpenAPI
//!   document's introduction; <https://support.atlassian.com/bitbucket-cloud/docs/using-access-tokens/>)
//!   and documents Bearer only for the REST API, so Bearer on a git path is refused (401).
//! - Cloud API tokens: Basic with the Bitbucket **username** or `x-bitbucket-api-token-auth`,
//!   never the email, never Bearer (<https://support.atlassian.com/bitbucket-cloud/docs/using-api-tokens/>).
//! - App passwords: Basic with the username.
//! - Data Center personal tokens: Bearer, or Basic `<user slug>:<token>`; Data Center project and
//!   repository tokens: Bearer only ("In Git and API calls, you can use the project and repository
//!   level token only with Bearer authentication",
//!   <https://confluence.atlassian.com/bitbucketserver091/http-access-tokens-1443038354.html>).
//! - Two `Authorization` headers: 400 (see [`crate::auth::Credentials::Duplicate`]).
//!
//! Authorization: upload-pack needs read, receive-pack needs write. Cloud access tokens and
//! app passwords read with `repository` (or a wider scope) and write with `repository:write`
//! (I); API tokens need `read:repository:bitbucket`, plus `write:repository:bitbucket` to
//! push (C: write does not imply read). User-bound credentials are capped by the user's
//! permission; bound tokens only reach their workspace/project/repository. Data Center uses
//! the effective `REPO_*`/`PROJECT_*` level (see `datacenter::access`).

use chrono::Utc;

use super::path::{GitService, RepoRef};
use crate::auth::{Credentials, TOKEN_AUTH_USER};
use crate::fixture::{RepoPermission, SimTokenKind, TokenFixture};
use crate::state::SimState;

/// Basic user name git accepts for Cloud API tokens besides the account's username.
pub(crate) const API_TOKEN_AUTH_USER: &str = "x-bitbucket-api-token-auth";

const CLOUD_WRITE_SCOPE: &str = "repository:write";
const API_READ_SCOPE: &str = "read:repository:bitbucket";
const API_WRITE_SCOPE: &str = "write:repository:bitbucket";

/// What to do with a git request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Serve it; `remote_user` becomes `REMOTE_USER` for `git http-backend`.
    Allow { remote_user: Option<String> },
    /// 401 with `WWW-Authenticate: Basic realm="Bitbucket"`: no, unknown, revoked, expired or
    /// wrongly presented credentials.
    Unauthorized,
    /// 403: the credentials are good but do not reach this repository or operation.
    Forbidden(Denial),
}

/// Why good credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    /// Bound elsewhere, or the user has no permission on the repository.
    Unreachable,
    /// A scope that allows reading repositories is missing.
    ReadScopeMissing,
    /// Read-only credentials tried to push.
    ReadOnly,
}

impl Denial {
    /// The body of the 403 answer (git shows only the status; people read the body).
    pub fn message(self) -> &'static str {
        match self {
            Self::Unreachable => "Forbidden: the credentials have no access to this repository\n",
            Self::ReadScopeMissing => {
                "Forbidden: the credentials lack the scope to read repositories\n"
            }
            Self::ReadOnly => {
                "Forbidden: the credentials have no write permission on this repository\n"
            }
        }
    }
}

/// Decides on `service` for `repo` with `credentials`.
pub(crate) fn decide(
    state: &SimState,
    credentials: &Credentials,
    repo: &RepoRef,
    service: GitService,
) -> Decision {
    let token = match credentials {
        Credentials::None => {
            return if public_read(state, repo) && !service.writes() {
                Decision::Allow { remote_user: None }
            } else {
                Decision::Unauthorized
            };
        }
        Credentials::Malformed | Credentials::Duplicate => return Decision::Unauthorized,
        Credentials::Bearer(secret) | Credentials::Basic { secret, .. } => {
            match state.token_by_secret(secret) {
                Some(token) => token,
                None => return Decision::Unauthorized,
            }
        }
    };
    let expired = token.expires_at.is_some_and(|at| at <= Utc::now());
    if token.revoked || expired || !presented_correctly(state, &token, credentials, repo) {
        return Decision::Unauthorized;
    }
    state.mark_authenticated(&token.name);
    let needed = if service.writes() {
        RepoPermission::Write
    } else {
        RepoPermission::Read
    };
    match level(state, &token, repo) {
        Err(why) => Decision::Forbidden(why),
        Ok(level) if level < needed => Decision::Forbidden(Denial::ReadOnly),
        Ok(_) => Decision::Allow {
            remote_user: Some(acting_user(state, &token, credentials)),
        },
    }
}

fn public_read(state: &SimState, repo: &RepoRef) -> bool {
    match repo {
        RepoRef::Cloud { workspace, slug } => state
            .cloud
            .workspaces
            .iter()
            .filter(|w| &w.slug == workspace)
            .flat_map(|w| &w.repositories)
            .any(|r| &r.slug == slug && !r.private),
        RepoRef::DataCenter { .. } => false,
    }
}

/// The scheme and user fit the token kind and the platform of the repository.
fn presented_correctly(
    state: &SimState,
    token: &TokenFixture,
    credentials: &Credentials,
    repo: &RepoRef,
) -> bool {
    let cloud_repo = matches!(repo, RepoRef::Cloud { .. });
    if token.kind.is_cloud() != cloud_repo {
        return false;
    }
    let owner_name = || match token.kind {
        SimTokenKind::DcPersonal => state.dc_user(token.user.as_deref()).map(|u| u.slug.clone()),
        _ => state
            .cloud_user(token.user.as_deref())
            .map(|u| u.username.clone()),
    };
    match (credentials, token.kind) {
        (Credentials::Bearer(_), kind) => kind.is_data_center(),
        (Credentials::Basic { user, .. }, kind) if kind.is_cloud_access_token() => {
            user == TOKEN_AUTH_USER
        }
        (Credentials::Basic { user, .. }, SimTokenKind::ApiToken) => {
            user == API_TOKEN_AUTH_USER || owner_name().is_some_and(|name| &name == user)
        }
        (Credentials::Basic { user, .. }, SimTokenKind::AppPassword) => {
            owner_name().is_some_and(|name| &name == user)
        }
        (Credentials::Basic { user, .. }, SimTokenKind::DcPersonal) => {
            owner_name().is_some_and(|name| name.eq_ignore_ascii_case(user))
        }
        _ => false,
    }
}

fn has_scope(token: &TokenFixture, accepted: &[&str]) -> bool {
    token.scopes.iter().any(|s| accepted.contains(&s.as_str()))
}

/// The token's level on `repo`, or why it has none.
fn level(state: &SimState, token: &TokenFixture, repo: &RepoRef) -> Result<RepoPermission, Denial> {
    match repo {
        RepoRef::DataCenter { key, slug } => {
            crate::datacenter::repository_level(state, token, key, slug).ok_or(Denial::Unreachable)
        }
        RepoRef::Cloud { workspace, slug } => cloud_level(state, token, workspace, slug),
    }
}

fn cloud_level(
    state: &SimState,
    token: &TokenFixture,
    workspace: &str,
    slug: &str,
) -> Result<RepoPermission, Denial> {
    let repository = state
        .cloud
        .workspaces
        .iter()
        .filter(|w| w.slug == workspace)
        .flat_map(|w| &w.repositories)
        .find(|r| r.slug == slug)
        .ok_or(Denial::Unreachable)?;
    if !crate::cloud::can_read_repository(state, token, workspace, repository) {
        return Err(Denial::Unreachable);
    }
    let (read, write) = if token.kind == SimTokenKind::ApiToken {
        (
            has_scope(token, &[API_READ_SCOPE]),
            has_scope(token, &[API_READ_SCOPE]) && has_scope(token, &[API_WRITE_SCOPE]),
        )
    } else {
        (
            crate::cloud::grants(&token.scopes, "repository"),
            has_scope(token, &[CLOUD_WRITE_SCOPE]),
        )
    };
    if !read {
        return Err(Denial::ReadScopeMissing);
    }
    let scoped = if write {
        RepoPermission::Write
    } else {
        RepoPermission::Read
    };
    let user_cap = crate::cloud::owner(state, token)
        .and_then(|user| crate::cloud::user_permission(user, workspace, slug));
    Ok(match user_cap {
        Some(cap) => scoped.min(cap),
        None => scoped,
    })
}

/// `REMOTE_USER` for the CGI (and the push log): the account or bot the token acts as.
fn acting_user(state: &SimState, token: &TokenFixture, credentials: &Credentials) -> String {
    match (credentials, token.kind) {
        (_, kind) if kind.is_data_center() => crate::datacenter::identity(state, token).name,
        (_, SimTokenKind::ApiToken | SimTokenKind::AppPassword) => {
            token.user.clone().unwrap_or_default()
        }
        (Credentials::Basic { user, .. }, _) => user.clone(),
        _ => TOKEN_AUTH_USER.to_owned(),
    }
}
