//! The closed set of condition reasons (see docs/conditions.md).

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
}

impl Reason {
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
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
