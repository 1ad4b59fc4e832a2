//! `BitbucketToken.status`: what the operator last found out.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Observed state, written only by the operator.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BitbucketTokenStatus {
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, TokenValid and Expiring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Who Bitbucket says the token is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Scopes or permissions Bitbucket reported for the token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted_scopes: Vec<String>,
    /// When the token expires, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Where `expiresAt` comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_source: Option<ExpirySource>,
    /// When Bitbucket last gave a definitive answer about the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_validated_at: Option<DateTime<Utc>>,
    /// When the next check with Bitbucket is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_validation_at: Option<DateTime<Utc>>,
    /// Short hash of the token: changes on rotation, reveals nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_fingerprint: Option<String>,
    /// Name of the rendered Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// When the last attempt to get an answer from Bitbucket failed (unreachable, TLS, timeout,
    /// 5xx, rate limit). Cleared when Bitbucket answers, as cert-manager clears a Certificate's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_time: Option<DateTime<Utc>>,
    /// Consecutive failed attempts since Bitbucket last answered; the retry back-off grows with it
    /// (so it survives a restart or a change of leader). Cleared when Bitbucket answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub failed_validation_attempts: Option<u32>,
    /// The value of the `bitbucket-token-operator.io/revalidate` annotation this status answers:
    /// it equals the annotation once the check that annotation asked for is reported here
    /// (`revalidate --wait` waits for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_revalidate: Option<String>,
    /// The last restart of workloads after a rotation (`spec.target.restartOnRotation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restart: Option<RestartRecord>,
}

impl BitbucketTokenStatus {
    /// The condition of `type_`, if the status has one.
    pub fn condition(&self, type_: super::ConditionType) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_.as_str())
    }

    /// True when the condition of `type_` is `True`.
    pub fn is_true(&self, type_: super::ConditionType) -> bool {
        self.condition(type_).is_some_and(|c| c.status == "True")
    }

    /// True when this status says Bitbucket accepted the token whose fingerprint is `fingerprint`
    /// before, so a 401 for it now means it was revoked: the same fingerprint, and `TokenValid` is
    /// `True` or already says `Revoked` (a revoked token stays revoked at every later check).
    pub fn accepted_before(&self, fingerprint: &str) -> bool {
        self.token_fingerprint.as_deref() == Some(fingerprint)
            && self
                .condition(super::ConditionType::TokenValid)
                .is_some_and(|c| c.status == "True" || c.reason == super::Reason::Revoked.as_str())
    }

    /// The expiry this status recorded for the token whose fingerprint is `fingerprint`, if any.
    pub fn expiry_of(&self, fingerprint: &str) -> Option<DateTime<Utc>> {
        (self.token_fingerprint.as_deref() == Some(fingerprint))
            .then_some(self.expires_at)
            .flatten()
    }
}

/// Workloads restarted because the token rotated.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestartRecord {
    /// When the restart was requested.
    pub at: DateTime<Utc>,
    /// The fingerprint of the token the workloads were restarted for.
    pub token_fingerprint: String,
    /// `Kind/name` of every workload restarted.
    pub workloads: Vec<String>,
}

/// Where an expiry date comes from.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpirySource {
    /// `spec.token.expiresAt`, as declared by the user.
    Declared,
    /// Read from Bitbucket.
    Bitbucket,
}
