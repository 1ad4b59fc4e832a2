//! Bitbucket Data Center REST API (`{context_path}/rest/...`), the subset a token
//! validator uses (bitbucket-api.md §3-§5). Marks in the handler docs: C = Atlassian
//! documentation or OpenAPI, Cc = community report, I = inferred.

mod access;
mod render;

pub(crate) use access::{identity, repository_level};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::auth::{AuthOutcome, authenticate_dc};
use crate::contract::{DC_GET_PROJECT, DC_GET_REPOSITORY, Operation};
use crate::dc_token::dc_token_id;
use crate::fixture::{DcProject, RepoPermission, TokenFixture};
use crate::pagination::{dc_page, dc_request};
use crate::ratelimit::RateDecision;
use crate::router::{ApiRequest, json_response};
use crate::state::SimState;
use access::{Identity, RecordOwner};
use render::Site;

const AUTH_FAILED: &str = "Authentication failed. Please check your credentials and try again.";
const AUTH_FAILED_EXCEPTION: &str =
    "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException";
const NOT_PERMITTED: &str = "You are not permitted to access this resource";
const NOT_PERMITTED_EXCEPTION: &str = "com.atlassian.bitbucket.AuthorisationException";
const NO_PROJECT_EXCEPTION: &str = "com.atlassian.bitbucket.project.NoSuchProjectException";
const NO_REPO_EXCEPTION: &str = "com.atlassian.bitbucket.repository.NoSuchRepositoryException";

/// Handles one DC request: authentication (401 without identity headers), the token's
/// budget (429 + `Retry-After`), the endpoint, then `X-AUSERNAME`/`X-AUSERID` on every
/// answer to an authenticated request, including 401 and 404 (Cc).
pub(crate) fn handle(state: &SimState, request: &ApiRequest) -> Response {
    let token = match authenticate_dc(state, &request.credentials) {
        AuthOutcome::Rejected => {
            return errors(
                StatusCode::UNAUTHORIZED,
                AUTH_FAILED,
                Some(AUTH_FAILED_EXCEPTION),
            );
        }
        AuthOutcome::Anonymous => None,
        AuthOutcome::Token(token) => Some(*token),
    };
    let identity = token.as_ref().map(|t| access::identity(state, t));
    let mut response = match &token {
        Some(t) => match state.rate.charge(&t.name, t.rate_limit) {
            RateDecision::Limited { retry_after_secs } => rate_limited(retry_after_secs),
            RateDecision::Allowed { .. } => route(state, request, Some(t)),
        },
        None => route(state, request, None),
    };
    if let Some(identity) = identity {
        identity_headers(response.headers_mut(), &identity);
    }
    response
}

fn route(state: &SimState, request: &ApiRequest, token: Option<&TokenFixture>) -> Response {
    let base = format!("{}{}", state.origin, state.data_center.context_path);
    let ctx = Ctx {
        state,
        site: Site { base: &base },
        token,
    };
    let prefix = format!("{}/rest", state.data_center.context_path);
    let segments = request.segments_after(&prefix);
    let version_ok = |v: &str| v == "latest" || v == "1.0";
    let found = match segments.as_slice() {
        ["api", v, "application-properties"] if version_ok(v) => Some(application_properties()),
        ["api", v, "projects", key] if version_ok(v) => Some(get_project(&ctx, key)),
        ["api", v, "projects", key, "repos", slug] if version_ok(v) => {
            Some(get_repository(&ctx, key, slug))
        }
        ["api", v, "repos"] if version_ok(v) => Some(list_repositories(&ctx, request)),
        ["access-tokens", v, "users", user, id] if version_ok(v) => {
            Some(get_token_record(&ctx, RecordOwner::User(user), id))
        }
        ["access-tokens", v, "projects", key, id] if version_ok(v) => {
            Some(get_token_record(&ctx, RecordOwner::Project(key), id))
        }
        ["access-tokens", v, "projects", key, "repos", slug, id] if version_ok(v) => Some(
            get_token_record(&ctx, RecordOwner::Repository(key, slug), id),
        ),
        _ => None,
    };
    match found {
        Some(_) if request.method != Method::GET => errors(
            StatusCode::METHOD_NOT_ALLOWED,
            "The simulator only implements GET on this resource.",
            None,
        ),
        Some(response) => response,
        None => errors(StatusCode::NOT_FOUND, "Resource not found", None),
    }
}

