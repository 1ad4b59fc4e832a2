//! When to look again: jittered revalidation, the moments `Expiring` flips, and retry back-off.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Fraction of the interval added as jitter, so tokens created together spread their checks.
const JITTER_FRACTION: f64 = 0.1;
/// First retry after a transient failure, doubled per attempt.
const RETRY_BASE: Duration = Duration::from_secs(5);
/// Longest wait between retries after transient failures.
const RETRY_CAP: Duration = Duration::from_secs(300);

/// The next validation: `validated_at + interval`, plus up to 10% jitter (never earlier, so a
/// result shared by several BitbucketTokens is still fresh when the next one becomes due).
pub fn next_validation(
    validated_at: DateTime<Utc>,
    interval: Duration,
    jitter_seed: u64,
) -> DateTime<Utc> {
    // A cheap deterministic spread in [0, 1) from the seed (the object's uid hash).
    let unit = (jitter_seed % 10_000) as f64 / 10_000.0;
    let jitter = interval.mul_f64(JITTER_FRACTION * unit);
    validated_at + to_delta(interval + jitter)
}

/// How long to wait before retrying after `attempt` consecutive transient failures (1-based),
/// honouring a server's `Retry-After` and never waiting longer than the validation interval.
pub fn retry_delay(attempt: u32, retry_after: Option<Duration>, interval: Duration) -> Duration {
    let exponential = RETRY_BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
    let wait = retry_after.map_or(exponential, |after| after.max(RETRY_BASE));
    wait.min(RETRY_CAP).min(interval)
}

/// Where a known expiry stands relative to now and the warning window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryPhase {
    /// Before the warning window opens.
    Fine,
    /// Inside the warning window.
    ExpiresSoon,
    /// Past the expiry.
    Expired,
}

/// Classifies `expires_at` at `now` for a warning window of `warning`.
pub fn expiry_phase(
    expires_at: DateTime<Utc>,
    warning: Duration,
    now: DateTime<Utc>,
) -> ExpiryPhase {
    if now >= expires_at {
        ExpiryPhase::Expired
    } else if now >= expires_at - to_delta(warning) {
        ExpiryPhase::ExpiresSoon
    } else {
        ExpiryPhase::Fine
    }
}

/// The next moment after `now` at which the expiry phase changes, if any.
pub fn next_expiry_flip(
    expires_at: DateTime<Utc>,
    warning: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let window_opens = expires_at - to_delta(warning);
    [window_opens, expires_at]
        .into_iter()
        .find(|moment| *moment > now)
}

/// The time from `now` until `moment`, at least one second (zero when `moment` has passed is
/// handled by the caller as "now").
pub fn until(moment: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (moment - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_secs(1))
}

fn to_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn next_validation_adds_interval_and_at_most_ten_percent() {
        let start = at("2026-01-01T00:00:00Z");
        let hour = Duration::from_secs(3600);
        assert_eq!(next_validation(start, hour, 0), at("2026-01-01T01:00:00Z"));
        let latest = next_validation(start, hour, 9_999);
        assert!(latest > at("2026-01-01T01:05:59Z") && latest <= at("2026-01-01T01:06:00Z"));
        let spread: std::collections::HashSet<_> = (0..50u64)
            .map(|s| next_validation(start, hour, s * 197))
            .collect();
        assert!(spread.len() > 40, "jitter spreads tokens");
    }

    #[test]
    fn retry_backs_off_exponentially_within_bounds() {
        let hour = Duration::from_secs(3600);
        assert_eq!(retry_delay(1, None, hour), Duration::from_secs(5));
        assert_eq!(retry_delay(2, None, hour), Duration::from_secs(10));
        assert_eq!(retry_delay(4, None, hour), Duration::from_secs(40));
        assert_eq!(retry_delay(30, None, hour), RETRY_CAP);
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(120)), hour),
            Duration::from_secs(120)
        );
        assert_eq!(
            retry_delay(8, None, Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn expiry_phases_and_flips() {
        let expires = at("2026-03-01T00:00:00Z");
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(
            expiry_phase(expires, week, at("2026-02-01T00:00:00Z")),
            ExpiryPhase::Fine
        );
        assert_eq!(
            expiry_phase(expires, week, at("2026-02-22T00:00:00Z")),
            ExpiryPhase::ExpiresSoon
        );
        assert_eq!(
            expiry_phase(expires, week, at("2026-03-01T00:00:00Z")),
            ExpiryPhase::Expired
        );
        assert_eq!(
            next_expiry_flip(expires, week, at("2026-02-01T00:00:00Z")),
            Some(at("2026-02-22T00:00:00Z"))
        );
        assert_eq!(
            next_expiry_flip(expires, week, at("2026-02-23T00:00:00Z")),
            Some(expires)
        );
        assert_eq!(
            next_expiry_flip(expires, week, at("2026-03-02T00:00:00Z")),
            None
        );
    }
}
