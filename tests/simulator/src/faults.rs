//! Injected failures, applied to every API request (never to the `/_sim` control API).

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A failure mode imposed on all API requests until changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Normal behaviour.
    #[default]
    None,
    /// 503 Service Unavailable.
    ServiceUnavailable,
    /// 500 Internal Server Error.
    InternalError,
    /// Delay every response by this long, then answer normally.
    Slow(Duration),
    /// 200 OK with a body that is not JSON (as a captive portal or proxy page would).
    GarbageBody,
    /// 429 Too Many Requests for every request, with `Retry-After` when set.
    RateLimited {
        /// Seconds for the `Retry-After` header.
        retry_after: Option<u64>,
    },
}

impl Fault {
    /// Parses the control API spelling: `none|unavailable|internal|slow:<ms>|garbage|ratelimited[:<secs>]`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (name, arg) = match text.split_once(':') {
            Some((name, arg)) => (name, Some(arg.trim())),
            None => (text, None),
        };
        match (name.to_ascii_lowercase().as_str(), arg) {
            ("none", None) => Some(Self::None),
            ("unavailable", None) => Some(Self::ServiceUnavailable),
            ("internal", None) => Some(Self::InternalError),
            ("garbage", None) => Some(Self::GarbageBody),
            ("slow", Some(ms)) => ms
                .parse()
                .ok()
                .map(|ms| Self::Slow(Duration::from_millis(ms))),
            ("ratelimited", None) => Some(Self::RateLimited { retry_after: None }),
            ("ratelimited", Some(secs)) => secs.parse().ok().map(|s| Self::RateLimited {
                retry_after: Some(s),
            }),
            _ => None,
        }
    }
}

/// Applies `fault`: `Some(response)` replaces the real answer, `None` lets it through
/// (after the delay, for [`Fault::Slow`]).
pub(crate) async fn apply(fault: Fault) -> Option<Response> {
    let html = |status: StatusCode, text: &'static str| {
        (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
            text,
        )
            .into_response()
    };
    match fault {
        Fault::None => None,
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::ServiceUnavailable => Some(html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
        )),
        Fault::InternalError => Some(html(
            StatusCode::INTERNAL_SERVER_ERROR,
            "<html><body><h1>500 Internal Server Error</h1></body></html>",
        )),
        Fault::GarbageBody => Some(html(
            StatusCode::OK,
            "<html><body>Please sign in to the corporate network</body></html>",
        )),
        Fault::RateLimited { retry_after } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
                "Rate limit for this resource has been exceeded",
            )
                .into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Some(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_control_spellings() {
        assert_eq!(Fault::parse("none"), Some(Fault::None));
        assert_eq!(Fault::parse("unavailable"), Some(Fault::ServiceUnavailable));
        assert_eq!(Fault::parse("internal"), Some(Fault::InternalError));
        assert_eq!(Fault::parse("garbage"), Some(Fault::GarbageBody));
        assert_eq!(
            Fault::parse("slow:250"),
            Some(Fault::Slow(Duration::from_millis(250)))
        );
        assert_eq!(
            Fault::parse("ratelimited"),
            Some(Fault::RateLimited { retry_after: None })
        );
        assert_eq!(
            Fault::parse("ratelimited:30"),
            Some(Fault::RateLimited {
                retry_after: Some(30)
            })
        );
        assert_eq!(Fault::parse("slow"), None);
        assert_eq!(Fault::parse("bogus"), None);
    }
}
