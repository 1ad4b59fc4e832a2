//! At most one validation in flight per (host, token): concurrent checks of the same token wait
//! for each other instead of hitting Bitbucket in parallel.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// Keyed async locks, dropped from the map once nobody holds or waits for them.
#[derive(Clone, Default)]
pub struct InFlight {
    locks: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

/// Held while a validation for one (host, token) runs.
pub struct InFlightGuard {
    _guard: OwnedMutexGuard<()>,
}

impl InFlight {
    /// Waits until no other validation for `key` runs, then holds it.
    pub async fn enter(&self, key: String) -> InFlightGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            // Forget keys nobody holds, so the map does not grow with every token ever seen.
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            locks.entry(key).or_default().clone()
        };
        InFlightGuard {
            _guard: lock.lock_owned().await,
        }
    }

    /// How many keys are held or awaited (for tests).
    #[cfg(test)]
    fn active(&self) -> usize {
        let locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.values().filter(|l| Arc::strong_count(l) > 1).count()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_holder_per_key_and_keys_are_independent() {
        let inflight = InFlight::default();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (inflight, running, peak) = (inflight.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    let _guard = inflight.enter("host/token-a".into()).await;
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        let _other = inflight.enter("host/token-b".into()).await;
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 1);
        assert_eq!(inflight.active(), 1, "only token-b is still held");
    }
}
