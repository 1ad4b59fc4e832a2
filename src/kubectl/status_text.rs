//! The `status` report as a person reads it in a terminal.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{
    human_time::{exact_and_relative, relative},
    status_report::{StatusReport, Verdict},
};
use crate::api::ExpirySource;

/// Lines are wrapped to the terminal's width, or to this width when there is no terminal.
const DEFAULT_WIDTH: usize = 100;
/// Width of the label column of the facts block ("Next check:  ").
const LABEL: usize = 13;

/// The report as text, times relative to `now`, ending with a newline.
pub fn render(report: &StatusReport, now: DateTime<Utc>) -> String {
    let width = width();
    let mut out = String::new();
    header(&mut out, report);
    conditions(&mut out, report, now, width);
    facts(&mut out, report, now, width);
    secret(&mut out, report, width);
    events(&mut out, report, now, width);
    out
}

/// The verdict alone (header and conditions), for `revalidate --wait`.
pub fn render_verdict(report: &StatusReport, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    header(&mut out, report);
    conditions(&mut out, report, now, width());
    out
}

/// `$COLUMNS` when exported, else the width of the terminal on standard output, else
/// [`DEFAULT_WIDTH`]; never below 40.
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stdout())
                .map(|(terminal_size::Width(w), _)| usize::from(w))
        })
        .unwrap_or(DEFAULT_WIDTH)
        .max(40)
}

fn header(out: &mut String, report: &StatusReport) {
    let verdict = match report.verdict {
        Verdict::Ready => "Ready",
        Verdict::NotReady => "NOT READY",
        Verdict::Unknown => "not decided yet",
    };
    let _ = writeln!(
        out,
        "BitbucketToken {}/{}: {verdict}",
        report.namespace, report.name
    );
    if report.stale && !report.conditions.is_empty() {
        out.push_str("(the operator has not reported on the latest change to the spec yet)\n");
    }
}

fn conditions(out: &mut String, report: &StatusReport, now: DateTime<Utc>, width: usize) {
    out.push_str("\nConditions:\n");
    if report.conditions.is_empty() {
        out.push_str("  none yet: the operator has not reported on this BitbucketToken (is it running and watching this namespace?)\n");
        return;
    }
    for c in &report.conditions {
        let _ = writeln!(
            out,
            "  {:<11} {:<8} {:<21} since {}",
            c.type_,
            c.status,
            c.reason,
            relative(c.last_transition_time, now)
        );
        wrap_into(out, &c.message, 6, width);
    }
}

fn facts(out: &mut String, report: &StatusReport, now: DateTime<Utc>, width: usize) {
    out.push('\n');
    let token = &report.token;
    let mut source = format!(
        "{} in Secret {}, key {}",
        token.kind, token.secret_name, token.secret_key
    );
    if let Some(fingerprint) = &token.fingerprint {
        let _ = write!(source, " ({fingerprint})");
    }
    fact(out, "Token", &source, width);
    fact(out, "Server", &report.server, width);
    fact(out, "Access", &report.access, width);
    fact(
        out,
        "Identity",
        report.identity.as_deref().unwrap_or("not known yet"),
        width,
    );
    let scopes = if report.granted_scopes.is_empty() {
        "none reported".to_string()
    } else {
        report.granted_scopes.join(", ")
    };
    fact(out, "Scopes", &scopes, width);
    let reported = !report.conditions.is_empty();
    let expires = if reported {
        expiry(report, now)
    } else {
        "not known yet".to_string()
    };
    fact(out, "Expires", &expires, width);
    let at = |time: Option<DateTime<Utc>>, none: &str| {
        time.map_or(none.to_string(), |t| exact_and_relative(t, now))
    };
    fact(
        out,
        "Validated",
        &at(
            report.last_validated_at,
            "never (no answer from Bitbucket yet)",
        ),
        width,
    );
    fact(
        out,
        "Next check",
        &at(
            report.next_validation_at,
            if reported {
                "not scheduled (waiting for a change to the spec or the Secret)"
            } else {
                "not scheduled yet"
            },
        ),
        width,
    );
    fact(out, "Failures", &failures(report, now), width);
}

