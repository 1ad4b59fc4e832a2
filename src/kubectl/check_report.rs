//! Printing the verdict of `check NAME`: the same one-line text and JSON fields as `check` with
//! flags (`verdict`, `reason`, `message`, ...), plus the BitbucketToken's name.

use serde::Serialize;

use crate::{
    api::ExpirySource, bitbucket::rfc3339_text, check::OutputFormat,
    controller::verdict::TokenVerdict,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    name: &'a str,
    verdict: &'static str,
    reason: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    granted: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_source: Option<ExpirySource>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
}

/// The verdict on BitbucketToken `name` as text or JSON, ending with a newline.
pub fn render(verdict: &TokenVerdict, name: &str, output: OutputFormat) -> String {
    match output {
        OutputFormat::Text => text(verdict),
        OutputFormat::Json => json(verdict, name),
    }
}

/// A failure before any verdict, as JSON (`verdict: "error"`), ending with a newline.
pub fn error(message: &str) -> String {
    let report = serde_json::json!({
        "verdict": "error",
        "reason": "Error",
        "message": message,
    });
    format!("{report}\n")
}

fn text(verdict: &TokenVerdict) -> String {
    match verdict {
        TokenVerdict::Valid(facts) => format!("VALID: {}\n", facts.message()),
        TokenVerdict::Invalid { reason, message } => format!("INVALID ({reason}): {message}\n"),
        TokenVerdict::Unknown {
            reason, message, ..
        } => format!("COULD NOT TELL ({reason}): {message}\n"),
    }
}

fn json(verdict: &TokenVerdict, name: &str) -> String {
    let mut report = JsonReport {
        name,
        verdict: "valid",
        reason: "Valid",
        message: String::new(),
        identity: None,
        granted: None,
        expires_at: None,
        expiry_source: None,
        warnings: &[],
        retry_after_seconds: None,
    };
    match verdict {
        TokenVerdict::Valid(facts) => {
            report.message = facts.message();
            report.identity = Some(&facts.identity);
            report.granted = Some(&facts.granted);
            report.expires_at = facts.expires_at.map(rfc3339_text);
            report.expiry_source = facts.expiry_source;
            report.warnings = &facts.warnings;
        }
        TokenVerdict::Invalid { reason, message } => {
            report.verdict = "invalid";
            report.reason = reason.as_str();
            report.message = message.clone();
        }
        TokenVerdict::Unknown {
            reason,
            message,
            retry_after,
        } => {
            report.verdict = "unknown";
            report.reason = reason.as_str();
            report.message = message.clone();
            report.retry_after_seconds = retry_after.map(|d| d.as_secs());
        }
    }
    // Serializing plain strings and numbers cannot fail; fall back to the message just in case.
    serde_json::to_string_pretty(&report).unwrap_or_else(|_| report.message.clone()) + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{api::Reason, bitbucket::ValidToken};

    #[test]
    fn text_and_json_say_the_verdict() {
        let revoked = TokenVerdict::invalid(Reason::Revoked, "revoked");
        assert_eq!(
            render(&revoked, "payments", OutputFormat::Text),
            "INVALID (Revoked): revoked\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&revoked, "payments", OutputFormat::Json)).unwrap();
        assert_eq!(json["verdict"], "invalid");
        assert_eq!(json["reason"], "Revoked");
        assert_eq!(json["name"], "payments");
        let valid = TokenVerdict::Valid(ValidToken {
            identity: "alice".into(),
            granted: vec!["repository".into()],
            ..ValidToken::default()
        });
        assert_eq!(
            render(&valid, "payments", OutputFormat::Text),
            "VALID: Bitbucket accepts the token as alice with repository.\n"
        );
    }
}
