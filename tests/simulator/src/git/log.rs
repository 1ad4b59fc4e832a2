//! In-order log of every git request: which credentials reached which host and path (never
//! the secret), so tests can prove a header was *not* sent somewhere.

use std::sync::Mutex;

use super::SeenHeader;
use super::path::GitService;
use crate::recorder::AuthSeen;
use crate::sync::lock;

/// One git smart-HTTP request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRequest {
    /// HTTP method.
    pub method: String,
    /// Host the client addressed (`Host` header or HTTP/2 authority), e.g. `localhost:8443`.
    pub host: String,
    /// Path without the query string, as sent, e.g. `/acme/api.git/info/refs`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// The git service the request belongs to.
    pub service: GitService,
    /// Authentication scheme seen (`Basic` keeps the user part).
    pub auth: AuthSeen,
    /// Fixture token whose secret was presented, accepted or not.
    pub token_name: Option<String>,
    /// Status code of the answer.
    pub status: u16,
    /// Every header in arrival order, `Authorization` values redacted.
    pub headers: Vec<SeenHeader>,
}

impl GitRequest {
    /// How many `Authorization` headers the request carried.
    pub fn authorization_headers(&self) -> usize {
        self.headers
            .iter()
            .filter(|h| h.name == "authorization")
            .count()
    }
}

/// Thread-safe git request log.
#[derive(Debug, Default)]
pub(crate) struct GitLog {
    requests: Mutex<Vec<GitRequest>>,
}

impl GitLog {
    pub fn record(&self, request: GitRequest) {
        tracing::debug!(
            method = %request.method,
            host = %request.host,
            path = %request.path,
            status = request.status,
            token = request.token_name.as_deref().unwrap_or("-"),
            "git request"
        );
        lock(&self.requests).push(request);
    }

    pub fn all(&self) -> Vec<GitRequest> {
        lock(&self.requests).clone()
    }

    pub fn clear(&self) {
        lock(&self.requests).clear();
    }
}
