//! Flags of `bitbucket-token-operator check`.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use url::Url;

use crate::api::{Permission, TokenKind};

/// How the verdict is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// The access level, spelled as on the CRD (`Read`, `Write`, `Admin`; any case is accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PermissionArg {
    #[value(name = "Read")]
    Read,
    #[value(name = "Write")]
    Write,
    #[value(name = "Admin")]
    Admin,
}

impl From<PermissionArg> for Permission {
    fn from(value: PermissionArg) -> Self {
        match value {
            PermissionArg::Read => Permission::Read,
            PermissionArg::Write => Permission::Write,
            PermissionArg::Admin => Permission::Admin,
        }
    }
}

/// Exit codes of `check`, shown under its `--help`.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0   valid: Bitbucket accepts the token with the requested access
  1   invalid: Bitbucket rejects the token or it lacks the access (the reason says which)
  2   could not tell: Bitbucket could not be reached, answered 5xx or rate-limited the check
  64  bad input: a flag, the token file or the CA file is unusable; nothing was sent";

/// `--server-url`: an https URL with a host. A bare host (with or without port and context path)
/// or an http URL gets a message with the URL to type instead.
fn parse_server_url(text: &str) -> Result<Url, String> {
    const CONTEXT: &str = "include the context path if your server has one, e.g. /bitbucket";
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(format!(
            "{text:?} has no scheme: give the Data Center base URL as https://{} ({CONTEXT})",
            text.trim_end_matches('/')
        ));
    };
    if scheme.eq_ignore_ascii_case("http") {
        return Err(format!(
            "{text:?} must start with https:// (over http the token would travel unencrypted): use https://{rest}"
        ));
    }
    let url = Url::parse(text).map_err(|error| {
        format!("{text:?} is not a URL ({error}); give the Data Center base URL, e.g. https://git.example.com/bitbucket")
    })?;
    match (url.scheme(), url.host_str()) {
        ("https", Some(_)) => Ok(url),
        _ => Err(format!(
            "{text:?} is not an https URL with a host; give the Data Center base URL, e.g. https://git.example.com/bitbucket"
        )),
    }
}

/// `--expires-at`: RFC 3339. A date alone gets a message that says what to type.
fn parse_expiry(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok() {
        return Err(format!(
            "{text:?} has no time zone: add one, e.g. {text}Z for UTC or {text}+01:00"
        ));
    }
    if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        return Err(format!(
            "{text:?} is a date without a time: give the moment the token expires with its zone, e.g. {text}T00:00:00Z (Bitbucket shows expiry dates in your profile's time zone)"
        ));
    }
    Err(format!(
        "{text:?} is not an RFC 3339 time: use e.g. 2026-12-31T23:59:59Z or 2026-12-31T23:59:59+01:00"
    ))
}

/// Check one token with Bitbucket. Exit code 0: valid; 1: invalid; 2: could not tell; 64: bad input.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Token kind: RepositoryAccessToken, ProjectAccessToken, WorkspaceAccessToken, APIToken,
    /// AppPassword (Cloud) or HTTPAccessToken (Data Center).
    #[arg(long)]
    pub kind: TokenKind,
    /// Data Center base URL including any context path, e.g. https://git.example.com/bitbucket;
    /// omit for Bitbucket Cloud.
    #[arg(long, value_parser = parse_server_url)]
    pub server_url: Option<Url>,
    /// Cloud workspace slug.
    #[arg(long)]
    pub workspace: Option<String>,
    /// Project key (Cloud project or Data Center project).
    #[arg(long)]
    pub project: Option<String>,
    /// Repository slug; repeat for several.
    #[arg(long = "repository")]
    pub repositories: Vec<String>,
    /// The access the token must give.
    #[arg(long, value_enum, ignore_case = true, default_value_t = PermissionArg::Read)]
    pub permission: PermissionArg,
    /// Atlassian account email (APIToken).
    #[arg(long)]
    pub email: Option<String>,
    /// Bitbucket username (AppPassword; DC personal tokens).
    #[arg(long)]
    pub username: Option<String>,
    /// PEM CA bundle to trust: a Data Center server's private CA, or (for Cloud) a proxy's CA.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// File holding the token, or - for standard input. Never pass a token as an argument.
    #[arg(long)]
    pub token_file: PathBuf,
    /// The token's expiry, when Bitbucket cannot tell: an RFC 3339 time with a zone, e.g.
    /// 2026-12-31T00:00:00Z.
    #[arg(long, value_parser = parse_expiry)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Seconds allowed for each request.
    #[arg(long, default_value_t = 15)]
    pub timeout_seconds: u64,
    /// Bitbucket Cloud REST API base URL (tests point it at a simulator).
    #[arg(long, env = "BTO_CLOUD_API_URL", default_value = crate::bitbucket::CLOUD_API_URL, hide = true)]
    pub cloud_api_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_hosts_and_dates_say_what_to_type() {
        let host = parse_server_url("git.example.com").unwrap_err();
        assert!(host.contains("https://git.example.com "), "{host}");
        let path = parse_server_url("git.example.com/bitbucket").unwrap_err();
        assert!(
            path.contains("as https://git.example.com/bitbucket "),
            "{path}"
        );
        let port = parse_server_url("localhost:8443").unwrap_err();
        assert!(port.contains("https://localhost:8443 "), "{port}");
        let http = parse_server_url("http://git.example.com:8080/bitbucket").unwrap_err();
        assert!(
            http.contains("use https://git.example.com:8080/bitbucket"),
            "{http}"
        );
        let zone = parse_expiry("2026-12-31T10:00:00").unwrap_err();
        assert!(zone.contains("2026-12-31T10:00:00Z"), "{zone}");
        assert!(parse_server_url("https://git.example.com/bitbucket").is_ok());
        let date = parse_expiry("2026-12-31").unwrap_err();
        assert!(date.contains("2026-12-31T00:00:00Z"), "{date}");
        assert!(parse_expiry("2026-12-31T10:00:00+01:00").is_ok());
        assert!(parse_expiry("tomorrow").unwrap_err().contains("RFC 3339"));
    }
}
