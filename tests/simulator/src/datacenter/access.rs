//! Who may see what on Bitbucket Data Center, and who a token acts as.
//!
//! Token permissions `REPO_*`/`PROJECT_*`, where a project permission covers the
//! project's repositories and repository tokens hold no project permission (C). The
//! effective level of a token on a repository is the best of its permissions that
//! apply there; a personal token is further capped by its owner's own permission (I,
//! as is the bot naming of project/repository tokens).

use crate::fixture::{DcProject, RepoPermission, SimTokenKind, TokenFixture};
use crate::ids::numeric_id;
use crate::state::SimState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Repository(RepoPermission),
    Project(RepoPermission),
}

fn parse(permission: &str) -> Option<Level> {
    let level = |name: &str| match name {
        "READ" => Some(RepoPermission::Read),
        "WRITE" => Some(RepoPermission::Write),
        "ADMIN" => Some(RepoPermission::Admin),
        _ => None,
    };
    let upper = permission.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("REPO_") {
        level(rest).map(Level::Repository)
    } else if let Some(rest) = upper.strip_prefix("PROJECT_") {
        level(rest).map(Level::Project)
    } else {
        None
    }
}

/// Best level among the token's permissions; `repo_only` ignores `PROJECT_*`.
fn token_max(token: &TokenFixture, repo_only: bool) -> Option<RepoPermission> {
    token
        .permissions
        .iter()
        .filter_map(|p| parse(p))
        .filter_map(|level| match level {
            Level::Repository(p) => Some(p),
            Level::Project(p) => (!repo_only).then_some(p),
        })
        .max()
}

fn same(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

/// Parses a `REPO_READ|REPO_WRITE|REPO_ADMIN` filter value.
pub(crate) fn parse_repo_permission(value: &str) -> Option<RepoPermission> {
    match parse(value)? {
        Level::Repository(p) => Some(p),
        Level::Project(_) => None,
    }
}

/// Effective permission of `token` on repository `key/slug`.
pub(crate) fn repository_level(
    state: &SimState,
    token: &TokenFixture,
    key: &str,
    slug: &str,
) -> Option<RepoPermission> {
    match token.kind {
        SimTokenKind::DcPersonal => {
            let user = state.dc_user(token.user.as_deref())?;
            let owner_level = user
                .permissions
                .iter()
                .filter(|(scope, _)| match scope.split_once('/') {
                    Some((k, s)) => k.eq_ignore_ascii_case(key) && s == slug,
                    None => scope.eq_ignore_ascii_case(key),
                })
                .map(|(_, level)| *level)
                .max()?;
            token_max(token, false).map(|cap| cap.min(owner_level))
        }
        SimTokenKind::DcProject if same(token.project.as_deref(), key) => token_max(token, false),
        SimTokenKind::DcRepository
            if same(token.project.as_deref(), key) && token.repository.as_deref() == Some(slug) =>
        {
            token_max(token, true)
        }
        _ => None,
    }
}

/// Whether `token` may view `project`: a project permission on it, or any repository
/// permission inside it.
pub(crate) fn can_view_project(
    state: &SimState,
    token: &TokenFixture,
    project: &DcProject,
) -> bool {
    match token.kind {
        SimTokenKind::DcPersonal => {
            let has_own = state.dc_user(token.user.as_deref()).is_some_and(|user| {
                user.permissions.keys().any(|scope| {
                    scope
                        .split('/')
                        .next()
                        .is_some_and(|k| k.eq_ignore_ascii_case(&project.key))
                })
            });
            has_own && token_max(token, false).is_some()
        }
        SimTokenKind::DcProject => {
            same(token.project.as_deref(), &project.key) && token_max(token, false).is_some()
        }
        SimTokenKind::DcRepository => {
            same(token.project.as_deref(), &project.key) && token_max(token, true).is_some()
        }
        _ => false,
    }
}

/// The account a DC token acts as (`X-AUSERNAME` / `X-AUSERID`, Cc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub name: String,
    pub id: u64,
    pub display_name: String,
    /// Bot accounts of project/repository tokens.
    pub service: bool,
}

pub(crate) fn identity(state: &SimState, token: &TokenFixture) -> Identity {
    let project = token.project.as_deref().unwrap_or_default().to_lowercase();
    let bot = |name: String| Identity {
        id: numeric_id(10_000, &name),
        name,
        display_name: token.name.clone(),
        service: true,
    };
    match token.kind {
        SimTokenKind::DcProject => bot(format!("project-{project}-bot")),
        SimTokenKind::DcRepository => {
            let repo = token
                .repository
                .as_deref()
                .unwrap_or_default()
                .to_lowercase();
            bot(format!("repo-{project}-{repo}-bot"))
        }
        _ => {
            let users = &state.data_center.users;
            let index = users
                .iter()
                .position(|u| same(token.user.as_deref(), &u.slug));
            match index.and_then(|i| users.get(i).map(|u| (i, u))) {
                Some((i, user)) => Identity {
                    name: user.slug.clone(),
                    id: 101 + i as u64,
                    display_name: user.display_name.clone(),
                    service: false,
                },
                None => bot(token.user.clone().unwrap_or_default()),
            }
        }
    }
}

/// The owner path of a token record endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RecordOwner<'a> {
    User(&'a str),
    Project(&'a str),
    Repository(&'a str, &'a str),
}

/// Whether `token` is listed under `owner`.
pub(crate) fn owned_by(token: &TokenFixture, owner: RecordOwner<'_>) -> bool {
    match (token.kind, owner) {
        (SimTokenKind::DcPersonal, RecordOwner::User(slug)) => same(token.user.as_deref(), slug),
        (SimTokenKind::DcProject, RecordOwner::Project(key)) => same(token.project.as_deref(), key),
        (SimTokenKind::DcRepository, RecordOwner::Repository(key, slug)) => {
            same(token.project.as_deref(), key) && token.repository.as_deref() == Some(slug)
        }
        _ => false,
    }
}
