//! Prometheus metrics of the operator, served as text on `/metrics` by [`crate::http`].

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// Labels of a failed reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// A short, closed set of values (`Error::metric_label`), never free text.
    pub reason: String,
}

/// The operator's metrics and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    /// `bitbucket_token_operator_reconcile_total`: reconciles started.
    pub reconciles: Counter,
    /// `bitbucket_token_operator_reconcile_errors_total{reason}`: reconciles that failed.
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    /// `bitbucket_token_operator_leader`: 1 while this process runs the controllers.
    pub leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("bitbucket_token_operator");
        let reconciles = Counter::default();
        registry.register(
            "reconcile",
            "Reconciles of BitbucketTokens started",
            reconciles.clone(),
        );
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that failed and will be retried, by reason",
            reconcile_errors.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica leads and runs the controllers, else 0",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_errors,
            leader,
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
    fn names_carry_the_prefix_and_the_total_suffix() {
        let metrics = Metrics::default();
        metrics.reconciles.inc();
        metrics.reconcile_failed("write_status");
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("bitbucket_token_operator_reconcile_total 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "bitbucket_token_operator_reconcile_errors_total{reason=\"write_status\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("bitbucket_token_operator_leader 0"), "{text}");
    }
}
