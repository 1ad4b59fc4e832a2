//! Events on transitions only: comparing the previous status with the next one.

use kube::runtime::events::{Event, EventType};

use crate::api::{BitbucketTokenStatus, ConditionType, Reason};

/// The `reason` of every Event the reconciler publishes (see docs/alerts.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventReason {
    TokenRotated,
    TokenRevoked,
    InsufficientScope,
    TokenExpired,
    TokenInvalid,
    TokenExpiringSoon,
    SecretRendered,
    WorkloadsRestarted,
    WorkloadRestartFailed,
    WorkloadRestartNotPermitted,
}

impl EventReason {
    /// The CamelCase string an Event carries.
    pub fn as_str(self) -> &'static str {
        match self {
            EventReason::TokenRotated => "TokenRotated",
            EventReason::TokenRevoked => "TokenRevoked",
            EventReason::InsufficientScope => "InsufficientScope",
            EventReason::TokenExpired => "TokenExpired",
            EventReason::TokenInvalid => "TokenInvalid",
            EventReason::TokenExpiringSoon => "TokenExpiringSoon",
            EventReason::SecretRendered => "SecretRendered",
            EventReason::WorkloadsRestarted => "WorkloadsRestarted",
            EventReason::WorkloadRestartFailed => "WorkloadRestartFailed",
            EventReason::WorkloadRestartNotPermitted => "WorkloadRestartNotPermitted",
        }
    }
}

/// The typed reason of a condition; `None` when absent or written by another version.
fn reason_of(status: &BitbucketTokenStatus, type_: ConditionType) -> Option<Reason> {
    status.condition(type_)?.reason.parse().ok()
}

/// An Event of `reason` with a note for people.
pub fn event(type_: EventType, reason: EventReason, action: &str, note: String) -> Event {
    Event {
        type_,
        reason: reason.as_str().to_string(),
        note: Some(note),
        action: action.to_string(),
        secondary: None,
    }
}

/// What happened to the rendered Secret in this reconcile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretChange {
    Unchanged,
    Written,
}

/// The Events a transition from `previous` to `next` deserves.
pub fn transition_events(
    previous: &BitbucketTokenStatus,
    next: &BitbucketTokenStatus,
    secret: SecretChange,
) -> Vec<Event> {
    let mut events = Vec::new();
    let rotated = previous.token_fingerprint.is_some()
        && previous.token_fingerprint != next.token_fingerprint;
    if rotated {
        events.push(event(
            EventType::Normal,
            EventReason::TokenRotated,
            "Reconcile",
            format!(
                "The source Secret holds a new token ({}); it is being validated and rendered.",
                next.token_fingerprint.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    let valid_before = reason_of(previous, ConditionType::TokenValid);
    let mut expiry_reported = false;
    if let Some(now) = next.condition(ConditionType::TokenValid)
        && valid_before != reason_of(next, ConditionType::TokenValid)
        && now.status == "False"
    {
        let reason = match reason_of(next, ConditionType::TokenValid) {
            Some(Reason::Revoked) => EventReason::TokenRevoked,
            Some(Reason::InsufficientScope) => EventReason::InsufficientScope,
            Some(Reason::Expired) => EventReason::TokenExpired,
            _ => EventReason::TokenInvalid,
        };
        expiry_reported = reason == EventReason::TokenExpired;
        let note = now.message.clone();
        events.push(event(EventType::Warning, reason, "Reconcile", note));
    }
    let expiring = reason_of(next, ConditionType::Expiring);
    if let Some(now) = next.condition(ConditionType::Expiring)
        && reason_of(previous, ConditionType::Expiring) != expiring
    {
        let reason = match expiring {
            Some(Reason::ExpiresSoon) => Some(EventReason::TokenExpiringSoon),
            Some(Reason::Expired) if !expiry_reported => Some(EventReason::TokenExpired),
            _ => None,
        };
        if let Some(reason) = reason {
            let note = now.message.clone();
            events.push(event(EventType::Warning, reason, "Reconcile", note));
        }
    }
    if secret == SecretChange::Written {
        let name = next.secret_name.as_deref().unwrap_or("the target Secret");
        events.push(event(
            EventType::Normal,
            EventReason::SecretRendered,
            "Reconcile",
            format!("Rendered {name} from the current token."),
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

    use super::*;

    fn status(
        fingerprint: &str,
        valid: (&str, &str),
        expiring: (&str, &str),
    ) -> BitbucketTokenStatus {
        let make = |type_: &str, (status, reason): (&str, &str)| Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: format!("{reason} message"),
            last_transition_time: crate::api::kube_time(chrono::Utc::now()),
            observed_generation: Some(1),
        };
        BitbucketTokenStatus {
            conditions: vec![make("TokenValid", valid), make("Expiring", expiring)],
            token_fingerprint: Some(fingerprint.into()),
            secret_name: Some("s".into()),
            ..Default::default()
        }
    }

    fn reasons(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.reason.as_str()).collect()
    }

    #[test]
    fn first_render_reports_the_secret_only() {
        let next = status("a", ("True", "Valid"), ("False", "NotExpiring"));
        let events = transition_events(
            &BitbucketTokenStatus::default(),
            &next,
            SecretChange::Written,
        );
        assert_eq!(reasons(&events), ["SecretRendered"]);
    }

    #[test]
    fn nothing_changed_means_no_events() {
        let same = status("a", ("True", "Valid"), ("False", "NotExpiring"));
        assert!(transition_events(&same, &same, SecretChange::Unchanged).is_empty());
        let revoked = status("a", ("False", "Revoked"), ("False", "NotExpiring"));
        assert!(transition_events(&revoked, &revoked, SecretChange::Unchanged).is_empty());
    }

    #[test]
    fn revocation_scope_and_expiry_transitions_warn() {
        let ok = status("a", ("True", "Valid"), ("False", "NotExpiring"));
        let revoked = status("a", ("False", "Revoked"), ("False", "NotExpiring"));
        assert_eq!(
            reasons(&transition_events(&ok, &revoked, SecretChange::Unchanged)),
            ["TokenRevoked"]
        );
        let scope = status(
            "a",
            ("False", "InsufficientScope"),
            ("False", "NotExpiring"),
        );
        assert_eq!(
            reasons(&transition_events(&ok, &scope, SecretChange::Unchanged)),
            ["InsufficientScope"]
        );
        let soon = status("a", ("True", "Valid"), ("True", "ExpiresSoon"));
        assert_eq!(
            reasons(&transition_events(&ok, &soon, SecretChange::Unchanged)),
            ["TokenExpiringSoon"]
        );
        let expired = status("a", ("False", "Expired"), ("True", "Expired"));
        assert_eq!(
            reasons(&transition_events(&soon, &expired, SecretChange::Unchanged)),
            ["TokenExpired"]
        );
        assert!(events_are_warnings(&transition_events(
            &ok,
            &revoked,
            SecretChange::Unchanged
        )));
    }

    #[test]
    fn rotation_is_reported() {
        let old = status("a", ("True", "Valid"), ("False", "NotExpiring"));
        let new = status("b", ("True", "Valid"), ("False", "NotExpiring"));
        assert_eq!(
            reasons(&transition_events(&old, &new, SecretChange::Written)),
            ["TokenRotated", "SecretRendered"]
        );
    }

    fn events_are_warnings(events: &[Event]) -> bool {
        events.iter().all(|e| e.type_ == EventType::Warning)
    }
}
