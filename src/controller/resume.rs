//! Picking up where a previous operator process left off: a status that says Bitbucket accepted
//! this very token (same fingerprint, same spec generation) less than one interval ago stands in
//! for a fresh check, so a restart or a new leader does not re-ask Bitbucket about every token.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::api::{BitbucketTokenStatus, ConditionType};
use crate::bitbucket::ValidToken;

/// The facts a still-fresh status recorded, and when Bitbucket gave them.
pub fn valid_facts_from_status(
    status: &BitbucketTokenStatus,
    generation: Option<i64>,
    fingerprint: &str,
    access_summary: &str,
    now: DateTime<Utc>,
    interval: Duration,
) -> Option<(ValidToken, DateTime<Utc>)> {
    let valid = status.condition(ConditionType::TokenValid)?;
    if valid.status != "True"
        || valid.observed_generation != generation
        || status.observed_generation != generation
        || status.token_fingerprint.as_deref() != Some(fingerprint)
    {
        return None;
    }
    let at = status.last_validated_at?;
    let age = now - at;
    if age < TimeDelta::zero() || age >= TimeDelta::from_std(interval).ok()? {
        return None;
    }
    let identity = status.identity.clone()?;
    Some((
        ValidToken {
            warnings: warnings(valid, &identity, access_summary),
            identity,
            granted: status.granted_scopes.clone(),
            expires_at: status.expires_at,
            expiry_source: status.expiry_source,
            credential_type: None,
        },
        at,
    ))
}

/// The warnings the status message carried after its fixed first sentence, so the message a
/// resumed verdict renders is the one already written.
fn warnings(valid: &Condition, identity: &str, access_summary: &str) -> Vec<String> {
    let lead = format!("Bitbucket accepts the token as {identity} with {access_summary}.");
    valid
        .message
        .strip_prefix(&lead)
        .map(str::trim)
        .filter(|rest| !rest.is_empty())
        .map(|rest| vec![rest.to_string()])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ExpirySource;

    const SUMMARY: &str = "write access to acme/payments";

    fn status(
        message: &str,
        validated_minutes_ago: i64,
        now: DateTime<Utc>,
    ) -> BitbucketTokenStatus {
        BitbucketTokenStatus {
            observed_generation: Some(3),
            conditions: vec![Condition {
                type_: "TokenValid".into(),
                status: "True".into(),
                reason: "Valid".into(),
                message: message.into(),
                observed_generation: Some(3),
                last_transition_time: crate::api::kube_time(now),
            }],
            identity: Some("payments-bot".into()),
            granted_scopes: vec!["repository".into(), "repository:write".into()],
            expires_at: Some(now + TimeDelta::days(40)),
            expiry_source: Some(ExpirySource::Declared),
            last_validated_at: Some(now - TimeDelta::minutes(validated_minutes_ago)),
            token_fingerprint: Some("sha256:abc".into()),
            ..BitbucketTokenStatus::default()
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_fresh_valid_status_resumes_with_its_facts_and_warnings() {
        let now = Utc::now();
        let message = format!(
            "Bitbucket accepts the token as payments-bot with {SUMMARY}. App passwords stop working on 2026-06-09."
        );
        let s = status(&message, 10, now);
        let (facts, at) =
            valid_facts_from_status(&s, Some(3), "sha256:abc", SUMMARY, now, HOUR).unwrap();
        assert_eq!(at, s.last_validated_at.unwrap());
        assert_eq!(facts.identity, "payments-bot");
        assert_eq!(facts.granted, s.granted_scopes);
        assert_eq!(facts.expires_at, s.expires_at);
        assert_eq!(facts.expiry_source, Some(ExpirySource::Declared));
        assert_eq!(
            facts.warnings,
            vec!["App passwords stop working on 2026-06-09."]
        );
    }

    #[test]
    fn anything_stale_or_different_asks_bitbucket_again() {
        let now = Utc::now();
        let message = format!("Bitbucket accepts the token as payments-bot with {SUMMARY}.");
        let fresh = status(&message, 10, now);
        let resume = |s: &BitbucketTokenStatus, generation, fingerprint| {
            valid_facts_from_status(s, generation, fingerprint, SUMMARY, now, HOUR)
        };
        assert!(
            resume(&fresh, Some(3), "sha256:abc")
                .unwrap()
                .0
                .warnings
                .is_empty()
        );
        assert!(
            resume(&fresh, Some(4), "sha256:abc").is_none(),
            "spec changed"
        );
        assert!(
            resume(&fresh, Some(3), "sha256:new").is_none(),
            "token rotated"
        );
        assert!(
            resume(&status(&message, 61, now), Some(3), "sha256:abc").is_none(),
            "older than the interval"
        );
        let mut invalid = fresh.clone();
        invalid.conditions[0].status = "False".into();
        assert!(resume(&invalid, Some(3), "sha256:abc").is_none());
        let mut unknown = fresh.clone();
        unknown.conditions[0].status = "Unknown".into();
        assert!(resume(&unknown, Some(3), "sha256:abc").is_none());
        let mut future = fresh;
        future.last_validated_at = Some(now + TimeDelta::minutes(5));
        assert!(
            resume(&future, Some(3), "sha256:abc").is_none(),
            "clock skew"
        );
    }
}
