//! Building the next status from what a reconcile observed. Pure: no I/O, so every rule is unit-tested.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{
    schedule::{ExpiryPhase, expiry_phase},
    verdict::TokenVerdict,
};
use crate::api::{
    BitbucketTokenStatus, ConditionStatus, ConditionType, ExpirySource, Reason, kube_time,
};

/// The state of the rendered Secret after this reconcile.
#[derive(Clone, Debug, PartialEq)]
pub enum SecretState {
    /// The Secret holds the current token.
    Current { name: String },
    /// Nothing was written this time (the token is not known to be valid).
    NotRendered,
    /// A Secret with the target name exists and is not this BitbucketToken's.
    Conflict { name: String },
    /// The spec asks for a format the token cannot be rendered into.
    RenderFailed { message: String },
}

/// Everything a reconcile learned, as input to [`next_status`].
pub struct Observation<'a> {
    pub generation: Option<i64>,
    pub now: DateTime<Utc>,
    pub previous: &'a BitbucketTokenStatus,
    /// Fingerprint of the token in the source Secret; `None` when it could not be read.
    pub fingerprint: Option<String>,
    pub verdict: &'a TokenVerdict,
    /// When Bitbucket gave this verdict; `None` for the operator's own checks and for transients.
    pub validated_at: Option<DateTime<Utc>>,
    pub next_validation_at: Option<DateTime<Utc>>,
    pub declared_expiry: Option<DateTime<Utc>>,
    pub expiry_warning: Duration,
    /// A short description of the access that was checked, e.g. "write access to acme/payments".
    pub access_summary: String,
    pub secret: SecretState,
    /// The value of the revalidate annotation this reconcile saw.
    pub revalidate: Option<String>,
    /// Set while the operator checks this object less often than asked (see `controller::load`).
    pub stretched: Option<Stretched>,
}

/// The interval a BitbucketToken asked for, the longer one it gets, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stretched {
    pub requested: Duration,
    pub effective: Duration,
    /// Checks per second all BitbucketTokens ask for.
    pub demand: f64,
    /// Reconciles per second the operator manages.
    pub capacity: f64,
}

impl Observation<'_> {
    fn same_token_as_before(&self) -> bool {
        self.fingerprint.is_some() && self.fingerprint == self.previous.token_fingerprint
    }
}

/// The failure history after this reconcile: `(lastFailureTime, failedValidationAttempts)`. A
/// verdict Bitbucket could not give adds one failure at `now`; any other verdict clears both.
pub fn failure_history(
    previous: &BitbucketTokenStatus,
    verdict: &TokenVerdict,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<u32>) {
    match verdict {
        TokenVerdict::Unknown { .. } => (
            Some(now),
            Some(
                previous
                    .failed_validation_attempts
                    .unwrap_or(0)
                    .saturating_add(1),
            ),
        ),
        _ => (None, None),
    }
}

/// The status to write after this reconcile.
pub fn next_status(obs: &Observation) -> BitbucketTokenStatus {
    let prev = obs.previous;
    let same_token = obs.same_token_as_before();
    let (expires_at, expiry_source) = effective_expiry(obs, same_token);

    let (identity, granted_scopes) = match obs.verdict {
        TokenVerdict::Valid(facts) => (Some(facts.identity.clone()), facts.granted.clone()),
        TokenVerdict::Unknown { .. } if same_token => {
            (prev.identity.clone(), prev.granted_scopes.clone())
        }
        TokenVerdict::Invalid { .. } if same_token => (prev.identity.clone(), Vec::new()),
        _ => (None, Vec::new()),
    };
    let secret_name = match &obs.secret {
        SecretState::Current { name } => Some(name.clone()),
        _ => prev.secret_name.clone(),
    };
    let (last_failure_time, failed_validation_attempts) =
        failure_history(prev, obs.verdict, obs.now);
    let mut conditions = vec![
        ready_condition(obs, same_token),
        token_valid_condition(obs),
        expiring_condition(obs, expires_at),
    ];
    conditions.extend(obs.stretched.map(|s| stretched_condition(obs, &s)));
    BitbucketTokenStatus {
        observed_generation: obs.generation,
        conditions,
        identity,
        granted_scopes,
        expires_at,
        expiry_source,
        last_validated_at: obs.validated_at.or(prev.last_validated_at),
        next_validation_at: obs.next_validation_at,
        token_fingerprint: obs
            .fingerprint
            .clone()
            .or_else(|| prev.token_fingerprint.clone()),
        secret_name,
        last_failure_time,
        failed_validation_attempts,
        observed_revalidate: obs.revalidate.clone(),
        last_restart: prev.last_restart.clone(),
    }
}

