//! Bitbucket Cloud REST API 2.0 (`/2.0/...`), the subset a token validator uses
//! (bitbucket-api.md §3). Marks in the handler docs: C = Atlassian documentation or
//! OpenAPI, Cc = community report, I = inferred.

mod access;
mod render;

pub(crate) use access::{can_read_repository, grants, owner, user_permission};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::{AuthOutcome, authenticate_cloud};
use crate::cloud_query::{Filter, PermissionRow};
use crate::contract::{
    CLOUD_GET_PROJECT, CLOUD_GET_REPOSITORY, CLOUD_GET_USER, CLOUD_GET_WORKSPACE,
    CLOUD_LIST_REPOSITORIES, CLOUD_LIST_USER_REPOSITORY_PERMISSIONS, Operation,
};
use crate::fixture::{CloudRepository, RepoPermission, TokenFixture, Workspace};
use crate::pagination::{PageRequest, cloud_page, cloud_request};
use crate::ratelimit::RateDecision;
use crate::router::{ApiRequest, CLOUD_PREFIX, json_response};
use crate::state::SimState;

/// Allowance shown in `X-RateLimit-Limit` for tokens without a fixture `rate_limit`
/// (the documented default for `/2.0/repositories/*`, C).
const DEFAULT_HOURLY_LIMIT: u32 = 1000;

const INVALID_TOKEN: &str = "Token is invalid, expired, or not supported for this endpoint.";
const NOT_ACCESSIBLE: &str = "This API is not accessible by this authentication mechanism.";
const SCOPES_LACKING: &str = "Your credentials lack one or more required privilege scopes.";

/// Handles one Cloud request: authentication (401), the token's hourly budget (429),
/// the endpoint itself, then the credential headers every authenticated answer carries.
pub(crate) fn handle(state: &SimState, request: &ApiRequest) -> Response {
    let token = match authenticate_cloud(state, &request.credentials) {
        AuthOutcome::Rejected => return unauthorized(),
        AuthOutcome::Anonymous => None,
        AuthOutcome::Token(token) => Some(*token),
    };
    let remaining = match &token {
        None => None,
        Some(token) => match state.rate.charge(&token.name, token.rate_limit) {
            RateDecision::Limited { .. } => return rate_limited(),
            RateDecision::Allowed { remaining } => remaining,
        },
    };
    let ctx = Ctx {
        state,
        api: format!("{}{CLOUD_PREFIX}", state.origin),
        token: token.as_ref(),
    };
    let mut response = route(&ctx, request);
    if let Some(token) = &token {
        credential_headers(response.headers_mut(), token, remaining, &request.path);
    }
    response
}

struct Ctx<'a> {
    state: &'a SimState,
    /// `https://localhost:{port}/2.0`.
    api: String,
    token: Option<&'a TokenFixture>,
}

fn route(ctx: &Ctx<'_>, request: &ApiRequest) -> Response {
    let segments = request.segments_after(CLOUD_PREFIX);
    let found = match segments.as_slice() {
        ["repositories", ws] => Some(list_repositories(ctx, request, ws)),
        ["repositories", ws, slug] => Some(get_repository(ctx, ws, slug)),
        ["workspaces", ws] => Some(get_workspace(ctx, ws)),
        ["workspaces", ws, "projects", key] => Some(get_project(ctx, ws, key)),
        ["user"] => Some(get_user(ctx)),
        ["user", "workspaces", ws, "permissions", "repositories"] => {
            Some(list_repository_permissions(ctx, request, ws))
        }
        _ => None,
    };
    match found {
        Some(_) if request.method != Method::GET => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "The simulator only implements GET on this resource.",
        ),
        Some(response) => response,
        None => error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

/// `GET /2.0/repositories/{workspace}/{repo_slug}`: 200, 403 when private and not
/// accessible, 404 when missing (C). Scope `repository` / `read:repository:bitbucket`
/// (C); the scope check comes before the lookup (I). Anonymous on a private
/// repository gets 401 with the same body as a bad token (I).
fn get_repository(ctx: &Ctx<'_>, ws: &str, slug: &str) -> Response {
    if let Some(denied) = ctx.scope_denied(&CLOUD_GET_REPOSITORY) {
        return denied;
    }
    let Some((workspace, repo)) = find_repository(ctx.state, ws, slug) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Repository {ws}/{slug} not found"),
        );
    };
    if repo.private {
        let Some(token) = ctx.token else {
            return unauthorized();
        };
        if !access::can_read_repository(ctx.state, token, ws, repo) {
            return error(
                StatusCode::FORBIDDEN,
                "Access denied. You must have read access to this repository.",
            );
        }
    }
    json_response(
        StatusCode::OK,
        &render::repository(&ctx.api, workspace, repo),
    )
}

