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

/// The access level, as on the CRD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PermissionArg {
    Read,
    Write,
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

/// Check one token with Bitbucket. Exit code 0: valid; 1: invalid; 2: could not tell; 64: bad input.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Token kind: RepositoryAccessToken, ProjectAccessToken, WorkspaceAccessToken, APIToken,
    /// AppPassword (Cloud) or HTTPAccessToken (Data Center).
    #[arg(long)]
    pub kind: TokenKind,
    /// Data Center base URL including any context path; omit for Bitbucket Cloud.
    #[arg(long)]
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
    #[arg(long, value_enum, default_value_t = PermissionArg::Read)]
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
    /// The token's expiry, when Bitbucket cannot tell (RFC 3339).
    #[arg(long)]
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
