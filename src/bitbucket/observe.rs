//! A hook for counting Bitbucket requests (the operator's metrics), kept as a trait so the client
//! does not depend on the metrics library.

use std::{fmt, sync::Arc, time::Duration};

/// Receives one call per HTTP attempt.
pub trait RequestObserver: Send + Sync {
    /// `host` is `host[:port]`; `status` is the status class (`2xx`, `4xx`, `429`, `5xx`) or
    /// `error` when no answer came (connection, TLS, timeout).
    fn observe(&self, host: &str, status: &str, elapsed: Duration);
}

/// An optional, shareable observer.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn RequestObserver>>);

impl Observer {
    pub fn new(observer: Arc<dyn RequestObserver>) -> Self {
        Self(Some(observer))
    }

    pub(crate) fn observe(&self, host: &str, status: Option<u16>, elapsed: Duration) {
        if let Some(observer) = &self.0 {
            observer.observe(host, status_class(status), elapsed);
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}

/// The status class of an answer, as a metric label.
pub fn status_class(status: Option<u16>) -> &'static str {
    match status {
        None => "error",
        Some(429) => "429",
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(_) => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(status_class(Some(200)), "2xx");
        assert_eq!(status_class(Some(404)), "4xx");
        assert_eq!(status_class(Some(429)), "429");
        assert_eq!(status_class(Some(503)), "5xx");
        assert_eq!(status_class(None), "error");
    }
}