/// `GET /2.0/repositories/{workspace}[?q=...]` (`get_repositories_workspace`): the
/// workspace's repositories the caller can read, paginated, filtered by `q` on the
/// repository's `name`, `slug`, `full_name` and `project.key` (C: "Returns a paginated list of
/// all repositories owned by the specified workspace", filtering per the introduction). Scope
/// `repository` / `read:repository:bitbucket` (C). Public repositories are listed for anyone;
/// private ones only when the caller can read them (I). A missing workspace is 404 (C). `role`
/// is not simulated and gets 400 rather than being ignored.
fn list_repositories(ctx: &Ctx<'_>, request: &ApiRequest, ws: &str) -> Response {
    if let Some(denied) = ctx.scope_denied(&CLOUD_LIST_REPOSITORIES) {
        return denied;
    }
    if request.param("role").is_some() {
        return error(StatusCode::BAD_REQUEST, "role is not simulated");
    }
    let Some(workspace) = find_workspace(ctx.state, ws) else {
        return error(StatusCode::NOT_FOUND, &format!("Workspace {ws} not found"));
    };
    let (filter, page) = match listing_params(ctx, request, Filter::parse_repository) {
        Ok(params) => params,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let mut repositories: Vec<&CloudRepository> = workspace
        .repositories
        .iter()
        .filter(|repo| {
            !repo.private
                || ctx
                    .token
                    .is_some_and(|t| access::can_read_repository(ctx.state, t, ws, repo))
        })
        .filter(|repo| {
            filter.matches(&PermissionRow {
                name: repo.display_name().to_string(),
                full_name: format!("{ws}/{}", repo.slug),
                slug: repo.slug.clone(),
                project_key: repo.project.clone(),
                permission: RepoPermission::Read,
                private: repo.private,
            })
        })
        .collect();
    repositories.sort_by(|a, b| a.slug.cmp(&b.slug));
    let values = repositories
        .into_iter()
        .map(|repo| render::repository(&ctx.api, workspace, repo))
        .collect();
    let body = cloud_page(values, page, |n| page_link(ctx, request, n));
    json_response(StatusCode::OK, &body)
}

/// `GET /2.0/workspaces/{workspace}`: 200/404 (C). API tokens need
/// `read:workspace:bitbucket` (C); access tokens may read their own workspace only and
/// other callers need a permission in it, else 403 (I).
fn get_workspace(ctx: &Ctx<'_>, ws: &str) -> Response {
    if let Some(denied) = ctx.scope_denied(&CLOUD_GET_WORKSPACE) {
        return denied;
    }
    let Some(workspace) = find_workspace(ctx.state, ws) else {
        return error(StatusCode::NOT_FOUND, &format!("Workspace {ws} not found"));
    };
    let Some(token) = ctx.token else {
        return unauthorized();
    };
    if !access::can_read_workspace(ctx.state, token, ws) {
        return error(
            StatusCode::FORBIDDEN,
            "Access denied. You must have access to this workspace.",
        );
    }
    json_response(StatusCode::OK, &render::workspace(&ctx.api, workspace))
}

/// `GET /2.0/workspaces/{workspace}/projects/{project_key}`: 200/401/403/404 (C).
/// Scope `project` / `read:project:bitbucket` (C). Visible to the workspace token, the
/// project's token and callers that can read one of its repositories (I).
fn get_project(ctx: &Ctx<'_>, ws: &str, key: &str) -> Response {
    if let Some(denied) = ctx.scope_denied(&CLOUD_GET_PROJECT) {
        return denied;
    }
    let found = find_workspace(ctx.state, ws)
        .and_then(|w| w.projects.iter().find(|p| p.key == key).map(|p| (w, p)));
    let Some((workspace, project)) = found else {
        return error(StatusCode::NOT_FOUND, &format!("Project {key} not found"));
    };
    let Some(token) = ctx.token else {
        return unauthorized();
    };
    if !access::can_read_project(ctx.state, token, ws, key, &workspace.repositories) {
        return error(
            StatusCode::FORBIDDEN,
            "Access denied. You must have read access to this project.",
        );
    }
    json_response(
        StatusCode::OK,
        &render::project(&ctx.api, workspace, project),
    )
}

/// `GET /2.0/user`: 401 when unauthenticated (C); API tokens need
/// `read:user:bitbucket` (C); access tokens get "not accessible by this
/// authentication mechanism" (C for cross-workspace endpoints, I here).
fn get_user(ctx: &Ctx<'_>) -> Response {
    let Some(token) = ctx.token else {
        return unauthorized();
    };
    if token.kind.is_cloud_access_token() {
        return error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE);
    }
    if let Some(denied) = ctx.scope_denied(&CLOUD_GET_USER) {
        return denied;
    }
    match access::owner(ctx.state, token) {
        Some(user) => json_response(StatusCode::OK, &render::user(&ctx.api, user)),
        None => unauthorized(),
    }
}

