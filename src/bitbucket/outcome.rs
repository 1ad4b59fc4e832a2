//! What a validation concluded: valid, definitively invalid, or could not tell (transient).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::api::{ExpirySource, Reason};

/// The result of checking one token against Bitbucket.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Bitbucket accepted the token with the requested access.
    Valid(ValidToken),
    /// A definitive problem a person must fix.
    Invalid(Invalid),
    /// The check could not be completed this time; try again later.
    Transient(Transient),
}

/// Facts about a token Bitbucket accepted.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ValidToken {
    /// Who Bitbucket says the token is, e.g. `Alice (alice)` or `payments-ci (repo_access_token)`.
    pub identity: String,
    /// Bitbucket's `X-Credential-Type`, or the Data Center equivalent, when known.
    pub credential_type: Option<String>,
    /// Scopes (Cloud) or permissions (Data Center) Bitbucket reported for the token.
    pub granted: Vec<String>,
    /// When the token expires, if known.
    pub expires_at: Option<DateTime<Utc>>,
    /// Where `expires_at` comes from.
    pub expiry_source: Option<ExpirySource>,
    /// Things the user should know although the token works (deprecations, unverifiable parts).
    pub warnings: Vec<String>,
}

/// A definitive verdict: the token, or what it is asked to do, is wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum Invalid {
    /// Bitbucket rejected the credentials and never accepted them before.
    Unauthorized { detail: String },
    /// Bitbucket rejected credentials it accepted before: revoked (or silently expired).
    Revoked { detail: String },
    /// The token works but lacks a scope or permission the requested access needs.
    InsufficientScope {
        missing: Vec<String>,
        granted: Vec<String>,
        fix: String,
    },
    /// The workspace, project or repository does not exist, or this token cannot see it.
    TargetNotFound { target: String, detail: String },
    /// The token's expiry has passed.
    Expired { at: DateTime<Utc> },
    /// The Data Center host is not on the operator's allowlist; nothing was sent to it.
    HostNotAllowed { host: String },
    /// Bitbucket Cloud rejects an app password: Atlassian removed app passwords on 28 July 2026
    /// (brownouts from 9 June 2026 answered 401 too), so a 401 means "replace it with an API
    /// token" rather than "wrong password".
    AppPasswordRemoved { detail: String },
    /// The token works in one form but Bitbucket refuses the HTTP Basic form (`user:token`)
    /// that formats the Secret would carry (`GitCredentials`, `BasicAuth`, `ArgoCD`) use.
    BasicAuthRefused {
        user: String,
        detail: String,
        fix: String,
    },
}

/// A failure that says nothing about the token: retry later.
#[derive(Clone, Debug, PartialEq)]
pub enum Transient {
    /// No connection could be made (DNS, refused, reset, proxy).
    Unreachable { detail: String },
    /// The TLS handshake failed (unknown CA, wrong host name, expired certificate).
    TlsFailure { detail: String },
    /// No answer within the request timeout.
    Timeout,
    /// Bitbucket answered 5xx.
    ServerError { status: u16 },
    /// Bitbucket answered 429; `retry_after` when it said how long to wait.
    RateLimited { retry_after: Option<Duration> },
    /// Bitbucket answered with something that is not what its API documents.
    MalformedResponse { detail: String },
}

impl Outcome {
    /// One or two sentences for a person: what is wrong (or right) and what to do.
    pub fn message(&self) -> String {
        match self {
            Outcome::Valid(valid) => valid.message(),
            Outcome::Invalid(invalid) => invalid.message(),
            Outcome::Transient(transient) => transient.message(),
        }
    }

    /// True when Bitbucket gave a definitive answer (valid or invalid).
    pub fn is_definitive(&self) -> bool {
        !matches!(self, Outcome::Transient(_))
    }
}

impl ValidToken {
    fn message(&self) -> String {
        let mut text = format!("Bitbucket accepts the token as {}", self.identity);
        if !self.granted.is_empty() {
            text.push_str(&format!(" with {}", self.granted.join(", ")));
        }
        text.push('.');
        if let Some(at) = self.expires_at {
            let source = match self.expiry_source {
                Some(ExpirySource::Bitbucket) => "reported by Bitbucket",
                _ => "as declared",
            };
            text.push_str(&format!(" It expires at {} ({source}).", rfc3339(at)));
        }
        for warning in &self.warnings {
            text.push_str(&format!(" Warning: {warning}"));
        }
        text
    }
}

