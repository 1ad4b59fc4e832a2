//! What the operator concluded about a token, independent of how it found out.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{api::Reason, bitbucket::ValidToken};

/// The operator's conclusion about a token.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenVerdict {
    /// Bitbucket accepted the token with the requested access.
    Valid(ValidToken),
    /// A definitive problem: the token (or its source or target) must be fixed by a person.
    Invalid { reason: Reason, message: String },
    /// The operator could not tell this time; it will retry.
    Unknown {
        reason: Reason,
        message: String,
        retry_after: Option<Duration>,
    },
}

impl TokenVerdict {
    /// A definitive problem with a reason and an actionable message.
    pub fn invalid(reason: Reason, message: impl Into<String>) -> Self {
        TokenVerdict::Invalid {
            reason,
            message: message.into(),
        }
    }

    /// A token whose known expiry has passed at `now` is expired, whenever its last check was:
    /// a valid verdict (shared or resumed) never outlives the expiry it carries, and a later 401
    /// for a token known to expire before it (`known_expiry`, e.g. the expiry Bitbucket reported
    /// earlier) is that expiry, not a revocation.
    pub fn expired_by(self, now: DateTime<Utc>, known_expiry: Option<DateTime<Utc>>) -> Self {
        let at = match &self {
            TokenVerdict::Valid(facts) => facts.expires_at,
            TokenVerdict::Invalid {
                reason: Reason::Unauthorized | Reason::Revoked,
                ..
            } => known_expiry,
            _ => None,
        };
        match at {
            Some(at) if at <= now => TokenVerdict::invalid(
                Reason::Expired,
                crate::bitbucket::Invalid::Expired { at }.message(),
            ),
            _ => self,
        }
    }

    /// True when Bitbucket (or the operator's own checks) gave a definitive answer.
    pub fn is_definitive(&self) -> bool {
        !matches!(self, TokenVerdict::Unknown { .. })
    }
}

impl From<crate::bitbucket::Outcome> for TokenVerdict {
    fn from(outcome: crate::bitbucket::Outcome) -> Self {
        use crate::bitbucket::Outcome;
        match outcome {
            Outcome::Valid(valid) => TokenVerdict::Valid(valid),
            Outcome::Invalid(invalid) => TokenVerdict::invalid(invalid.reason(), invalid.message()),
            Outcome::Transient(transient) => TokenVerdict::Unknown {
                reason: transient.reason(),
                message: transient.message(),
                retry_after: transient.retry_after(),
            },
        }
    }
}