struct Ctx<'a> {
    state: &'a SimState,
    site: Site<'a>,
    token: Option<&'a TokenFixture>,
}

impl Ctx<'_> {
    fn project(&self, key: &str) -> Option<&DcProject> {
        self.state
            .data_center
            .projects
            .iter()
            .find(|p| p.key.eq_ignore_ascii_case(key))
    }

    fn repository_level(&self, key: &str, slug: &str) -> Option<RepoPermission> {
        access::repository_level(self.state, self.token?, key, slug)
    }

    /// Whether the caller holds the permission `operation`'s description names, on `project`
    /// (and repository `slug`): `REPO_READ` = any level on the repository; `PROJECT_VIEW` =
    /// a project permission or any repository permission in the project (DC's implicit
    /// project view, I); an operation naming none is open to every authenticated caller.
    fn holds(&self, operation: &Operation, project: &DcProject, slug: Option<&str>) -> bool {
        let Some(token) = self.token else {
            return false;
        };
        match (operation.dc_permission, slug) {
            (Some("REPO_READ"), Some(slug)) => self.repository_level(&project.key, slug).is_some(),
            (Some("PROJECT_VIEW"), _) => access::can_view_project(self.state, token, project),
            (None, _) => true,
            _ => false,
        }
    }
}

/// `GET /rest/api/latest/application-properties`: anonymous (C); bad credentials
/// still get 401 (I).
fn application_properties() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "version": "9.2.0",
            "buildNumber": "9002000",
            "buildDate": "1719878400000",
            "displayName": "Bitbucket",
        }),
    )
}

/// `GET /rest/api/latest/projects/{projectKey}`: 200, 401 without permission, 404
/// (C). Viewable with a project permission or any repository permission in it (I).
fn get_project(ctx: &Ctx<'_>, key: &str) -> Response {
    let Some(project) = ctx.project(key) else {
        return no_project(key);
    };
    if !ctx.holds(&DC_GET_PROJECT, project, None) {
        return not_permitted();
    }
    json_response(StatusCode::OK, &ctx.site.project(project))
}

/// `GET /rest/api/latest/projects/{projectKey}/repos/{repositorySlug}`: 200, **401**
/// (not 403) "You are not permitted to access this resource" without REPO_READ, 404
/// when missing (C/Cc).
fn get_repository(ctx: &Ctx<'_>, key: &str, slug: &str) -> Response {
    let Some(project) = ctx.project(key) else {
        return no_project(key);
    };
    if !project.repositories.iter().any(|r| r == slug) {
        return errors(
            StatusCode::NOT_FOUND,
            &format!("Repository {key}/{slug} does not exist."),
            Some(NO_REPO_EXCEPTION),
        );
    }
    if !ctx.holds(&DC_GET_REPOSITORY, project, Some(slug)) {
        return not_permitted();
    }
    json_response(StatusCode::OK, &ctx.site.repository(project, slug))
}

/// `GET /rest/api/latest/repos?projectkey=&name=&permission=&start=&limit=`
/// (`getRepositories_1`): the repositories the caller holds at least `permission` on
/// (default REPO_READ), filtered by project key and by repository **name** (the display
/// name, not the slug), case-insensitively with surrounding whitespace stripped, as the
/// DC 9.2 OpenAPI document's parameter descriptions say (C; the token cap is I).
fn list_repositories(ctx: &Ctx<'_>, request: &ApiRequest) -> Response {
    let needed = match request.param("permission") {
        None => RepoPermission::Read,
        Some(value) => match access::parse_repo_permission(value) {
            Some(level) => level,
            None => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    &format!("Invalid permission: {value}"),
                    None,
                );
            }
        },
    };
    let page = match dc_request(
        request.param("start"),
        request.param("limit"),
        ctx.state.page_size,
    ) {
        Ok(page) => page,
        Err(message) => return errors(StatusCode::BAD_REQUEST, &message, None),
    };
    let project_key = request.param("projectkey");
    let name = request.param("name").map(str::trim);
    let values: Vec<Value> = ctx
        .state
        .data_center
        .projects
        .iter()
        .filter(|p| project_key.is_none_or(|k| p.key.eq_ignore_ascii_case(k)))
        .flat_map(|p| p.repositories.iter().map(move |slug| (p, slug)))
        .filter(|(p, slug)| name.is_none_or(|n| p.repository_name(slug).eq_ignore_ascii_case(n)))
        .filter(|(p, slug)| {
            ctx.repository_level(&p.key, slug)
                .is_some_and(|level| level >= needed)
        })
        .map(|(p, slug)| ctx.site.repository(p, slug))
        .collect();
    json_response(StatusCode::OK, &dc_page(values, page))
}

