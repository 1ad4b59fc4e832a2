//! Condition types and statuses of a BitbucketToken (reasons live with the controller).

/// The condition types a BitbucketToken reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionType {
    /// The Secret is rendered from the current token and the last definitive check passed.
    Ready,
    /// Bitbucket accepted the token with the requested access.
    TokenValid,
    /// Expiry falls inside the warning window or has passed.
    Expiring,
}

impl ConditionType {
    /// The `type` string written to status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Ready => "Ready",
            ConditionType::TokenValid => "TokenValid",
            ConditionType::Expiring => "Expiring",
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
