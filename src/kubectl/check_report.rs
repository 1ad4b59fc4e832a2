//! Printing the verdict of `check NAME`: the same one-line text and JSON report as `check` with
//! flags ([`JsonReport`]: `verdict`, `reason`, `message`, ...), plus the BitbucketToken's name.

use crate::{
    check::{JsonReport, OutputFormat},
    controller::verdict::TokenVerdict,
};

/// The verdict on BitbucketToken `name` as text or JSON, ending with a newline.
pub fn render(verdict: &TokenVerdict, name: &str, output: OutputFormat) -> String {
    match output {
        OutputFormat::Text => text(verdict),
        OutputFormat::Json => json(verdict, name),
    }
}

/// A failure before any verdict, as JSON (`verdict: "error"`), ending with a newline.
pub fn error(message: &str) -> String {
    JsonReport::new("error", "Error", message.to_string()).to_text()
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
    let report = match verdict {
        TokenVerdict::Valid(valid) => JsonReport::valid(valid),
        TokenVerdict::Invalid { reason, message } => {
            JsonReport::new("invalid", reason.as_str(), message.clone())
        }
        TokenVerdict::Unknown {
            reason,
            message,
            retry_after,
        } => JsonReport {
            retry_after_seconds: retry_after.map(|d| d.as_secs()),
            ..JsonReport::new("unknown", reason.as_str(), message.clone())
        },
    };
    JsonReport {
        name: Some(name),
        ..report
    }
    .to_text()
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