/// `GET /2.0/user/workspaces/{workspace}/permissions/repositories[?q=...]`: the
/// caller's effective permission per repository, paginated (C). Only for user-bound
/// credentials; access tokens get "not accessible" (I). A missing workspace is 404 and
/// a workspace without permissions yields an empty list (I).
fn list_repository_permissions(ctx: &Ctx<'_>, request: &ApiRequest, ws: &str) -> Response {
    let Some(token) = ctx.token else {
        return unauthorized();
    };
    if token.kind.is_cloud_access_token() {
        return error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE);
    }
    if let Some(denied) = ctx.scope_denied(&CLOUD_LIST_USER_REPOSITORY_PERMISSIONS) {
        return denied;
    }
    let Some(user) = access::owner(ctx.state, token) else {
        return unauthorized();
    };
    let Some(workspace) = find_workspace(ctx.state, ws) else {
        return error(StatusCode::NOT_FOUND, &format!("Workspace {ws} not found"));
    };
    let (filter, page) = match listing_params(ctx, request, Filter::parse) {
        Ok(params) => params,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let mut rows: Vec<(&CloudRepository, PermissionRow)> = workspace
        .repositories
        .iter()
        .filter_map(|repo| {
            let permission = access::user_permission(user, ws, &repo.slug)?;
            Some((
                repo,
                PermissionRow {
                    name: repo.display_name().to_string(),
                    full_name: format!("{ws}/{}", repo.slug),
                    slug: repo.slug.clone(),
                    project_key: repo.project.clone(),
                    permission,
                    private: repo.private,
                },
            ))
        })
        .filter(|(_, row)| filter.matches(row))
        .collect();
    rows.sort_by(|a, b| a.1.full_name.cmp(&b.1.full_name));
    let values = rows
        .into_iter()
        .map(|(repo, row)| {
            render::repository_permission(&ctx.api, workspace, repo, user, row.permission)
        })
        .collect();
    let body = cloud_page(values, page, |n| page_link(ctx, request, n));
    json_response(StatusCode::OK, &body)
}

impl Ctx<'_> {
    /// The 403 for a missing scope, if the caller is a token lacking it.
    fn scope_denied(&self, operation: &Operation) -> Option<Response> {
        let token = self.token?;
        let required = access::check_scope(token, operation).err()?;
        Some(scope_error(&required, &token.scopes))
    }
}

