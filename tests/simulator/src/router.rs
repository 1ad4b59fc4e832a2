//! Entry point of every HTTP request: control API, git smart HTTP, then request recording,
//! faults and dispatch to the Cloud or Data Center API simulation by path prefix.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::auth::Credentials;
use crate::recorder::{Platform, RecordedRequest};
use crate::state::SimState;
use crate::{cloud, control, datacenter, faults, git};

/// Prefix of the control API (never recorded, never faulted).
pub(crate) const CONTROL_PREFIX: &str = "/_sim";
/// Prefix of the Cloud API.
pub(crate) const CLOUD_PREFIX: &str = "/2.0";

/// What the platform handlers need to know about a request.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub params: Vec<(String, String)>,
    pub credentials: Credentials,
}

impl ApiRequest {
    /// First value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Path segments after `prefix`, without empty segments (tolerates a trailing slash).
    pub fn segments_after(&self, prefix: &str) -> Vec<&str> {
        self.path
            .strip_prefix(prefix)
            .unwrap_or_default()
            .split('/')
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Builds the single router serving both platforms and the control API.
pub(crate) fn build(state: Arc<SimState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<SimState>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == CONTROL_PREFIX || path.starts_with("/_sim/") {
        return control::handle(&state, request).await;
    }
    let platform = platform_of(&state, &path);
    if platform == Platform::Unknown && git::is_git_path(&state, &path) {
        return git::handle(&state, request).await;
    }
    let query = request.uri().query().map(str::to_owned);
    let params = query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let credentials = Credentials::from_headers(request.headers());
    state.recorder.record(RecordedRequest {
        method: request.method().to_string(),
        path: path.clone(),
        query,
        platform,
        auth: credentials.seen(),
        token_name: credentials
            .secret()
            .and_then(|s| state.token_by_secret(s))
            .map(|t| t.name),
    });
    if let Some(response) = faults::apply(state.fault()).await {
        return response;
    }
    if credentials == Credentials::Duplicate {
        return (
            StatusCode::BAD_REQUEST,
            "Bad Request: more than one Authorization header",
        )
            .into_response();
    }
    let api = ApiRequest {
        method: request.method().clone(),
        path,
        params,
        credentials,
    };
    match platform {
        Platform::Cloud => cloud::handle(&state, &api),
        Platform::DataCenter => datacenter::handle(&state, &api),
        Platform::Unknown => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

fn platform_of(state: &SimState, path: &str) -> Platform {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if under(CLOUD_PREFIX) {
        Platform::Cloud
    } else if under(&format!("{}/rest", state.data_center.context_path)) {
        Platform::DataCenter
    } else {
        Platform::Unknown
    }
}

/// A JSON response with the given status.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
