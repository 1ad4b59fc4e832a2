//! `bitbucket-token-operator check`: the operator's validation, for a person at a terminal.

mod args;
mod report;

use std::{io::Read, process::ExitCode, time::Duration};

pub use args::{CheckArgs, EXIT_CODES_HELP, OutputFormat};
pub(crate) use report::JsonReport;

use crate::{
    api::{AccessSpec, TokenKind},
    bitbucket::{ClientConfig, Outcome, Server, ValidationRequest, Validator},
    token::SecretToken,
};

/// Exit code for input the command cannot work with (EX_USAGE).
pub const EXIT_BAD_INPUT: u8 = 64;

/// Something wrong with the command line or the token file: nothing was sent to Bitbucket.
#[derive(Debug, thiserror::Error)]
pub enum CheckInputError {
    #[error("cannot read the token from {path}: {source}")]
    ReadToken {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the token in {path} is unusable: {source}")]
    MalformedToken {
        path: String,
        #[source]
        source: crate::token::MalformedToken,
    },
    #[error("cannot read the CA bundle {path}: {source}")]
    ReadCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Inconsistent(String),
    #[error("cannot set up the HTTPS client: {0}")]
    Client(#[from] crate::bitbucket::ClientError),
}

/// Runs the check and returns the process exit code.
pub async fn run(args: CheckArgs) -> ExitCode {
    match check(&args).await {
        Ok(outcome) => {
            print!("{}", report::render(&outcome, args.output));
            ExitCode::from(match outcome {
                Outcome::Valid(_) => 0,
                Outcome::Invalid(_) => 1,
                Outcome::Transient(_) => 2,
            })
        }
        Err(problem) => bad_input(&problem.to_string(), args.output),
    }
}

/// Reports input `check` cannot work with (exit 64): as JSON on standard output with
/// `--output json`, else as text on standard error.
pub fn bad_input(message: &str, output: args::OutputFormat) -> ExitCode {
    match output {
        args::OutputFormat::Json => print!("{}", report::input_error(message)),
        args::OutputFormat::Text => eprintln!("error: {message}"),
    }
    ExitCode::from(EXIT_BAD_INPUT)
}

/// True when the command line asks `check` for JSON (`--output json`, `--output=json`, `-o json`
/// or `-ojson`), read before clap so that its own errors can be reported as JSON too.
pub fn wants_json(args: &[String]) -> bool {
    let is_check = args.get(1).is_some_and(|a| a == "check");
    is_check
        && args.iter().enumerate().any(|(i, arg)| {
            arg == "--output=json"
                || arg == "-ojson"
                || ((arg == "--output" || arg == "-o")
                    && args.get(i + 1).is_some_and(|v| v == "json"))
        })
}

async fn check(args: &CheckArgs) -> Result<Outcome, CheckInputError> {
    consistency(args).map_err(CheckInputError::Inconsistent)?;
    let token = read_token(args)?;
    let ca_pem = match &args.ca_file {
        Some(path) => Some(
            std::fs::read(path).map_err(|source| CheckInputError::ReadCa {
                path: path.display().to_string(),
                source,
            })?,
        ),
        None => None,
    };
    // For Cloud the bundle is trusted besides the system roots (a TLS-inspecting proxy's CA).
    let extra_ca_pem = if args.server_url.is_none() {
        ca_pem.clone()
    } else {
        None
    };
    let validator = Validator::new(ClientConfig {
        cloud_api_url: args.cloud_api_url.clone(),
        extra_ca_pem,
        request_timeout: Duration::from_secs(args.timeout_seconds.max(1)),
        ..ClientConfig::default()
    })?;
    let access = AccessSpec {
        workspace: args.workspace.clone(),
        project: args.project.clone(),
        repositories: args.repositories.clone(),
        permission: args.permission.into(),
    };
    let server = match &args.server_url {
        Some(url) => Server::DataCenter {
            url,
            ca_pem: ca_pem.as_deref(),
        },
        None => Server::Cloud,
    };
    let request = ValidationRequest {
        kind: args.kind,
        server,
        token: &token,
        email: args.email.as_deref(),
        username: args.username.as_deref(),
        access: &access,
        declared_expiry: args.expires_at,
        accepted_before: false,
        // What the operator renders by default (GitConfig and GitCredentials).
        basic_user: crate::render::extra_basic_user(
            args.kind,
            args.username.as_deref(),
            &crate::api::OutputFormat::defaults_for(args.kind, args.username.as_deref()),
        ),
    };
    Ok(validator.validate(&request).await)
}

fn read_token(args: &CheckArgs) -> Result<SecretToken, CheckInputError> {
    let path = args.token_file.display().to_string();
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(&args.token_file).map(|content| bytes = content)
    };
    read.map_err(|source| CheckInputError::ReadToken {
        path: path.clone(),
        source,
    })?;
    SecretToken::from_bytes(&bytes)
        .map_err(|source| CheckInputError::MalformedToken { path, source })
}

/// The same cross-field rules the CRD enforces, with messages naming the flags.
fn consistency(args: &CheckArgs) -> Result<(), String> {
    let data_center = args.server_url.is_some();
    if data_center != (args.kind == TokenKind::HttpAccessToken) {
        return Err(if data_center {
            format!(
                "--kind {} is a Bitbucket Cloud token; Data Center (--server-url) takes HTTPAccessToken",
                args.kind
            )
        } else {
            "--kind HTTPAccessToken belongs to Bitbucket Data Center: give --server-url".to_string()
        });
    }
    if let Some(url) = &args.server_url
        && url.scheme() != "https"
    {
        return Err(
            "--server-url must start with https:// (the token is never sent in clear text)".into(),
        );
    }
    if data_center && args.project.is_none() {
        return Err("Data Center needs --project (the project key)".into());
    }
    if !data_center && args.workspace.is_none() {
        return Err("Bitbucket Cloud needs --workspace".into());
    }
    if args.kind == TokenKind::ApiToken && args.email.is_none() {
        return Err(
            "--kind APIToken needs --email (the Atlassian account email used for the REST API)"
                .into(),
        );
    }
    if args.kind == TokenKind::AppPassword && args.username.is_none() {
        return Err("--kind AppPassword needs --username".into());
    }
    if args.kind == TokenKind::RepositoryAccessToken && args.repositories.len() != 1 {
        return Err("--kind RepositoryAccessToken needs exactly one --repository".into());
    }
    if args.kind == TokenKind::ProjectAccessToken && args.project.is_none() {
        return Err("--kind ProjectAccessToken needs --project".into());
    }
    Ok(())
}
