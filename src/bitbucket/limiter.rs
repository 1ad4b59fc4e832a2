//! A per-host token bucket, so the operator never sends Bitbucket more than a set number of requests
//! per second, and slows down further when Cloud says the budget is nearly spent.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::time::Instant;

/// How long a host stays slowed after `X-RateLimit-NearLimit: true` or a 429.
pub const SLOW_DOWN_FOR: Duration = Duration::from_secs(60);
/// The rate is divided by this while a host is slowed.
pub const SLOW_DOWN_FACTOR: u32 = 4;

/// Request pacing per host. Uses tokio's clock, so tests run it on a paused clock.
#[derive(Clone)]
pub struct HostLimiter {
    per_second: f64,
    hosts: Arc<Mutex<HashMap<String, Bucket>>>,
}

struct Bucket {
    /// The earliest moment the next request may start.
    next_free: Instant,
    /// Until when the host is slowed.
    slowed_until: Option<Instant>,
}

impl HostLimiter {
    /// `per_second` requests per second per host (at least one request per ten minutes).
    pub fn new(per_second: f64) -> Self {
        Self {
            per_second: per_second.max(1.0 / 600.0),
            hosts: Arc::default(),
        }
    }

    /// Waits until a request to `host` may be sent, and books its slot.
    pub async fn acquire(&self, host: &str) {
        let start_at = self.book(host);
        tokio::time::sleep_until(start_at).await;
    }

    /// Slows `host` down for [`SLOW_DOWN_FOR`] (Cloud's `X-RateLimit-NearLimit`, or a 429).
    pub fn slow_down(&self, host: &str) {
        let mut hosts = self.lock();
        let now = Instant::now();
        let bucket = hosts.entry(host.to_string()).or_insert(Bucket {
            next_free: now,
            slowed_until: None,
        });
        bucket.slowed_until = Some(now + SLOW_DOWN_FOR);
    }

    /// True while `host` is slowed down.
    pub fn is_slowed(&self, host: &str) -> bool {
        let now = Instant::now();
        self.lock()
            .get(host)
            .and_then(|b| b.slowed_until)
            .is_some_and(|until| until > now)
    }

    fn book(&self, host: &str) -> Instant {
        let mut hosts = self.lock();
        let now = Instant::now();
        let bucket = hosts.entry(host.to_string()).or_insert(Bucket {
            next_free: now,
            slowed_until: None,
        });
        let slowed = bucket.slowed_until.is_some_and(|until| until > now);
        let rate = if slowed {
            self.per_second / f64::from(SLOW_DOWN_FACTOR)
        } else {
            self.per_second
        };
        let start_at = bucket.next_free.max(now);
        bucket.next_free = start_at + Duration::from_secs_f64(1.0 / rate);
        start_at
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        // The map holds only timing data; a panic elsewhere cannot leave it inconsistent.
        self.hosts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_requests_per_host() {
        let limiter = HostLimiter::new(5.0);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire("api.bitbucket.org").await;
        }
        // The first request goes at once, then one every 200 ms.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let other = Instant::now();
        limiter.acquire("git.example.com").await;
        assert_eq!(
            other.elapsed(),
            Duration::ZERO,
            "hosts do not share a budget"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_saved_up_as_a_burst() {
        let limiter = HostLimiter::new(2.0);
        limiter.acquire("h").await;
        tokio::time::advance(Duration::from_secs(60)).await;
        let start = Instant::now();
        limiter.acquire("h").await;
        limiter.acquire("h").await;
        limiter.acquire("h").await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn slow_down_divides_the_rate_for_a_while() {
        let limiter = HostLimiter::new(4.0);
        limiter.acquire("h").await;
        limiter.slow_down("h");
        assert!(limiter.is_slowed("h"));
        let start = Instant::now();
        limiter.acquire("h").await;
        limiter.acquire("h").await;
        // 250 ms booked before the slow-down, then 1 s per request at a quarter of the rate.
        assert_eq!(start.elapsed(), Duration::from_millis(1250));
        tokio::time::advance(SLOW_DOWN_FOR).await;
        assert!(!limiter.is_slowed("h"));
    }
}