impl Invalid {
    /// The condition reason this verdict is reported under.
    pub fn reason(&self) -> Reason {
        match self {
            Invalid::Unauthorized { .. } => Reason::Unauthorized,
            Invalid::Revoked { .. } => Reason::Revoked,
            Invalid::InsufficientScope { .. } => Reason::InsufficientScope,
            Invalid::TargetNotFound { .. } => Reason::TargetNotFound,
            Invalid::Expired { .. } => Reason::Expired,
            Invalid::HostNotAllowed { .. } => Reason::HostNotAllowed,
            Invalid::AppPasswordRemoved { .. } => Reason::AppPasswordRemoved,
            Invalid::BasicAuthRefused { .. } => Reason::BasicAuthRefused,
        }
    }

    /// What is wrong and what to do.
    pub fn message(&self) -> String {
        match self {
            Invalid::Unauthorized { detail } => format!(
                "Bitbucket rejects the token (401: {detail}). Check that the Secret holds the whole token, that token.kind matches how it was created, and that the email or username is right; otherwise create a new token."
            ),
            Invalid::Revoked { detail } => format!(
                "Bitbucket accepted this token before and now rejects it (401: {detail}): it was revoked or expired. Create a new token and put it into the source Secret."
            ),
            Invalid::InsufficientScope { missing, fix, .. } => {
                format!("The token lacks {}. {fix}", missing.join(" and "))
            }
            Invalid::TargetNotFound { target, detail } => format!(
                "{target} was not found or is not visible to this token ({detail}). Check spec.access and that the token was created for it."
            ),
            Invalid::Expired { at } => format!(
                "The token expired at {}. Create a new token and put it into the source Secret.",
                rfc3339(*at)
            ),
            Invalid::AppPasswordRemoved { detail } => format!(
                "Bitbucket rejects this app password (401: {detail}). Atlassian removed app passwords on 28 July 2026 (https://www.atlassian.com/blog/bitbucket/bitbucket-cloud-transitions-to-api-tokens-enhancing-security-with-app-password-deprecation). {APP_PASSWORD_REPLACEMENT}"
            ),
            Invalid::BasicAuthRefused { user, detail, fix } => format!(
                "Bitbucket accepts the token as Bearer but refuses it as HTTP Basic with the username {user} (401: {detail}), the form the requested formats would write; nothing was rendered. {fix}"
            ),
            Invalid::HostNotAllowed { host } => format!(
                "The Data Center host {host} is not on the operator's allowlist, so the token was not sent to it. Ask the operator's administrators to add it (--allowed-dc-host / the chart's allowedDataCenterHosts)."
            ),
        }
    }
}

impl Transient {
    /// The condition reason this verdict is reported under.
    pub fn reason(&self) -> Reason {
        match self {
            Transient::RateLimited { .. } => Reason::RateLimited,
            _ => Reason::BitbucketUnreachable,
        }
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Transient::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// What happened; always says the token's validity is unknown, not bad.
    pub fn message(&self) -> String {
        let what = match self {
            Transient::Unreachable { detail } => {
                format!("Bitbucket could not be reached ({detail})")
            }
            Transient::TlsFailure { detail } => format!(
                "the TLS handshake with Bitbucket failed ({detail}); if the server uses a private CA, set server.dataCenter.caBundleSecretRef"
            ),
            Transient::Timeout => "Bitbucket did not answer in time".to_string(),
            Transient::ServerError { status } => {
                format!("Bitbucket answered with server error {status}")
            }
            Transient::RateLimited {
                retry_after: Some(after),
            } => format!(
                "Bitbucket's rate limit was reached; it asked to wait {}s",
                after.as_secs()
            ),
            Transient::RateLimited { retry_after: None } => {
                "Bitbucket's rate limit was reached".to_string()
            }
            Transient::MalformedResponse { detail } => {
                format!("Bitbucket sent an unexpected response ({detail})")
            }
        };
        format!("{what}. The token's validity is unknown; the check will be retried.")
    }
}

/// How to replace an app password, for messages (Atlassian's "Using API tokens" and "API token
/// permissions" pages: <https://support.atlassian.com/bitbucket-cloud/docs/using-api-tokens/>).
pub const APP_PASSWORD_REPLACEMENT: &str = "Create an API token with scopes instead: at https://id.atlassian.com/manage-profile/security/api-tokens choose \"Create API token with scopes\", app Bitbucket, with the scope read:repository:bitbucket (add write:repository:bitbucket to push). Then set token.kind: APIToken, token.email to your Atlassian account email (for the REST API), token.username to your Bitbucket username (for git), and put the new token into the source Secret.";

/// An instant as RFC 3339 with seconds and `Z`.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