fn expiry(report: &StatusReport, now: DateTime<Utc>) -> String {
    match (report.expires_at, report.expiry_source) {
        (Some(at), source) => {
            let from = match source {
                Some(ExpirySource::Bitbucket) => ", reported by Bitbucket",
                Some(ExpirySource::Declared) => ", as declared in spec.token.expiresAt",
                None => "",
            };
            format!("{}{from}", exact_and_relative(at, now))
        }
        (None, _) => "no expiry known (Bitbucket reports none and spec.token.expiresAt is not set)"
            .to_string(),
    }
}

fn failures(report: &StatusReport, now: DateTime<Utc>) -> String {
    let failures = &report.failures;
    let attempts = match failures.failed_validation_attempts {
        0 => "no failed attempt to reach Bitbucket since the last verdict".to_string(),
        1 => "1 failed attempt to reach Bitbucket since the last verdict".to_string(),
        n => format!("{n} failed attempts in a row to reach Bitbucket since the last verdict"),
    };
    match failures.last_failure_time {
        Some(at) => format!("{attempts}; last failure {}", exact_and_relative(at, now)),
        None => attempts,
    }
}

fn secret(out: &mut String, report: &StatusReport, width: usize) {
    let secret = &report.secret;
    out.push('\n');
    if let Some(error) = &secret.error {
        let _ = writeln!(out, "Secret {}: keys not shown:", secret.name);
        wrap_into(out, error, 2, width);
        return;
    }
    if !secret.exists {
        let _ = writeln!(
            out,
            "Secret {}: does not exist (not rendered yet: it is written once the token is valid)",
            secret.name
        );
        return;
    }
    let _ = writeln!(
        out,
        "Secret {} ({}), keys (values not shown):",
        secret.name,
        secret.type_.as_deref().unwrap_or("Opaque")
    );
    let key_width = secret.keys.iter().map(|k| k.key.len()).max().unwrap_or(0) + 3;
    for key in &secret.keys {
        let _ = writeln!(out, "  {:<key_width$}{}", key.key, key.consumers.join("; "));
    }
}

fn events(out: &mut String, report: &StatusReport, now: DateTime<Utc>, width: usize) {
    out.push('\n');
    if let Some(error) = &report.events_error {
        out.push_str("Events: not shown:\n");
        wrap_into(out, error, 2, width);
        return;
    }
    if report.events.is_empty() {
        out.push_str("Events: none (Kubernetes keeps Events for about an hour)\n");
        return;
    }
    out.push_str("Events (newest first):\n");
    for event in &report.events {
        let age = event
            .last_seen
            .map_or("-".to_string(), |at| relative(at, now));
        let count = if event.count > 1 {
            format!(" (x{})", event.count)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<16} {:<8} {}{count}",
            age, event.type_, event.reason
        );
        wrap_into(out, &event.message, 6, width);
    }
}

/// `Label:` padded to the label column, then `value` wrapped under itself.
fn fact(out: &mut String, label: &str, value: &str, width: usize) {
    let label = format!("{label}:");
    let _ = write!(out, "{label:<LABEL$}");
    let mut lines = wrap(value, width.saturating_sub(LABEL).max(20)).into_iter();
    let _ = writeln!(out, "{}", lines.next().unwrap_or_default());
    for line in lines {
        let _ = writeln!(out, "{:LABEL$}{line}", "");
    }
}

/// `text` wrapped to `width`, each line indented by `indent` spaces.
fn wrap_into(out: &mut String, text: &str, indent: usize, width: usize) {
    for line in wrap(text, width.saturating_sub(indent).max(20)) {
        let _ = writeln!(out, "{:indent$}{line}", "");
    }
}

