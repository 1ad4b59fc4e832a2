//! Events on transitions only: comparing the previous status with the next one.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::events::{Event, EventType};

use crate::api::{BitbucketTokenStatus, ConditionType};

fn reason_of(status: &BitbucketTokenStatus, type_: ConditionType) -> Option<&str> {
    condition(status, type_).map(|c| c.reason.as_str())
}

fn condition(status: &BitbucketTokenStatus, type_: ConditionType) -> Option<&Condition> {
    status.conditions.iter().find(|c| c.type_ == type_.as_str())
}

fn event(type_: EventType, reason: &str, note: String) -> Event {
    Event {
        type_,
        reason: reason.to_string(),
        note: Some(note),
        action: "Reconcile".to_string(),
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
            "TokenRotated",
            format!(
                "The source Secret holds a new token ({}); it is being validated and rendered.",
                next.token_fingerprint.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    let valid_before = reason_of(previous, ConditionType::TokenValid);
    if let Some(now) = condition(next, ConditionType::TokenValid)
        && valid_before != Some(now.reason.as_str())
        && now.status == "False"
    {
        let reason = match now.reason.as_str() {
            "Revoked" => "TokenRevoked",
            "InsufficientScope" => "InsufficientScope",
            "Expired" => "TokenExpired",
            _ => "TokenInvalid",
        };
        events.push(event(EventType::Warning, reason, now.message.clone()));
    }
    let expiring_before = reason_of(previous, ConditionType::Expiring);
    if let Some(now) = condition(next, ConditionType::Expiring) {
        let token_expired_already_reported = events.iter().any(|e| e.reason == "TokenExpired");
        if expiring_before != Some(now.reason.as_str()) {
            match now.reason.as_str() {
                "ExpiresSoon" => events.push(event(
                    EventType::Warning,
                    "TokenExpiringSoon",
                    now.message.clone(),
                )),
                "Expired" if !token_expired_already_reported => events.push(event(
                    EventType::Warning,
                    "TokenExpired",
                    now.message.clone(),
                )),
                _ => {}
            }
        }
    }
    if secret == SecretChange::Written {
        let name = next.secret_name.as_deref().unwrap_or("the target Secret");
        events.push(event(
            EventType::Normal,
            "SecretRendered",
            format!("Rendered {name} from the current token."),
        ));
    }
    events
}

#[cfg(test)]
mod tests {

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
