use std::time::Duration;

use chrono::{DateTime, Utc};

use super::*;
use crate::bitbucket::ValidToken;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn valid(expires_at: Option<DateTime<Utc>>) -> TokenVerdict {
    TokenVerdict::Valid(ValidToken {
        identity: "payments-ci (repo_access_token)".into(),
        granted: vec!["repository".into(), "repository:write".into()],
        expires_at,
        expiry_source: expires_at.map(|_| ExpirySource::Bitbucket),
        ..ValidToken::default()
    })
}

fn observe<'a>(
    previous: &'a BitbucketTokenStatus,
    verdict: &'a TokenVerdict,
    now: &str,
) -> Observation<'a> {
    Observation {
        generation: Some(2),
        now: at(now),
        previous,
        fingerprint: Some("sha256:aaaaaaaaaaaa".into()),
        verdict,
        validated_at: verdict.is_definitive().then(|| at(now)),
        next_validation_at: Some(at(now) + chrono::TimeDelta::hours(1)),
        declared_expiry: None,
        expiry_warning: Duration::from_secs(14 * 86_400),
        access_summary: "write access to acme/payments".into(),
        secret: SecretState::Current {
            name: "payments-ci-git".into(),
        },
        revalidate: None,
        stretched: None,
    }
}

fn get<'a>(status: &'a BitbucketTokenStatus, type_: &str) -> &'a Condition {
    status.conditions.iter().find(|c| c.type_ == type_).unwrap()
}

fn summary(status: &BitbucketTokenStatus) -> Vec<(String, String, String)> {
    status
        .conditions
        .iter()
        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
        .collect()
}

fn triples(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn valid_token_rendered_is_ready() {
    let previous = BitbucketTokenStatus::default();
    let verdict = valid(Some(at("2027-03-01T00:00:00Z")));
    let status = next_status(&observe(&previous, &verdict, "2026-11-22T00:00:00Z"));
    assert_eq!(
        summary(&status),
        triples(&[
            ("Ready", "True", "SecretRendered"),
            ("TokenValid", "True", "Valid"),
            ("Expiring", "False", "NotExpiring")
        ])
    );
    assert_eq!(status.expires_at, Some(at("2027-03-01T00:00:00Z")));
    assert_eq!(status.expiry_source, Some(ExpirySource::Bitbucket));
    assert_eq!(status.secret_name.as_deref(), Some("payments-ci-git"));
    assert_eq!(status.observed_generation, Some(2));
    assert!(
        status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(2))
    );
    assert!(
        get(&status, "Expiring")
            .message
            .contains("2027-02-15T00:00:00Z")
    );
}

#[test]
fn transient_failure_keeps_ready_and_the_previous_facts() {
    let before = BitbucketTokenStatus::default();
    let ok = valid(None);
    let ready = next_status(&observe(&before, &ok, "2026-11-22T00:00:00Z"));
    let down = TokenVerdict::Unknown {
        reason: Reason::BitbucketUnreachable,
        message: "Bitbucket did not answer".into(),
        retry_after: None,
    };
    let mut obs = observe(&ready, &down, "2026-11-22T01:00:00Z");
    obs.secret = SecretState::NotRendered;
    let after = next_status(&obs);
    assert_eq!(
        get(&after, "Ready"),
        &Condition {
            observed_generation: Some(2),
            ..get(&ready, "Ready").clone()
        }
    );
    assert_eq!(get(&after, "TokenValid").status, "Unknown");
    assert_eq!(get(&after, "TokenValid").reason, "BitbucketUnreachable");
    assert_eq!(after.identity, ready.identity);
    assert_eq!(after.granted_scopes, ready.granted_scopes);
    assert_eq!(
        after.last_validated_at, ready.last_validated_at,
        "a transient is not a validation"
    );
    assert_eq!(after.secret_name, ready.secret_name);
}

#[test]
fn failures_are_counted_until_bitbucket_answers() {
    let down = TokenVerdict::Unknown {
        reason: Reason::BitbucketUnreachable,
        message: "Bitbucket did not answer".into(),
        retry_after: None,
    };
    let mut status = BitbucketTokenStatus::default();
    for (attempt, at) in [(1, "2026-11-22T00:00:00Z"), (2, "2026-11-22T00:01:00Z")] {
        let mut obs = observe(&status, &down, at);
        obs.secret = SecretState::NotRendered;
        status = next_status(&obs);
        assert_eq!(status.failed_validation_attempts, Some(attempt));
        assert_eq!(status.last_failure_time, Some(at.parse().unwrap()));
    }
    let ok = valid(None);
    let answered = next_status(&observe(&status, &ok, "2026-11-22T00:02:00Z"));
    assert_eq!(answered.failed_validation_attempts, None);
    assert_eq!(answered.last_failure_time, None);
    let revoked = TokenVerdict::invalid(Reason::Revoked, "revoked");
    let mut obs = observe(&status, &revoked, "2026-11-22T00:02:00Z");
    obs.secret = SecretState::NotRendered;
    assert_eq!(
        next_status(&obs).failed_validation_attempts,
        None,
        "a definitive answer is not a failure to get one"
    );
}