/// Splits `text` into lines of at most `width` characters at spaces (a longer word gets a line
/// of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::kubectl::status_report::{
        ConditionView, EventView, Failures, KeyView, SecretView, TokenView,
    };

    fn report(now: DateTime<Utc>) -> StatusReport {
        let condition = |type_: &str, status: &str, reason: &str, message: &str| ConditionView {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            last_transition_time: now - TimeDelta::minutes(3),
        };
        StatusReport {
            name: "payments".into(),
            namespace: "ci".into(),
            verdict: Verdict::Ready,
            stale: false,
            conditions: vec![
                condition(
                    "Ready",
                    "True",
                    "SecretRendered",
                    "The Secret payments-git holds the current token.",
                ),
                condition(
                    "Expiring",
                    "True",
                    "ExpiresSoon",
                    "The token expires soon; rotate it.",
                ),
            ],
            token: TokenView {
                kind: "HTTPAccessToken".into(),
                secret_name: "payments-token".into(),
                secret_key: "token".into(),
                fingerprint: Some("sha256:0123456789ab".into()),
            },
            server: "Bitbucket Data Center https://git.example.com".into(),
            access: "read access to PAY/payments".into(),
            identity: Some("Repository token".into()),
            granted_scopes: vec!["REPO_READ".into()],
            expires_at: Some(now + TimeDelta::days(12) + TimeDelta::hours(1)),
            expiry_source: Some(ExpirySource::Bitbucket),
            last_validated_at: Some(now - TimeDelta::minutes(3)),
            next_validation_at: Some(now + TimeDelta::minutes(57)),
            failures: Failures {
                failed_validation_attempts: 3,
                last_failure_time: Some(now - TimeDelta::minutes(5)),
            },
            secret: SecretView {
                name: "payments-git".into(),
                exists: true,
                type_: Some("Opaque".into()),
                keys: vec![KeyView {
                    key: ".gitconfig".into(),
                    consumers: vec!["git CLI".into()],
                }],
                error: None,
            },
            events: vec![EventView {
                type_: "Warning".into(),
                reason: "TokenExpiringSoon".into(),
                message: "The token expires soon.".into(),
                count: 2,
                last_seen: Some(now - TimeDelta::minutes(3)),
            }],
            events_error: None,
        }
    }

    #[test]
    fn a_person_reads_expiry_failures_keys_and_events() {
        let now = Utc::now();
        let text = render(&report(now), now);
        for expected in [
            "BitbucketToken ci/payments: Ready",
            "ExpiresSoon",
            "(in 12 days), reported by Bitbucket",
            "Validated:   ",
            "(3 minutes ago)",
            "3 failed attempts in a row",
            "last failure",
            "(5 minutes ago)",
            "Secret payments-git (Opaque), keys (values not shown):",
            "  .gitconfig   git CLI",
            "TokenExpiringSoon (x2)",
        ] {
            assert!(text.contains(expected), "{expected:?} missing in\n{text}");
        }
    }

    #[test]
    fn nothing_is_claimed_before_the_operator_reports() {
        let now = Utc::now();
        let text = render(
            &StatusReport {
                verdict: Verdict::Unknown,
                stale: true,
                conditions: vec![],
                expires_at: None,
                expiry_source: None,
                next_validation_at: None,
                ..report(now)
            },
            now,
        );
        assert!(text.contains("not decided yet"), "{text}");
        assert!(
            text.contains("none yet: the operator has not reported"),
            "{text}"
        );
        assert!(text.contains("Expires:     not known yet"), "{text}");
        assert!(
            !text.contains("has not reported on the latest change"),
            "{text}"
        );
    }

    #[test]
    fn long_values_wrap_under_their_column() {
        let lines = wrap("aaa bbb ccc ddd", 7);
        assert_eq!(lines, ["aaa bbb", "ccc ddd"]);
        assert_eq!(wrap("", 10), [""]);
        let mut out = String::new();
        fact(&mut out, "Access", &"word ".repeat(40), 60);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines.iter().all(|l| l.chars().count() <= 60), "{out}");
        assert!(lines[1].starts_with(&" ".repeat(LABEL)), "{out}");
    }
}
