//! Prometheus metrics of the operator, served as text on `/metrics` by [`crate::http`].
//!
//! Three groups share one registry:
//! - `bitbucket_token_*`: one series per BitbucketToken, computed at scrape time from the
//!   controllers' caches ([`TokenCollector`]), so a deleted object's series vanish with it;
//! - `bitbucket_api_*`: Bitbucket requests by host and status class, and their latency;
//! - `bitbucket_token_operator_*`: reconciles, their errors by reason and durations, leadership.

use std::{sync::Arc, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::{
    bitbucket::observe::{Observer, RequestObserver},
    token_metrics::TokenCollector,
};

/// Labels of a failed reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// A short, closed set of values (`Error::metric_label`), never free text.
    pub reason: String,
}

/// Labels of a Bitbucket request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `host[:port]` of the Bitbucket server.
    pub host: String,
    /// Status class: `2xx`, `3xx`, `4xx`, `429`, `5xx`, or `error` when no answer came.
    pub status: String,
}

/// Labels of a Bitbucket request's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HostLabels {
    pub host: String,
}

fn latency_histogram() -> Histogram {
    // 5 ms .. ~41 s
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// Bitbucket request counts and latency; the client reports every attempt here.
#[derive(Clone)]
pub struct BitbucketApiMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<HostLabels, Histogram, fn() -> Histogram>,
}

impl Default for BitbucketApiMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl RequestObserver for BitbucketApiMetrics {
    fn observe(&self, host: &str, status: &str, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                host: host.to_string(),
                status: status.to_string(),
            })
            .inc();
        self.durations
            .get_or_create(&HostLabels {
                host: host.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// The operator's metrics and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    /// `bitbucket_token_operator_reconcile_total`: reconciles started.
    pub reconciles: Counter,
    /// `bitbucket_token_operator_reconcile_errors_total{reason}`: reconciles that failed.
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    /// `bitbucket_token_operator_reconcile_duration_seconds`: how long reconciles took.
    pub reconcile_duration: Histogram,
    /// `bitbucket_token_operator_leader`: 1 while this process runs the controllers.
    pub leader: Gauge,
    /// `bitbucket_token_operator_interval_stretch_ratio`: how many times longer than requested
    /// every validation interval is, because the operator cannot keep up (1: as requested).
    pub interval_stretch: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `bitbucket_token_operator_reconcile_queue`: reconciles waiting for a slot.
    pub reconcile_queue: Gauge,
    /// Per-token series, from the controllers' caches.
    pub tokens: TokenCollector,
    bitbucket: BitbucketApiMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let tokens = TokenCollector::default();
        registry.register_collector(Box::new(tokens.clone()));

        let bitbucket = BitbucketApiMetrics::default();
        let api = registry.sub_registry_with_prefix("bitbucket_api");
        api.register(
            "requests",
            "Requests to Bitbucket by host and status class (error: no answer)",
            bitbucket.requests.clone(),
        );
        api.register_with_unit(
            "request_duration",
            "Latency of requests to Bitbucket by host",
            prometheus_client::registry::Unit::Seconds,
            bitbucket.durations.clone(),
        );

        let operator = registry.sub_registry_with_prefix("bitbucket_token_operator");
        let reconciles = Counter::default();
        operator.register(
            "reconcile",
            "Reconciles of BitbucketTokens started",
            reconciles.clone(),
        );
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        operator.register(
            "reconcile_errors",
            "Reconciles that failed and will be retried, by reason",
            reconcile_errors.clone(),
        );
        let reconcile_duration = latency_histogram();
        operator.register_with_unit(
            "reconcile_duration",
            "How long reconciles of BitbucketTokens took, failed ones included",
            prometheus_client::registry::Unit::Seconds,
            reconcile_duration.clone(),
        );
        let leader = Gauge::default();
        operator.register(
            "leader",
            "1 while this replica leads and runs the controllers, else 0",
            leader.clone(),
        );
        let interval_stretch = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        interval_stretch.set(1.0);
        operator.register_with_unit(
            "interval_stretch",
            "Factor by which every validation interval is lengthened because the operator cannot keep up with them (1: as requested)",
            prometheus_client::registry::Unit::Other("ratio".into()),
            interval_stretch.clone(),
        );
        let reconcile_queue = Gauge::default();
        operator.register(
            "reconcile_queue",
            "Reconciles of BitbucketTokens waiting for a free slot",
            reconcile_queue.clone(),
        );
        Self {
            registry,
            reconciles,
            interval_stretch,
            reconcile_queue,
            reconcile_errors,
            reconcile_duration,
            leader,
            tokens,
            bitbucket,
        }
    }
}

impl Metrics {
    /// Counts a failed reconcile.
    pub fn reconcile_failed(&self, reason: &str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// The hook the Bitbucket client reports its requests to.
    pub fn bitbucket_observer(&self) -> Observer {
        Observer::new(Arc::new(self.bitbucket.clone()))
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_prefixes_and_suffixes() {
        let metrics = Metrics::default();
        metrics.reconciles.inc();
        metrics.reconcile_failed("write_status");
        metrics.reconcile_duration.observe(0.02);
        metrics
            .bitbucket
            .observe("api.bitbucket.org", "2xx", Duration::from_millis(30));
        let text = metrics.encode().unwrap();
        for expected in [
            "bitbucket_token_operator_reconcile_total 1",
            "bitbucket_token_operator_reconcile_errors_total{reason=\"write_status\"} 1",
            "bitbucket_token_operator_reconcile_duration_seconds_count 1",
            "bitbucket_token_operator_leader 0",
            "bitbucket_api_requests_total{host=\"api.bitbucket.org\",status=\"2xx\"} 1",
            "bitbucket_api_request_duration_seconds_count{host=\"api.bitbucket.org\"} 1",
            "bitbucket_api_request_duration_seconds_bucket{le=\"0.04\",host=\"api.bitbucket.org\"} 1",
        ] {
            assert!(text.contains(expected), "missing {expected} in:\n{text}");
        }
    }
}
