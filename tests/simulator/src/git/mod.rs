//! Git smart HTTP on the same host as the APIs, like bitbucket.org next to
//! api.bitbucket.org, and a Data Center instance serving `/scm` next to `/rest`: real
//! repositories served by git's own `git http-backend`, with the fixture's tokens, bindings,
//! scopes and revocation state deciding who may clone and push.
//!
//! - `path`: which repository and service a path addresses
//! - `access`: the authentication and authorization rules for git
//! - `cgi`: running `git http-backend`
//! - `repos`: creating the bare repositories at start
//! - `log`: which credentials reached which host and path
//! - `headers`: every header of every request, credentials redacted

mod access;
mod cgi;
mod headers;
mod log;
mod path;
mod repos;

pub use headers::SeenHeader;
pub(crate) use log::GitLog;
pub use log::GitRequest;
pub use path::GitService;
pub(crate) use repos::Repositories;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::auth::Credentials;
use crate::state::SimState;
use access::Decision;
use cgi::{CgiRequest, plain};

/// Realm of the `WWW-Authenticate` challenge; git then asks its credential helpers.
const CHALLENGE: &str = "Basic realm=\"Bitbucket\"";

/// Whether `path` is a git request this module answers.
pub(crate) fn is_git_path(state: &SimState, path: &str) -> bool {
    path::parse(state, path).is_some()
}

/// Serves one git request (the caller checked [`is_git_path`]).
pub(crate) async fn handle(state: &SimState, request: Request) -> Response {
    let uri_path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let Some(git_path) = path::parse(state, &uri_path) else {
        return plain(StatusCode::NOT_FOUND, "Not Found\n");
    };
    let service = git_path.service(query.as_deref());
    let credentials = Credentials::from_headers(request.headers());
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let mut record = GitRequest {
        method: request.method().to_string(),
        host,
        path: uri_path,
        query: query.clone(),
        service,
        auth: credentials.seen(),
        token_name: credentials
            .secret()
            .and_then(|s| state.token_by_secret(s))
            .map(|t| t.name),
        status: 0,
        headers: headers::capture(state, request.headers()),
    };
    let response = match (&git_path.repo, state.git_root()) {
        _ if credentials == Credentials::Duplicate => plain(
            StatusCode::BAD_REQUEST,
            "Bad Request: more than one Authorization header\n",
        ),
        (None, _) => plain(StatusCode::NOT_FOUND, "Repository not found\n"),
        (Some(_), None) => plain(StatusCode::SERVICE_UNAVAILABLE, "git is not served\n"),
        (Some(repo), Some(root)) => match access::decide(state, &credentials, repo, service) {
            Decision::Unauthorized => unauthorized(),
            Decision::Forbidden(denial) => plain(StatusCode::FORBIDDEN, denial.message()),
            Decision::Allow { remote_user } => {
                let headers = request.headers();
                let text = |name: header::HeaderName| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let content_type = text(header::CONTENT_TYPE);
                let content_length = text(header::CONTENT_LENGTH);
                let content_encoding = text(header::CONTENT_ENCODING);
                let git_protocol = text(header::HeaderName::from_static("git-protocol"));
                let method = request.method().to_string();
                let cgi = CgiRequest {
                    project_root: root,
                    path_info: format!("/{}/{}", repo.relative_dir(), git_path.rest),
                    method: &method,
                    query: query.as_deref().unwrap_or_default(),
                    content_type: content_type.as_deref(),
                    content_length: content_length.as_deref(),
                    content_encoding: content_encoding.as_deref(),
                    git_protocol: git_protocol.as_deref(),
                    remote_user: remote_user.as_deref(),
                };
                cgi::run(cgi, request.into_body()).await
            }
        },
    };
    record.status = response.status().as_u16();
    state.git_log.record(record);
    response
}

fn unauthorized() -> Response {
    let mut response: Response<Body> = plain(
        StatusCode::UNAUTHORIZED,
        "Authentication failed: invalid, expired or revoked credentials\n",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(CHALLENGE),
    );
    response
}
