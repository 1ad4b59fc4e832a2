//! The `/_sim/...` control API, for driving a running simulator from outside the
//! process (the demo). Never recorded, never faulted.
//!
//! - `POST /_sim/tokens/{name}/revoke` and `.../restore`
//! - `POST /_sim/fault` with body `none|unavailable|internal|slow:<ms>|garbage|ratelimited[:<secs>]`
//! - `GET /_sim/requests`: counts per token name; `POST /_sim/requests/reset`
//! - `GET /_sim/git/requests`: every git request (host, path, scheme, user, token name, status,
//!   every header with credentials redacted)
//! - `POST /_sim/listen/stop[?resumeAfterMs=N]`: stop listening shortly after answering
//!   (and listen again after N ms, if given)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::json;

use crate::faults::Fault;
use crate::git::GitService;
use crate::recorder::AuthSeen;
use crate::router::json_response;
use crate::state::SimState;

const MAX_BODY: usize = 4096;
/// Lets the answer to `listen/stop` reach the caller before connections are closed.
const STOP_GRACE: Duration = Duration::from_millis(100);

pub(crate) async fn handle(state: &Arc<SimState>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(1)
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&method, segments.as_slice()) {
        (&Method::POST, ["tokens", name, "revoke"]) => revoke(state, name, true),
        (&Method::POST, ["tokens", name, "restore"]) => revoke(state, name, false),
        (&Method::POST, ["fault"]) => {
            let Ok(body) = to_bytes(request.into_body(), MAX_BODY).await else {
                return text(StatusCode::BAD_REQUEST, "unreadable body");
            };
            match Fault::parse(&String::from_utf8_lossy(&body)) {
                Some(fault) => {
                    state.set_fault(fault);
                    text(StatusCode::OK, &format!("{fault:?}"))
                }
                None => text(
                    StatusCode::BAD_REQUEST,
                    "expected none|unavailable|internal|slow:<ms>|garbage|ratelimited[:<secs>]",
                ),
            }
        }
        (&Method::GET, ["requests"]) => request_counts(state),
        (&Method::GET, ["git", "requests"]) => git_requests(state),
        (&Method::POST, ["requests", "reset"]) => {
            state.recorder.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        (&Method::POST, ["listen", "stop"]) => stop_listening(state, &query),
        _ => text(StatusCode::NOT_FOUND, "unknown control endpoint"),
    }
}

fn text(status: StatusCode, body: &str) -> Response {
    (status, format!("{body}\n")).into_response()
}

fn revoke(state: &SimState, name: &str, revoked: bool) -> Response {
    if state.set_revoked(name, revoked) {
        let verb = if revoked { "revoked" } else { "restored" };
        text(StatusCode::OK, &format!("{verb} {name}"))
    } else {
        text(StatusCode::NOT_FOUND, &format!("no token named {name}"))
    }
}

fn request_counts(state: &SimState) -> Response {
    let requests = state.recorder.all();
    let mut per_token: BTreeMap<String, usize> = state
        .token_entries()
        .into_iter()
        .map(|e| (e.token.name, 0))
        .collect();
    let mut without_token = 0usize;
    for request in &requests {
        match &request.token_name {
            Some(name) => *per_token.entry(name.clone()).or_default() += 1,
            None => without_token += 1,
        }
    }
    json_response(
        StatusCode::OK,
        &json!({
            "total": requests.len(),
            "withoutToken": without_token,
            "perToken": per_token,
        }),
    )
}

fn git_requests(state: &SimState) -> Response {
    let rows: Vec<_> = state
        .git_log
        .all()
        .into_iter()
        .map(|r| {
            let (auth, user) = match r.auth {
                AuthSeen::None => ("none", None),
                AuthSeen::Bearer => ("bearer", None),
                AuthSeen::Basic { user } => ("basic", Some(user)),
            };
            let service = match r.service {
                GitService::UploadPack => "git-upload-pack",
                GitService::ReceivePack => "git-receive-pack",
            };
            json!({
                "method": r.method, "host": r.host, "path": r.path, "service": service,
                "auth": auth, "user": user, "token": r.token_name, "status": r.status,
                "headers": r.headers.iter().map(|h| json!([h.name, h.value])).collect::<Vec<_>>(),
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!(rows))
}

fn stop_listening(state: &SimState, query: &str) -> Response {
    let resume_after = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "resumeAfterMs")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .map(Duration::from_millis);
    let Some(simulator) = state.simulator() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "simulator is shutting down",
        );
    };
    tokio::spawn(async move {
        tokio::time::sleep(STOP_GRACE).await;
        simulator.stop_listening().await;
        if let Some(delay) = resume_after {
            tokio::time::sleep(delay).await;
            if let Err(err) = simulator.resume_listening().await {
                tracing::error!(%err, "could not listen again");
            }
        }
    });
    text(StatusCode::ACCEPTED, "listener will stop")
}
