//! Stretching validation intervals fairly when the operator cannot keep up with them.
//!
//! Demand is what the BitbucketTokens ask for: the sum over objects of one check per requested
//! interval (checks per second). Capacity is what the operator and the API server deliver: the
//! reconcile slots divided by the mean duration of a reconcile (a moving average, so a slower API
//! server lowers it). When demand exceeds [`TARGET_UTILISATION`] of capacity, every interval is
//! multiplied by the same factor (demand / usable capacity): each object is checked less often, in
//! proportion to what it asked for, and none is left out. The factor is exported as a metric and
//! each stretched object says so in its `IntervalStretched` condition.

use std::{sync::Mutex, time::Duration};

/// Share of the capacity periodic checks may use; the rest is for changes (new objects, edits,
/// rotations, repairs) that must not wait behind them.
pub const TARGET_UTILISATION: f64 = 0.7;
/// Factors below this count as no stretch (no flapping around 1).
const MIN_STRETCH: f64 = 1.05;
/// Weight of each new reconcile duration in the moving average.
const SMOOTHING: f64 = 0.02;

/// The measured load and the resulting stretch factor.
pub struct Load {
    permits: usize,
    mean_seconds: Mutex<Option<f64>>,
    /// The current stretch (`None`: intervals as requested).
    current: Mutex<Option<Stretch>>,
}

/// What the stretch was computed from, for messages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stretch {
    /// Multiplier of every validation interval (> 1).
    pub factor: f64,
    /// Checks per second the BitbucketTokens ask for.
    pub demand: f64,
    /// Reconciles per second the operator can run.
    pub capacity: f64,
}

impl Load {
    /// A tracker for an operator running `permits` reconciles at once.
    pub fn new(permits: usize) -> Self {
        Self {
            permits: permits.max(1),
            mean_seconds: Mutex::new(None),
            current: Mutex::new(None),
        }
    }

    /// Records how long one reconcile took (slot held, not queueing).
    pub fn record(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let mut mean = self.mean_seconds.lock().unwrap_or_else(|p| p.into_inner());
        *mean = Some(match *mean {
            None => seconds,
            Some(mean) => mean + SMOOTHING * (seconds - mean),
        });
    }

    /// Recomputes the factor for a demand of `demand` checks per second; returns the stretch,
    /// `None` when the operator keeps up.
    pub fn update(&self, demand: f64) -> Option<Stretch> {
        let mean = *self.mean_seconds.lock().unwrap_or_else(|p| p.into_inner());
        let stretch = mean.and_then(|mean| stretch(demand, self.permits, mean));
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = stretch;
        stretch
    }

    /// The current stretch, `None` while the operator keeps up.
    pub fn current(&self) -> Option<Stretch> {
        *self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current factor (1.0: intervals as requested).
    pub fn factor(&self) -> f64 {
        self.current().map_or(1.0, |s| s.factor)
    }
}

/// The stretch for `demand` checks per second with `permits` slots and reconciles of
/// `mean_seconds`; `None` when the usable capacity covers the demand.
pub fn stretch(demand: f64, permits: usize, mean_seconds: f64) -> Option<Stretch> {
    if mean_seconds <= 0.0 || demand <= 0.0 {
        return None;
    }
    let capacity = permits as f64 / mean_seconds;
    let factor = demand / (capacity * TARGET_UTILISATION);
    (factor >= MIN_STRETCH).then_some(Stretch {
        factor,
        demand,
        capacity,
    })
}

/// `interval` multiplied by `factor` (at least `interval`).
pub fn stretched(interval: Duration, factor: f64) -> Duration {
    if factor > 1.0 && factor.is_finite() {
        interval.mul_f64(factor.min(1e6))
    } else {
        interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_only_beyond_the_usable_capacity() {
        // 10,000 objects every minute, 32 slots of 0.26 s (issue 18's run): about 1.9 times.
        let demand = 10_000.0 / 60.0;
        let s = stretch(demand, 32, 0.26).unwrap();
        assert!((s.capacity - 123.08).abs() < 0.1, "{s:?}");
        assert!((s.factor - 1.93).abs() < 0.01, "{s:?}");
        // 1,000 objects every minute keep well within it.
        assert_eq!(stretch(1_000.0 / 60.0, 32, 0.26), None);
        assert_eq!(stretch(demand, 32, 0.0), None);
    }

    #[test]
    fn the_factor_follows_measured_durations() {
        let load = Load::new(1);
        assert_eq!(load.update(100.0), None, "nothing measured yet");
        assert_eq!(load.factor(), 1.0);
        load.record(Duration::from_millis(100));
        let s = load.update(100.0).unwrap();
        assert!((s.factor - 100.0 / 7.0).abs() < 1e-9, "{s:?}");
        assert_eq!(load.factor(), s.factor);
        assert_eq!(load.update(1.0), None);
        assert_eq!(load.factor(), 1.0);
        assert_eq!(
            stretched(Duration::from_secs(60), 2.5),
            Duration::from_secs(150)
        );
        assert_eq!(
            stretched(Duration::from_secs(60), 0.5),
            Duration::from_secs(60)
        );
    }
}
