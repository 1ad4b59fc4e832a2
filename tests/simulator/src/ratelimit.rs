//! Per-token request budgets over a rolling hour.
//!
//! Cloud: each access token has its own hourly allowance and exceeding it yields 429
//! (bitbucket-api.md §5, C). Data Center: a per-user token bucket (C); the simulator
//! models it per token as `rate_limit` requests per rolling hour, and reports the
//! wait until the oldest counted request leaves the window as `Retry-After` (I).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::sync::lock;

const WINDOW: Duration = Duration::from_secs(3600);

/// Outcome of charging one request to a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateDecision {
    /// Allowed; `remaining` is what is left of a finite budget after this request.
    Allowed { remaining: Option<u32> },
    /// Over budget; the budget frees up again after `retry_after_secs`.
    Limited { retry_after_secs: u64 },
}

#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// Charges one request to `token_name` against `limit` requests per rolling hour.
    pub fn charge(&self, token_name: &str, limit: Option<u32>) -> RateDecision {
        let Some(limit) = limit else {
            return RateDecision::Allowed { remaining: None };
        };
        let now = Instant::now();
        let mut windows = lock(&self.windows);
        let window = windows.entry(token_name.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            window.pop_front();
        }
        let used = u32::try_from(window.len()).unwrap_or(u32::MAX);
        if used >= limit {
            let retry_after_secs = window
                .front()
                .map(|oldest| WINDOW.saturating_sub(now.saturating_duration_since(*oldest)))
                .map(|wait| wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
                .unwrap_or(WINDOW.as_secs())
                .max(1);
            return RateDecision::Limited { retry_after_secs };
        }
        window.push_back(now);
        RateDecision::Allowed {
            remaining: Some(limit - used - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn budget_refills_after_an_hour() {
        let limiter = RateLimiter::default();
        assert_eq!(
            limiter.charge("t", Some(2)),
            RateDecision::Allowed { remaining: Some(1) }
        );
        assert_eq!(
            limiter.charge("t", Some(2)),
            RateDecision::Allowed { remaining: Some(0) }
        );
        assert_eq!(
            limiter.charge("t", Some(2)),
            RateDecision::Limited {
                retry_after_secs: 3600
            }
        );
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(matches!(
            limiter.charge("t", Some(2)),
            RateDecision::Allowed { .. }
        ));
        assert_eq!(
            limiter.charge("u", None),
            RateDecision::Allowed { remaining: None }
        );
    }
}
