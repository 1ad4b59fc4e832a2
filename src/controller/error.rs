//! Errors that make a reconcile fail and be retried (apiserver trouble, not token problems).

/// Why a reconcile failed; token problems are not errors, they are reported in status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading a source Secret failed: {}", api_message(.0))]
    ReadSource(#[source] kube::Error),
    #[error("reading the rendered Secret failed: {}", api_message(.0))]
    ReadTarget(#[source] kube::Error),
    #[error("writing the rendered Secret failed: {}", api_message(.0))]
    WriteTarget(#[source] kube::Error),
    #[error("writing the status failed: {}", api_message(.0))]
    WriteStatus(#[source] kube::Error),
    #[error("restarting workloads after the rotation failed: {}", api_message(.0))]
    RestartWorkloads(#[source] kube::Error),
    #[error("spec.target.restartOnRotation.selector is not a valid label selector: {0}")]
    InvalidSelector(String),
    #[error("the BitbucketToken has no namespace")]
    NoNamespace,
    #[error("the BitbucketToken has no uid yet")]
    NoUid,
    #[error("this replica no longer holds the leader Lease; the write was not made")]
    Fenced,
}

/// The API server's answer once: its message, reason and code (kube's own Display repeats the
/// message inside a dump of the whole Status); other errors as they display themselves.
fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!(
            "{} ({}, HTTP {})",
            status.message, status.reason, status.code
        ),
        other => other.to_string(),
    }
}

impl Error {
    /// Every value [`Error::metric_label`] returns, so the error counter can start at 0 for each
    /// (a `rate()` over a series that appears only with the first error misses that error).
    pub const METRIC_LABELS: [&'static str; 9] = [
        "read_source",
        "read_target",
        "write_target",
        "write_status",
        "restart_workloads",
        "invalid_selector",
        "no_namespace",
        "no_uid",
        "fenced",
    ];

    /// A short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::ReadSource(_) => "read_source",
            Error::ReadTarget(_) => "read_target",
            Error::WriteTarget(_) => "write_target",
            Error::WriteStatus(_) => "write_status",
            Error::RestartWorkloads(_) => "restart_workloads",
            Error::InvalidSelector(_) => "invalid_selector",
            Error::NoNamespace => "no_namespace",
            Error::NoUid => "no_uid",
            Error::Fenced => "fenced",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_is_listed() {
        for error in [
            Error::InvalidSelector(String::new()),
            Error::NoNamespace,
            Error::NoUid,
            Error::Fenced,
            Error::ReadSource(kube::Error::LinesCodecMaxLineLengthExceeded),
            Error::ReadTarget(kube::Error::LinesCodecMaxLineLengthExceeded),
            Error::WriteTarget(kube::Error::LinesCodecMaxLineLengthExceeded),
            Error::WriteStatus(kube::Error::LinesCodecMaxLineLengthExceeded),
            Error::RestartWorkloads(kube::Error::LinesCodecMaxLineLengthExceeded),
        ] {
            assert!(Error::METRIC_LABELS.contains(&error.metric_label()));
        }
    }
}
