//! In-order log of every API request (never the secret itself).

use std::sync::Mutex;

use crate::sync::lock;

/// Which simulated product a request was addressed to (decided by its path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Bitbucket Cloud, under `/2.0`.
    Cloud,
    /// Bitbucket Data Center, under `{context_path}/rest`.
    DataCenter,
    /// Neither prefix matched (answered with 404).
    Unknown,
}

/// The authentication scheme a request carried.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthSeen {
    /// No `Authorization` header, or one whose scheme/encoding was not understood.
    None,
    /// `Authorization: Bearer ...`.
    Bearer,
    /// `Authorization: Basic ...` with this user part.
    Basic {
        /// The user part of the Basic credentials.
        user: String,
    },
}

/// One API request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Platform the path belongs to.
    pub platform: Platform,
    /// Authentication scheme seen.
    pub auth: AuthSeen,
    /// Name of the fixture token whose secret was presented, whether or not it was
    /// accepted (it may be revoked, expired or sent with the wrong scheme).
    pub token_name: Option<String>,
}

/// Thread-safe request log.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    requests: Mutex<Vec<RecordedRequest>>,
}

impl Recorder {
    pub fn record(&self, request: RecordedRequest) {
        tracing::debug!(
            method = %request.method,
            path = %request.path,
            token = request.token_name.as_deref().unwrap_or("-"),
            "request"
        );
        lock(&self.requests).push(request);
    }

    pub fn all(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    pub fn count(&self) -> usize {
        lock(&self.requests).len()
    }

    pub fn count_for(&self, token_name: &str) -> usize {
        lock(&self.requests)
            .iter()
            .filter(|r| r.token_name.as_deref() == Some(token_name))
            .count()
    }

    pub fn clear(&self) {
        lock(&self.requests).clear();
    }
}
