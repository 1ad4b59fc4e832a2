//! The operator's HTTP endpoints on one port: `/metrics` (Prometheus text), `/healthz` (200 while
//! the process runs) and `/readyz` (200 once the replica can do its job; see [`Health`]).

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, Ordering},
    },
};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::metrics::Metrics;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The HTTP server could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} for /metrics, /healthz and /readyz: {source}")]
pub struct HttpError {
    addr: SocketAddr,
    #[source]
    source: std::io::Error,
}

/// What this replica is doing, as `/readyz` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    /// Connecting, joining the election or filling its caches.
    Starting = 0,
    /// Waiting to take over from the leader.
    Standby = 1,
    /// Running the controllers.
    Leader = 2,
}

/// Readiness shared between the controllers and the HTTP server.
///
/// `/readyz` is 200 when the replica is a standby that has joined the election (it is ready to take
/// over: failing readiness there would stall rolling updates of a multi-replica Deployment), or
/// when it runs the controllers and their caches of BitbucketTokens are synced. A new leader keeps
/// the readiness it had as a standby while its caches fill.
#[derive(Clone, Default)]
pub struct Health {
    role: Arc<AtomicU8>,
    ready: Arc<AtomicBool>,
}

impl Health {
    /// Records the replica's role and whether it is ready in it.
    pub fn set(&self, role: Role, ready: bool) {
        self.role.store(role as u8, Ordering::SeqCst);
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn role(&self) -> Role {
        match self.role.load(Ordering::SeqCst) {
            1 => Role::Standby,
            2 => Role::Leader,
            _ => Role::Starting,
        }
    }

    fn role_name(&self) -> &'static str {
        match self.role() {
            Role::Starting => "starting",
            Role::Standby => "standby",
            Role::Leader => "leader",
        }
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: Health,
}

/// Binds `addr` (port 0 picks a free port), logs the bound address, and serves in the background.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Health,
) -> Result<(SocketAddr, JoinHandle<()>), HttpError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| HttpError { addr, source })?;
    let app = router(AppState { metrics, health });
    tracing::info!(addr = %bound, "serving /metrics, /healthz and /readyz");
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics and health server stopped");
        }
    });
    Ok((bound, task))
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics").into_response(),
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    let role = state.health.role_name();
    if state.health.is_ready() {
        (StatusCode::OK, format!("ok: {role}")).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {role}"),
        )
            .into_response()
    }
}
