//! Condition types and statuses of a BitbucketToken (reasons: [`super::Reason`]).

/// The condition types a BitbucketToken reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionType {
    /// The Secret is rendered from the current token and the last definitive check passed.
    Ready,
    /// Bitbucket accepted the token with the requested access.
    TokenValid,
    /// Expiry falls inside the warning window or has passed.
    Expiring,
    /// Present (True) only while the operator checks this object less often than its interval
    /// asks, because it cannot keep up with every object's interval (see `controller::load`).
    IntervalStretched,
}

impl ConditionType {
    /// The `type` string written to status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Ready => "Ready",
            ConditionType::TokenValid => "TokenValid",
            ConditionType::Expiring => "Expiring",
            ConditionType::IntervalStretched => "IntervalStretched",
        }
    }
}

/// A condition's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    /// The `status` string written to status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// Converts a chrono instant into the apimachinery `Time` that conditions carry (k8s-openapi keeps
/// times as `jiff` timestamps). Instants outside jiff's range (years beyond ±9999) are clamped.
pub fn kube_time(
    at: chrono::DateTime<chrono::Utc>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    use k8s_openapi::jiff::Timestamp;
    let stamp = Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32).unwrap_or(
        if at.timestamp() < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        },
    );
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(stamp)
}