fn effective_expiry(
    obs: &Observation,
    same_token: bool,
) -> (Option<DateTime<Utc>>, Option<ExpirySource>) {
    if let TokenVerdict::Valid(facts) = obs.verdict
        && facts.expires_at.is_some()
    {
        return (facts.expires_at, facts.expiry_source);
    }
    if obs.declared_expiry.is_some() {
        return (obs.declared_expiry, Some(ExpirySource::Declared));
    }
    if same_token && !matches!(obs.verdict, TokenVerdict::Valid(_)) {
        return (obs.previous.expires_at, obs.previous.expiry_source);
    }
    (None, None)
}

fn ready_condition(obs: &Observation, same_token: bool) -> Condition {
    let keep_note = match &obs.secret {
        SecretState::Current { .. } | SecretState::Conflict { .. } => String::new(),
        _ => match &obs.previous.secret_name {
            Some(name) => format!(" The Secret {name} is left as it was."),
            None => String::new(),
        },
    };
    let (status, reason, message) = match (&obs.secret, obs.verdict) {
        (SecretState::Conflict { name }, _) => (
            ConditionStatus::False,
            Reason::SecretConflict,
            format!(
                "A Secret named {name} already exists and is not managed by this BitbucketToken; it was left untouched. \
                 Delete or rename it, or set spec.target.name to another name."
            ),
        ),
        (SecretState::RenderFailed { message }, _) => {
            (ConditionStatus::False, Reason::InvalidSpec, message.clone())
        }
        (_, TokenVerdict::Invalid { reason, message }) => (
            ConditionStatus::False,
            *reason,
            format!("{message}{keep_note}"),
        ),
        (
            _,
            TokenVerdict::Unknown {
                reason, message, ..
            },
        ) => {
            let previous_ready = obs
                .previous
                .condition(ConditionType::Ready)
                .filter(|c| same_token && c.status == ConditionStatus::True.as_str());
            if let Some(previous_ready) = previous_ready {
                // A transient failure never takes Ready away from a working Secret.
                let mut kept = previous_ready.clone();
                kept.observed_generation = obs.generation;
                return kept;
            }
            (
                ConditionStatus::Unknown,
                *reason,
                format!("{message}{keep_note}"),
            )
        }
        (SecretState::Current { name }, TokenVerdict::Valid(facts)) => (
            ConditionStatus::True,
            Reason::SecretRendered,
            format!(
                "Secret {name} holds the current token, which Bitbucket accepts as {}.",
                facts.identity
            ),
        ),
        (SecretState::NotRendered, TokenVerdict::Valid(_)) => (
            ConditionStatus::Unknown,
            Reason::Pending,
            "The token is valid; the Secret has not been written yet.".to_string(),
        ),
    };
    condition(obs, ConditionType::Ready, status, reason, message)
}

