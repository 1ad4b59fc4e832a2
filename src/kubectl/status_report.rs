//! The `status` report: what the cluster says about one BitbucketToken, as data (`-o json|yaml`)
//! before it is printed for a person.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::Serialize;

use super::{exit, human_time::from_kube};
use crate::api::{BitbucketToken, ConditionType, ExpirySource};

/// The overall answer, from the `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// `Ready=True`.
    Ready,
    /// `Ready=False`.
    NotReady,
    /// `Ready=Unknown`, or no `Ready` condition yet.
    Unknown,
}

impl Verdict {
    /// The verdict of `Ready` in `conditions`.
    pub fn of(conditions: &[Condition]) -> Self {
        match conditions
            .iter()
            .find(|c| c.type_ == ConditionType::Ready.as_str())
            .map(|c| c.status.as_str())
        {
            Some("True") => Verdict::Ready,
            Some("False") => Verdict::NotReady,
            _ => Verdict::Unknown,
        }
    }

    /// The exit code `status` and `revalidate --wait` end with.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Ready => exit::READY,
            Verdict::NotReady => exit::NOT_READY,
            Verdict::Unknown => exit::UNDECIDED,
        }
    }
}

/// One condition as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionView {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: DateTime<Utc>,
}

/// Where the token comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub kind: String,
    pub secret_name: String,
    pub secret_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Failed attempts to reach Bitbucket since the last verdict (`status.failedValidationAttempts`
/// and `status.lastFailureTime`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failures {
    pub failed_validation_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure_time: Option<DateTime<Utc>>,
}

/// One key of the rendered Secret (never its value) and who reads it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyView {
    pub key: String,
    pub consumers: Vec<String>,
}

/// The rendered Secret as far as the caller may see it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretView {
    pub name: String,
    /// False when the Secret does not exist (not rendered yet, or deleted).
    pub exists: bool,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    pub keys: Vec<KeyView>,
    /// Why the keys could not be read (e.g. RBAC), if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One Event about the BitbucketToken.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

/// Everything `status` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub name: String,
    pub namespace: String,
    pub verdict: Verdict,
    /// True when the operator has not yet reported on the current spec (`observedGeneration` is
    /// behind `metadata.generation`).
    pub stale: bool,
    pub conditions: Vec<ConditionView>,
    pub token: TokenView,
    /// `Bitbucket Cloud`, or the Data Center base URL.
    pub server: String,
    /// What the token must be good for, e.g. "read access to acme/payments".
    pub access: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    pub granted_scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_source: Option<ExpirySource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_validated_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_validation_at: Option<DateTime<Utc>>,
    pub failures: Failures,
    pub secret: SecretView,
    pub events: Vec<EventView>,
    /// Why the Events could not be listed, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_error: Option<String>,
}

impl StatusReport {
    /// The report's parts that come from the BitbucketToken alone; the Secret and the Events are
    /// filled in by the caller.
    pub fn from_object(bbt: &BitbucketToken) -> Self {
        let status = bbt.status.clone().unwrap_or_default();
        let spec = &bbt.spec;
        let failures = Failures {
            failed_validation_attempts: status.failed_validation_attempts.unwrap_or(0),
            last_failure_time: status.last_failure_time,
        };
        Self {
            name: bbt.metadata.name.clone().unwrap_or_default(),
            namespace: bbt.metadata.namespace.clone().unwrap_or_default(),
            verdict: Verdict::of(&status.conditions),
            stale: status.observed_generation < bbt.metadata.generation,
            conditions: status.conditions.iter().map(condition_view).collect(),
            token: TokenView {
                kind: spec.token.kind.as_str().to_string(),
                secret_name: spec.token.secret_ref.name.clone(),
                secret_key: spec.token.secret_ref.key.clone(),
                fingerprint: status.token_fingerprint.clone(),
            },
            server: spec
                .server
                .as_ref()
                .and_then(|s| s.data_center.as_ref())
                .map_or("Bitbucket Cloud".to_string(), |dc| {
                    format!("Bitbucket Data Center {}", dc.url)
                }),
            access: crate::controller::reconcile::access_summary(bbt),
            identity: status.identity.clone(),
            granted_scopes: status.granted_scopes.clone(),
            expires_at: status.expires_at,
            expiry_source: status.expiry_source,
            last_validated_at: status.last_validated_at,
            next_validation_at: status.next_validation_at,
            failures,
            secret: SecretView {
                name: target_name(bbt, status.secret_name.as_deref()),
                ..SecretView::default()
            },
            events: Vec::new(),
            events_error: None,
        }
    }
}

/// The rendered Secret's name: as the status reports it, else as the spec asks.
fn target_name(bbt: &BitbucketToken, from_status: Option<&str>) -> String {
    from_status
        .map(str::to_string)
        .or_else(|| bbt.spec.target.as_ref().and_then(|t| t.name.clone()))
        .unwrap_or_else(|| format!("{}-git", bbt.metadata.name.as_deref().unwrap_or_default()))
}

fn condition_view(condition: &Condition) -> ConditionView {
    ConditionView {
        type_: condition.type_.clone(),
        status: condition.status.clone(),
        reason: condition.reason.clone(),
        message: condition.message.clone(),
        last_transition_time: from_kube(&condition.last_transition_time),
    }
}
