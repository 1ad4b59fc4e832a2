//! Printing a verdict for a person (text) or a program (JSON).

use serde::Serialize;

use super::args::OutputFormat;
use crate::{
    api::ExpirySource,
    bitbucket::{Invalid, Outcome},
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    verdict: &'static str,
    reason: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    granted: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_source: Option<ExpirySource>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
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
    let empty: &[String] = &[];
    let mut report = JsonReport {
        verdict: "",
        reason: "",
        message: outcome.message(),
        identity: None,
        credential_type: None,
        granted: None,
        missing: None,
        expires_at: None,
        expiry_source: None,
        warnings: empty,
        retry_after_seconds: None,
    };
    match outcome {
        Outcome::Valid(valid) => {
            report.verdict = "valid";
            report.reason = "Valid";
            report.identity = Some(&valid.identity);
            report.credential_type = valid.credential_type.as_deref();
            report.granted = Some(&valid.granted);
            report.expires_at = valid.expires_at.map(crate::bitbucket::rfc3339_text);
            report.expiry_source = valid.expiry_source;
            report.warnings = &valid.warnings;
        }
        Outcome::Invalid(invalid) => {
            report.verdict = "invalid";
            report.reason = invalid.reason().as_str();
            if let Invalid::InsufficientScope {
                missing, granted, ..
            } = invalid
            {
                report.missing = Some(missing);
                report.granted = Some(granted);
            }
        }
        Outcome::Transient(transient) => {
            report.verdict = "unknown";
            report.reason = transient.reason().as_str();
            report.retry_after_seconds = transient.retry_after().map(|d| d.as_secs());
        }
    }
    // Serializing plain strings and numbers cannot fail; fall back to the message just in case.
    serde_json::to_string_pretty(&report).unwrap_or_else(|_| report.message.clone()) + "\n"
}