fn token_valid_condition(obs: &Observation) -> Condition {
    let (status, reason, message) = match obs.verdict {
        TokenVerdict::Valid(facts) => {
            let mut message = format!(
                "Bitbucket accepts the token as {} with {}.",
                facts.identity, obs.access_summary
            );
            for warning in &facts.warnings {
                message.push(' ');
                message.push_str(warning);
            }
            (ConditionStatus::True, Reason::Valid, message)
        }
        TokenVerdict::Invalid { reason, message } => {
            (ConditionStatus::False, *reason, message.clone())
        }
        TokenVerdict::Unknown {
            reason, message, ..
        } => (ConditionStatus::Unknown, *reason, message.clone()),
    };
    condition(obs, ConditionType::TokenValid, status, reason, message)
}

fn expiring_condition(obs: &Observation, expires_at: Option<DateTime<Utc>>) -> Condition {
    let (status, reason, message) = match expires_at {
        Some(at) => {
            let when = at.to_rfc3339_opts(SecondsFormat::Secs, true);
            match expiry_phase(at, obs.expiry_warning, obs.now) {
                ExpiryPhase::Expired => (
                    ConditionStatus::True,
                    Reason::Expired,
                    format!("The token expired at {when}. Create a new token and put it into the source Secret."),
                ),
                ExpiryPhase::ExpiresSoon => {
                    let days = (at - obs.now).num_hours() as f64 / 24.0;
                    (
                        ConditionStatus::True,
                        Reason::ExpiresSoon,
                        format!(
                            "The token expires at {when} (in {days:.1} days). Create a new token and put it into the source Secret before then."
                        ),
                    )
                }
                ExpiryPhase::Fine => {
                    let warn_from = (at - chrono::TimeDelta::from_std(obs.expiry_warning).unwrap_or_default())
                        .to_rfc3339_opts(SecondsFormat::Secs, true);
                    (
                        ConditionStatus::False,
                        Reason::NotExpiring,
                        format!("The token expires at {when}; Expiring turns True at {warn_from}."),
                    )
                }
            }
        }
        None if matches!(obs.verdict, TokenVerdict::Valid(_)) => (
            ConditionStatus::False,
            Reason::NoExpiry,
            "Bitbucket reports no expiry for this token and spec.token.expiresAt is not set; set it to be warned before the token expires."
                .to_string(),
        ),
        None => (
            ConditionStatus::Unknown,
            Reason::ExpiryUnknown,
            "The expiry is not known yet: it is read once Bitbucket accepts the token, or set spec.token.expiresAt."
                .to_string(),
        ),
    };
    condition(obs, ConditionType::Expiring, status, reason, message)
}

/// `IntervalStretched`: True while this object is checked less often than its interval asks.
fn stretched_condition(obs: &Observation, stretched: &Stretched) -> Condition {
    let message = format!(
        "The operator cannot keep up with every BitbucketToken's interval (they ask for {:.1} checks/s; \
         it manages about {:.1} reconciles/s and keeps {:.0}% of that for changes), so every interval is \
         stretched by the same factor: this one is checked every {}s instead of every {}s. Raise the \
         operator's --concurrency if the API server has room, or lengthen spec.validation.interval.",
        stretched.demand,
        stretched.capacity,
        (1.0 - super::load::TARGET_UTILISATION) * 100.0,
        stretched.effective.as_secs(),
        stretched.requested.as_secs(),
    );
    condition(
        obs,
        ConditionType::IntervalStretched,
        ConditionStatus::True,
        Reason::OperatorSaturated,
        message,
    )
}

/// A condition whose `lastTransitionTime` moves only when its status changes.
fn condition(
    obs: &Observation,
    type_: ConditionType,
    status: ConditionStatus,
    reason: Reason,
    message: String,
) -> Condition {
    let last_transition_time = match obs.previous.condition(type_) {
        Some(previous) if previous.status == status.as_str() => {
            previous.last_transition_time.clone()
        }
        _ => kube_time(obs.now),
    };
    Condition {
        type_: type_.as_str().to_string(),
        status: status.as_str().to_string(),
        reason: reason.as_str().to_string(),
        message,
        last_transition_time,
        observed_generation: obs.generation,
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