#[test]
fn transient_failure_on_a_new_token_is_unknown_not_false() {
    let previous = BitbucketTokenStatus::default();
    let down = TokenVerdict::Unknown {
        reason: Reason::RateLimited,
        message: "slow down".into(),
        retry_after: None,
    };
    let mut obs = observe(&previous, &down, "2026-11-22T00:00:00Z");
    obs.secret = SecretState::NotRendered;
    let status = next_status(&obs);
    assert_eq!(
        summary(&status),
        triples(&[
            ("Ready", "Unknown", "RateLimited"),
            ("TokenValid", "Unknown", "RateLimited"),
            ("Expiring", "Unknown", "ExpiryUnknown")
        ])
    );
}

#[test]
fn invalid_token_flips_ready_and_says_the_secret_is_kept() {
    let before = BitbucketTokenStatus::default();
    let ok = valid(None);
    let ready = next_status(&observe(&before, &ok, "2026-11-22T00:00:00Z"));
    let revoked = TokenVerdict::invalid(Reason::Revoked, "Bitbucket no longer accepts the token.");
    let mut obs = observe(&ready, &revoked, "2026-11-22T01:00:00Z");
    obs.secret = SecretState::NotRendered;
    let after = next_status(&obs);
    let ready_condition = get(&after, "Ready");
    assert_eq!(
        (
            ready_condition.status.as_str(),
            ready_condition.reason.as_str()
        ),
        ("False", "Revoked")
    );
    assert!(
        ready_condition
            .message
            .contains("The Secret payments-ci-git is left as it was.")
    );
    assert_eq!(
        ready_condition.last_transition_time,
        kube_time(at("2026-11-22T01:00:00Z"))
    );
    assert!(after.granted_scopes.is_empty());
    assert_eq!(
        after.identity, ready.identity,
        "who the revoked token was stays visible"
    );
}

#[test]
fn last_transition_time_moves_only_when_status_changes() {
    let before = BitbucketTokenStatus::default();
    let ok = valid(None);
    let first = next_status(&observe(&before, &ok, "2026-11-22T00:00:00Z"));
    let second = next_status(&observe(&first, &ok, "2026-11-22T05:00:00Z"));
    for c in &second.conditions {
        assert_eq!(
            c.last_transition_time,
            kube_time(at("2026-11-22T00:00:00Z")),
            "{}",
            c.type_
        );
    }
}

#[test]
fn expiry_inside_the_window_and_past_it() {
    let previous = BitbucketTokenStatus::default();
    let verdict = valid(None);
    let mut obs = observe(&previous, &verdict, "2027-02-20T00:00:00Z");
    obs.declared_expiry = Some(at("2027-03-01T00:00:00Z"));
    let soon = next_status(&obs);
    assert_eq!(get(&soon, "Expiring").reason, "ExpiresSoon");
    assert_eq!(get(&soon, "Expiring").status, "True");
    assert_eq!(soon.expiry_source, Some(ExpirySource::Declared));
    obs.now = at("2027-03-02T00:00:00Z");
    let expired = next_status(&obs);
    assert_eq!(get(&expired, "Expiring").reason, "Expired");
}

#[test]
fn valid_token_without_expiry_says_no_expiry() {
    let previous = BitbucketTokenStatus::default();
    let verdict = valid(None);
    let status = next_status(&observe(&previous, &verdict, "2026-11-22T00:00:00Z"));
    assert_eq!(get(&status, "Expiring").reason, "NoExpiry");
    assert_eq!(get(&status, "Expiring").status, "False");
}

#[test]
fn conflict_and_render_failure_make_ready_false() {
    let previous = BitbucketTokenStatus::default();
    let verdict = valid(None);
    let mut obs = observe(&previous, &verdict, "2026-11-22T00:00:00Z");
    obs.secret = SecretState::Conflict {
        name: "payments-ci-git".into(),
    };
    let conflict = next_status(&obs);
    assert_eq!(get(&conflict, "Ready").reason, "SecretConflict");
    assert_eq!(
        get(&conflict, "TokenValid").status,
        "True",
        "the token itself is fine"
    );
    assert_eq!(conflict.secret_name, None);
    obs.secret = SecretState::RenderFailed {
        message: "GitCredentials needs Basic auth".into(),
    };
    assert_eq!(get(&next_status(&obs), "Ready").reason, "InvalidSpec");
}

#[test]
fn the_revalidate_request_is_acknowledged_with_every_verdict() {
    let previous = BitbucketTokenStatus {
        observed_revalidate: Some("old".into()),
        ..BitbucketTokenStatus::default()
    };
    let unknown = TokenVerdict::Unknown {
        reason: Reason::BitbucketUnreachable,
        message: "down".into(),
        retry_after: None,
    };
    for verdict in [
        valid(None),
        TokenVerdict::invalid(Reason::SourceSecretNotFound, "gone"),
        unknown,
    ] {
        let mut obs = observe(&previous, &verdict, "2026-01-01T00:00:00Z");
        obs.revalidate = Some("2026-01-01T00:00:00.5Z".into());
        assert_eq!(
            next_status(&obs).observed_revalidate.as_deref(),
            Some("2026-01-01T00:00:00.5Z")
        );
    }
}
