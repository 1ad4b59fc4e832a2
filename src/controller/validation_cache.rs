//! One Bitbucket call per interval for BitbucketTokens that share the same token, server and
//! access: results are shared, and concurrent reconciles for the same key wait for one call.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};

use super::verdict::TokenVerdict;

/// How long a transient failure is shared, so many BitbucketTokens with one token do not all
/// retry at once against a struggling Bitbucket.
const TRANSIENT_SHARE: Duration = Duration::from_secs(5);
/// Entries older than this are dropped when the cache is tidied.
const MAX_ENTRY_AGE: TimeDelta = TimeDelta::days(2);

/// What identifies one validation: server, token kind, token fingerprint, identity hints and access.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey(pub String);

/// A shared validation result.
#[derive(Clone, Debug)]
pub struct CachedVerdict {
    pub verdict: TokenVerdict,
    /// When Bitbucket answered.
    pub at: DateTime<Utc>,
    /// True when this reconcile made the call; false when it reused another's.
    pub fresh_call: bool,
}

type Slot = Arc<tokio::sync::Mutex<Option<(TokenVerdict, DateTime<Utc>)>>>;

/// The shared results, keyed by [`CacheKey`].
#[derive(Default)]
pub struct ValidationCache {
    slots: Mutex<HashMap<CacheKey, Slot>>,
}

impl ValidationCache {
    /// Returns a result for `key` younger than `max_age` (or, for a transient failure, younger than
    /// a few seconds), or runs `validate` — once, even when many reconciles ask at the same time.
    pub async fn get_or_validate<F, Fut>(
        &self,
        key: CacheKey,
        max_age: Duration,
        validate: F,
    ) -> CachedVerdict
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = TokenVerdict>,
    {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        let now = Utc::now();
        if let Some((verdict, at)) = guard.as_ref() {
            let share_for = if verdict.is_definitive() {
                max_age
            } else {
                TRANSIENT_SHARE.min(max_age)
            };
            if now - *at < TimeDelta::from_std(share_for).unwrap_or(TimeDelta::MAX) {
                return CachedVerdict {
                    verdict: verdict.clone(),
                    at: *at,
                    fresh_call: false,
                };
            }
        }
        let verdict = validate().await;
        let at = Utc::now();
        *guard = Some((verdict.clone(), at));
        CachedVerdict {
            verdict,
            at,
            fresh_call: true,
        }
    }

    /// Records `verdict`, given by Bitbucket at `at`, for `key` unless a result is already there:
    /// a previous process's still-fresh answer, read back from the object's status.
    pub async fn seed(&self, key: CacheKey, verdict: TokenVerdict, at: DateTime<Utc>) {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if guard.is_none() {
            *guard = Some((verdict, at));
        }
    }

    /// Forgets the result for `key` (e.g. after the source Secret changed).
    pub fn forget(&self, key: &CacheKey) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(key);
        }
    }

    fn slot(&self, key: CacheKey) -> Slot {
        // A poisoned lock only means another reconcile panicked mid-insert; the map is still usable.
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slots.len() > 1024 && slots.len().is_power_of_two() {
            let cutoff = Utc::now() - MAX_ENTRY_AGE;
            slots.retain(|_, slot| match slot.try_lock() {
                Ok(entry) => entry.as_ref().is_some_and(|(_, at)| *at > cutoff),
                Err(_) => true,
            });
        }
        slots.entry(key).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::api::Reason;

    fn key(name: &str) -> CacheKey {
        CacheKey(name.into())
    }

    #[tokio::test]
    async fn concurrent_requests_for_one_key_make_one_call() {
        let cache = Arc::new(ValidationCache::default());
        let calls = Arc::new(AtomicU32::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_validate(key("k"), Duration::from_secs(3600), || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::task::yield_now().await;
                            TokenVerdict::invalid(Reason::Unauthorized, "no")
                        })
                        .await
                })
            })
            .collect();
        let mut fresh = 0;
        for task in tasks {
            fresh += u32::from(task.await.unwrap().fresh_call);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(fresh, 1);
    }

    #[tokio::test]
    async fn different_keys_and_expired_entries_call_again() {
        let cache = ValidationCache::default();
        let calls = AtomicU32::new(0);
        let validate = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            TokenVerdict::invalid(Reason::Unauthorized, "no")
        };
        cache
            .get_or_validate(key("a"), Duration::from_secs(3600), validate)
            .await;
        cache
            .get_or_validate(key("b"), Duration::from_secs(3600), validate)
            .await;
        cache
            .get_or_validate(key("a"), Duration::ZERO, validate)
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        cache.forget(&key("a"));
        cache
            .get_or_validate(key("a"), Duration::from_secs(3600), validate)
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}