/// A listing's `q` (parsed by `parse`) and page (`page`, `pagelen`); the message for a 400 when
/// either is bad.
fn listing_params(
    ctx: &Ctx<'_>,
    request: &ApiRequest,
    parse: fn(&str) -> Result<Filter, String>,
) -> Result<(Filter, PageRequest), String> {
    let filter = request
        .param("q")
        .map(parse)
        .transpose()?
        .unwrap_or_default();
    let page = cloud_request(
        request.param("page"),
        request.param("pagelen"),
        ctx.state.page_size,
    )?;
    Ok((filter, page))
}

fn find_workspace<'a>(state: &'a SimState, ws: &str) -> Option<&'a Workspace> {
    state.cloud.workspaces.iter().find(|w| w.slug == ws)
}

fn find_repository<'a>(
    state: &'a SimState,
    ws: &str,
    slug: &str,
) -> Option<(&'a Workspace, &'a CloudRepository)> {
    let workspace = find_workspace(state, ws)?;
    let repo = workspace.repositories.iter().find(|r| r.slug == slug)?;
    Some((workspace, repo))
}

/// Absolute URL of page `n` of the current listing, keeping the other parameters.
fn page_link(ctx: &Ctx<'_>, request: &ApiRequest, n: usize) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in request.params.iter().filter(|(k, _)| k != "page") {
        pairs.append_pair(key, value);
    }
    pairs.append_pair("page", &n.to_string());
    format!("{}{}?{}", ctx.state.origin, request.path, pairs.finish())
}

/// Cloud error envelope `{"type":"error","error":{"message":...}}` (C).
fn error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({ "type": "error", "error": { "message": message } }),
    )
}

/// 401 for unknown, revoked, expired or wrongly presented credentials (Cc wording).
fn unauthorized() -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, INVALID_TOKEN);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"Bitbucket.org HTTP\""),
    );
    response
}

/// 403 for a missing scope, with `detail.required`/`detail.granted` (Cc) and
/// `X-Accepted-OAuth-Scopes` (C).
fn scope_error(required: &[&str], granted: &[String]) -> Response {
    let body = json!({
        "type": "error",
        "error": {
            "message": SCOPES_LACKING,
            "detail": { "required": required, "granted": granted },
        },
    });
    let mut response = json_response(StatusCode::FORBIDDEN, &body);
    if let Ok(value) = HeaderValue::from_str(&required.join(", ")) {
        response
            .headers_mut()
            .insert("x-accepted-oauth-scopes", value);
    }
    response
}

/// 429 once the hourly budget is spent: `text/plain`, no `Retry-After` (C/Cc).
fn rate_limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
        "Rate limit for this resource has been exceeded",
    )
        .into_response()
}

/// `X-OAuth-Scopes` (C), `X-Credential-Type` (C/Cc) and, for access tokens,
/// `X-RateLimit-Limit`, `X-RateLimit-Resource`, `X-RateLimit-NearLimit` (C; the
/// resource names and the 20% threshold are I).
fn credential_headers(
    headers: &mut HeaderMap,
    token: &TokenFixture,
    remaining: Option<u32>,
    path: &str,
) {
    if let Ok(value) = HeaderValue::from_str(&token.scopes.join(", ")) {
        headers.insert("x-oauth-scopes", value);
    }
    headers.insert(
        "x-credential-type",
        HeaderValue::from_static(access::credential_type(token.kind)),
    );
    if !token.kind.is_cloud_access_token() {
        return;
    }
    let limit = token.rate_limit.unwrap_or(DEFAULT_HOURLY_LIMIT);
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    let resource = if path.starts_with("/2.0/repositories/") {
        "api/repositories"
    } else {
        "api"
    };
    headers.insert("x-ratelimit-resource", HeaderValue::from_static(resource));
    if let Some(remaining) = remaining
        && u64::from(remaining) * 5 < u64::from(limit)
    {
        headers.insert("x-ratelimit-nearlimit", HeaderValue::from_static("true"));
    }
}
