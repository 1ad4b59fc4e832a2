//! Per-object back-off after failed reconciles (Kubernetes API errors, not token problems).
//!
//! Each BitbucketToken has its own count of consecutive failures, cleared by its next successful
//! reconcile. The wait before the next attempt doubles with each failure, from [`BASE`] up to
//! [`CAP`], and is spread by a jitter of up to half of it, seeded by the object's uid and the
//! attempt, so objects that failed together (an API server outage) do not retry on the same beat.
//! This is the per-item exponential rate limiter of client-go's work queues, which cert-manager's
//! controllers use for API errors; failures of Bitbucket are counted in status instead
//! (`failedValidationAttempts`, see [`super::schedule::retry_delay`]), because only those can always
//! be written there: an API error may be the status write itself.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use kube::runtime::reflector::ObjectRef;

use crate::api::BitbucketToken;

/// Wait after the first failure (before jitter).
pub const BASE: Duration = Duration::from_secs(5);
/// Longest wait between attempts (before jitter).
pub const CAP: Duration = Duration::from_secs(300);

/// Consecutive reconcile failures per object.
#[derive(Default)]
pub struct ApiBackoff {
    failures: Mutex<HashMap<ObjectRef<BitbucketToken>, u32>>,
}

/// The retry after one more failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Consecutive failures of this object, this one included (1-based).
    pub attempt: u32,
    /// How long to wait before the next attempt.
    pub delay: Duration,
}

impl ApiBackoff {
    /// Counts a failure of `object` (whose uid is `uid`) and says when to try again.
    pub fn failed(&self, object: &ObjectRef<BitbucketToken>, uid: &str) -> Retry {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let attempt = failures.entry(object.clone()).or_insert(0);
        *attempt = attempt.saturating_add(1);
        Retry {
            attempt: *attempt,
            delay: delay(*attempt, jitter_seed(uid, *attempt)),
        }
    }

    /// Clears the failures of `object` after a successful reconcile.
    pub fn succeeded(&self, object: &ObjectRef<BitbucketToken>) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if !failures.is_empty() {
            failures.remove(object);
        }
    }
}

/// The wait after `attempt` consecutive failures: `BASE * 2^(attempt-1)`, at most [`CAP`], minus
/// a jitter of up to half of it taken from `seed`.
pub fn delay(attempt: u32, seed: u64) -> Duration {
    let exponential = BASE
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(CAP);
    let unit = (seed % 10_000) as f64 / 10_000.0;
    exponential.mul_f64(1.0 - 0.5 * unit)
}

/// A seed that differs between objects, between attempts and between processes.
fn jitter_seed(uid: &str, attempt: u32) -> u64 {
    let salt = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let bytes = uid
        .bytes()
        .chain(attempt.to_le_bytes())
        .chain(salt.to_le_bytes());
    bytes.fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_jitter_and_cap() {
        for attempt in 1..=12 {
            let full = BASE.saturating_mul(1 << (attempt - 1)).min(CAP);
            for seed in [0, 1, 4_999, 9_999, 123_456_789] {
                let wait = delay(attempt, seed);
                assert!(wait <= full && wait >= full / 2, "{attempt}: {wait:?}");
            }
        }
        assert_eq!(delay(1, 0), BASE);
        assert_eq!(delay(40, 0), CAP);
    }

    #[test]
    fn failures_count_per_object_and_clear_on_success() {
        let backoff = ApiBackoff::default();
        let a = ObjectRef::new("a").within("ci");
        let b = ObjectRef::new("b").within("ci");
        assert_eq!(backoff.failed(&a, "ua").attempt, 1);
        assert_eq!(backoff.failed(&a, "ua").attempt, 2);
        let third = backoff.failed(&a, "ua");
        assert_eq!(third.attempt, 3);
        assert!(third.delay >= BASE * 2, "{third:?}");
        assert_eq!(backoff.failed(&b, "ub").attempt, 1, "objects are separate");
        backoff.succeeded(&a);
        assert_eq!(backoff.failed(&a, "ua").attempt, 1);
    }
}
