//! No writes from a former leader: every write first asks the fence whether this process still
//! holds the leader Lease.
//!
//! The election's own view (kube-lease-manager) changes only when it next looks at the Lease, and
//! not at all while the API server refuses its renewals, so a process that was paused (a long GC or
//! CPU-throttling stall, SIGSTOP) or cut off can wake up believing it still leads, long after a
//! standby took over, and its in-flight reconciles would write. The fence instead trusts the
//! Lease's own record: this process may write until `renewTime + leaseDurationSeconds - margin`
//! (the moment a standby may take the Lease, less half the renewal grace for clock skew), and once
//! that has passed it reads the Lease again before letting a write through. When the Lease names
//! another holder, the fence stays shut and the process stops (see `run`).

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use tokio::{sync::Mutex, time::Instant};

use super::{error::Error, shutdown::Shutdown};

/// What the fence needs to know about the election.
pub struct LeaseTerms {
    pub api: Api<Lease>,
    pub name: String,
    pub identity: String,
    /// The Lease's duration; a standby may take it this long after its last renewal.
    pub duration: Duration,
    /// Taken off the end of each term: room for clock skew between nodes.
    pub margin: Duration,
    /// Thrown when the Lease names another holder.
    pub on_loss: Shutdown,
}

/// The fence; without an election ([`Fence::arm`] never called) it is always open.
#[derive(Default)]
pub struct Fence {
    terms: OnceLock<LeaseTerms>,
    /// The end of the term this process last saw recorded in the Lease.
    until: Mutex<Option<Instant>>,
    lost: AtomicBool,
}

impl Fence {
    /// Makes every later write depend on holding the Lease described by `terms`.
    pub fn arm(&self, terms: LeaseTerms) {
        let _ = self.terms.set(terms);
    }

    /// True once the Lease was seen to name another holder.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// `Ok` when this process may write now; [`Error::Fenced`] once its term is over and the
    /// Lease does not show a newer one of its own.
    pub async fn check(&self) -> Result<(), Error> {
        let Some(terms) = self.terms.get() else {
            return Ok(());
        };
        if self.lost.load(Ordering::Acquire) {
            return Err(Error::Fenced);
        }
        // One reader of the Lease at a time; the others use what it found.
        let mut until = self.until.lock().await;
        if until.is_some_and(|end| Instant::now() < end) {
            return Ok(());
        }
        *until = self.read_term(terms).await;
        match *until {
            Some(end) if Instant::now() < end => Ok(()),
            _ => Err(Error::Fenced),
        }
    }

    /// The end of this process's current term as the Lease records it; `None` when the Lease
    /// cannot be read, or names another holder (then the process is told to stop).
    async fn read_term(&self, terms: &LeaseTerms) -> Option<Instant> {
        let lease = match terms.api.get(&terms.name).await {
            Ok(lease) => lease,
            Err(error) => {
                tracing::warn!(%error, "cannot read the leader Lease; holding writes back");
                return None;
            }
        };
        let spec = lease.spec.unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(terms.identity.as_str()) {
            if !self.lost.swap(true, Ordering::AcqRel) {
                tracing::error!(
                    holder = spec.holder_identity.as_deref().unwrap_or(""),
                    "another replica holds the leader Lease; writing nothing more and stopping"
                );
                terms.on_loss.trigger();
            }
            return None;
        }
        let renewed = spec.renew_time?;
        let renewed = SystemTime::UNIX_EPOCH
            + Duration::from_nanos(u64::try_from(renewed.0.as_nanosecond()).ok()?);
        let end = renewed + terms.duration.checked_sub(terms.margin)?;
        let left = end.duration_since(SystemTime::now()).ok()?;
        Some(Instant::now() + left)
    }
}