/// `GET /rest/access-tokens/latest/{users/{slug} | projects/{key} |
/// projects/{key}/repos/{slug}}/{tokenId}`: 200 with the record, 401 when not
/// permitted, 404 when the owner or token does not exist (C). A token may read only its
/// own record (id derived from its secret) and only when `dc_record_readable` (I).
fn get_token_record(ctx: &Ctx<'_>, owner: RecordOwner<'_>, id: &str) -> Response {
    let owner_exists = match owner {
        RecordOwner::User(slug) => ctx.state.dc_user(Some(slug)).is_some(),
        RecordOwner::Project(key) => ctx.project(key).is_some(),
        RecordOwner::Repository(key, slug) => ctx
            .project(key)
            .is_some_and(|p| p.repositories.iter().any(|r| r == slug)),
    };
    if !owner_exists {
        return match owner {
            RecordOwner::User(slug) => errors(
                StatusCode::NOT_FOUND,
                &format!("User {slug} does not exist."),
                None,
            ),
            RecordOwner::Project(key) => no_project(key),
            RecordOwner::Repository(key, slug) => errors(
                StatusCode::NOT_FOUND,
                &format!("Repository {key}/{slug} does not exist."),
                Some(NO_REPO_EXCEPTION),
            ),
        };
    }
    let Some(caller) = ctx.token else {
        return not_permitted();
    };
    let wanted: Option<u64> = id.parse().ok();
    let entry = ctx.state.token_entries().into_iter().find(|e| {
        access::owned_by(&e.token, owner)
            && wanted.is_some()
            && dc_token_id(&e.token.secret) == wanted
    });
    let (Some(entry), Some(id)) = (entry, wanted) else {
        return errors(
            StatusCode::NOT_FOUND,
            &format!("No access token with ID {id} exists."),
            None,
        );
    };
    if entry.token.name != caller.name || !entry.token.dc_record_readable {
        return not_permitted();
    }
    let identity = access::identity(ctx.state, &entry.token);
    json_response(StatusCode::OK, &render::access_token(id, &entry, &identity))
}

/// DC error envelope `{"errors":[{"context","message","exceptionName"}]}` (C).
fn errors(status: StatusCode, message: &str, exception: Option<&str>) -> Response {
    json_response(
        status,
        &json!({
            "errors": [ { "context": null, "message": message, "exceptionName": exception } ],
        }),
    )
}

fn not_permitted() -> Response {
    errors(
        StatusCode::UNAUTHORIZED,
        NOT_PERMITTED,
        Some(NOT_PERMITTED_EXCEPTION),
    )
}

fn no_project(key: &str) -> Response {
    errors(
        StatusCode::NOT_FOUND,
        &format!("Project {key} does not exist."),
        Some(NO_PROJECT_EXCEPTION),
    )
}

/// 429 with `Retry-After` (Cc) and a JSON error body (I).
fn rate_limited(retry_after_secs: u64) -> Response {
    let mut response = errors(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "Too many requests: the rate limit for this user is exhausted; retry in {retry_after_secs} seconds."
        ),
        None,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

fn identity_headers(headers: &mut HeaderMap, identity: &Identity) {
    if let Ok(name) = HeaderValue::from_str(&identity.name) {
        headers.insert("x-ausername", name);
    }
    headers.insert("x-auserid", HeaderValue::from(identity.id));
}
