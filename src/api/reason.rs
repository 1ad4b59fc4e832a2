//! The closed set of condition reasons (see docs/conditions.md): the one vocabulary for a
//! verdict, written by the Bitbucket client, the reconciler and the `check` command alike.

/// Every `reason` the operator writes into a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    // Ready
    SecretRendered,
    // TokenValid = True
    Valid,
    // TokenValid = False
    Revoked,
    Unauthorized,
    InsufficientScope,
    TargetNotFound,
    Expired,
    SourceSecretNotFound,
    SourceKeyMissing,
    MalformedToken,
    HostNotAllowed,
    AppPasswordRemoved,
    BasicAuthRefused,
    SecretConflict,
    InvalidSpec,
    // TokenValid = Unknown
    BitbucketUnreachable,
    RateLimited,
    Pending,
    // Expiring
    ExpiresSoon,
    NotExpiring,
    NoExpiry,
    ExpiryUnknown,
    // IntervalStretched
    OperatorSaturated,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 23] = [
        Reason::SecretRendered,
        Reason::Valid,
        Reason::Revoked,
        Reason::Unauthorized,
        Reason::InsufficientScope,
        Reason::TargetNotFound,
        Reason::Expired,
        Reason::SourceSecretNotFound,
        Reason::SourceKeyMissing,
        Reason::MalformedToken,
        Reason::HostNotAllowed,
        Reason::AppPasswordRemoved,
        Reason::BasicAuthRefused,
        Reason::SecretConflict,
        Reason::InvalidSpec,
        Reason::BitbucketUnreachable,
        Reason::RateLimited,
        Reason::Pending,
        Reason::ExpiresSoon,
        Reason::NotExpiring,
        Reason::NoExpiry,
        Reason::ExpiryUnknown,
        Reason::OperatorSaturated,
    ];

    /// The CamelCase string written to status.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SecretRendered => "SecretRendered",
            Reason::Valid => "Valid",
            Reason::Revoked => "Revoked",
            Reason::Unauthorized => "Unauthorized",
            Reason::InsufficientScope => "InsufficientScope",
            Reason::TargetNotFound => "TargetNotFound",
            Reason::Expired => "Expired",
            Reason::SourceSecretNotFound => "SourceSecretNotFound",
            Reason::SourceKeyMissing => "SourceKeyMissing",
            Reason::MalformedToken => "MalformedToken",
            Reason::HostNotAllowed => "HostNotAllowed",
            Reason::AppPasswordRemoved => "AppPasswordRemoved",
            Reason::BasicAuthRefused => "BasicAuthRefused",
            Reason::SecretConflict => "SecretConflict",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::BitbucketUnreachable => "BitbucketUnreachable",
            Reason::RateLimited => "RateLimited",
            Reason::Pending => "Pending",
            Reason::ExpiresSoon => "ExpiresSoon",
            Reason::NotExpiring => "NotExpiring",
            Reason::NoExpiry => "NoExpiry",
            Reason::ExpiryUnknown => "ExpiryUnknown",
            Reason::OperatorSaturated => "OperatorSaturated",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Reason {
    type Err = UnknownReason;

    /// The reason a status condition carries, back as the typed value.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Reason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or_else(|| UnknownReason(text.to_string()))
    }
}

/// A condition reason this version of the operator does not write.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown condition reason {0:?}")]
pub struct UnknownReason(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_back() {
        for reason in Reason::ALL {
            assert_eq!(reason.as_str().parse::<Reason>(), Ok(reason));
        }
        assert!("Nope".parse::<Reason>().is_err());
    }
}
