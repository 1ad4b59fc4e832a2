//! Printing a verdict for a person (text) or a program (JSON).

use serde::Serialize;

use super::args::OutputFormat;
use crate::{
    api::ExpirySource,
    bitbucket::{Invalid, Outcome, ValidToken},
};

/// The JSON verdict of `check` (also of `kubectl bbt check NAME`, which adds `name`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsonReport<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    pub verdict: &'static str,
    pub reason: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granted: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_source: Option<ExpirySource>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl<'a> JsonReport<'a> {
    /// A report with `verdict`, `reason` and `message` and nothing else.
    pub fn new(verdict: &'static str, reason: &'static str, message: String) -> Self {
        Self {
            name: None,
            verdict,
            reason,
            message,
            identity: None,
            credential_type: None,
            granted: None,
            missing: None,
            expires_at: None,
            expiry_source: None,
            warnings: &[],
            retry_after_seconds: None,
        }
    }

    /// The report of a token Bitbucket accepted.
    pub fn valid(valid: &'a ValidToken) -> Self {
        Self {
            identity: Some(&valid.identity),
            credential_type: valid.credential_type.as_deref(),
            granted: Some(&valid.granted),
            expires_at: valid.expires_at.map(crate::bitbucket::rfc3339_text),
            expiry_source: valid.expiry_source,
            warnings: &valid.warnings,
            ..Self::new("valid", "Valid", valid.message())
        }
    }

    /// Pretty JSON ending with a newline.
    pub fn to_text(&self) -> String {
        // Serializing plain strings and numbers cannot fail; fall back to the message just in case.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| self.message.clone()) + "\n"
    }
}

/// Input `check` could not use, as the JSON report (`verdict: "error"`, `reason:
/// "InvalidInput"`), ending with a newline.
pub fn input_error(message: &str) -> String {
    let report = serde_json::json!({
        "verdict": "error",
        "reason": "InvalidInput",
        "message": message,
    });
    format!("{report}\n")
}

/// The verdict as text or JSON, ending with a newline.
pub fn render(outcome: &Outcome, format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => text(outcome),
        OutputFormat::Json => json(outcome),
    }
}

fn text(outcome: &Outcome) -> String {
    let head = match outcome {
        Outcome::Valid(_) => "VALID".to_string(),
        Outcome::Invalid(invalid) => format!("INVALID ({})", invalid.reason()),
        Outcome::Transient(transient) => format!("COULD NOT TELL ({})", transient.reason()),
    };
    format!("{head}: {}\n", outcome.message())
}

fn json(outcome: &Outcome) -> String {
    let report = match outcome {
        Outcome::Valid(valid) => JsonReport::valid(valid),
        Outcome::Invalid(invalid) => {
            let mut report =
                JsonReport::new("invalid", invalid.reason().as_str(), outcome.message());
            if let Invalid::InsufficientScope {
                missing, granted, ..
            } = invalid
            {
                report.missing = Some(missing);
                report.granted = Some(granted);
            }
            report
        }
        Outcome::Transient(transient) => JsonReport {
            retry_after_seconds: transient.retry_after().map(|d| d.as_secs()),
            ..JsonReport::new("unknown", transient.reason().as_str(), outcome.message())
        },
    };
    report.to_text()
}
