//! `check NAME`: the operator's validation of a BitbucketToken of the cluster, run on this machine
//! with the caller's own permissions (the token Secret is read with their kubeconfig).
//!
//! The token goes only where the operator would send it: Bitbucket Cloud's API, or a Data Center
//! host the operator accepted for this very spec (its status answers the current generation with
//! a reason other than `HostNotAllowed` or `InvalidSpec`) or one the caller names with
//! `--allowed-dc-host`. Anyone who may edit the BitbucketToken may change its URL; this keeps a
//! person with more rights from sending the token to a host nobody approved.

use std::{process::ExitCode, time::Duration};

use chrono::Utc;
use url::Url;

use super::{check_command::ClusterCheckArgs, check_report, error::ClusterError, exit, object};
use crate::{
    api::{BitbucketToken, ConditionType, Reason},
    bitbucket::{ClientConfig, Server, ValidationRequest, Validator, host_key},
    check::OutputFormat,
    controller::{source, validate::formats, verdict::TokenVerdict},
    render::extra_basic_user,
};

/// Why `check NAME` could not reach a verdict.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Cluster(Box<ClusterError>),
    #[error(
        "you may not read Secret {secret:?} ({what}) in namespace {namespace}: {message}. \
         `check NAME` reads it with your own kubeconfig permissions; ask for `get` on that Secret, \
         or let the operator check the token: revalidate {name} -n {namespace} --wait"
    )]
    SecretForbidden {
        secret: String,
        what: &'static str,
        namespace: String,
        name: String,
        message: String,
    },
    #[error(transparent)]
    Read(crate::controller::error::Error),
    #[error("cannot read the CA file {path}: {source}")]
    ReadCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up the HTTPS client: {0}")]
    Client(#[from] crate::bitbucket::ClientError),
}

impl From<ClusterError> for CheckError {
    fn from(error: ClusterError) -> Self {
        CheckError::Cluster(Box::new(error))
    }
}

impl CheckError {
    fn exit_code(&self) -> u8 {
        match self {
            CheckError::Cluster(error) => error.exit_code(),
            CheckError::SecretForbidden { .. } | CheckError::Read(_) => exit::CLUSTER,
            CheckError::ReadCa { .. } | CheckError::Client(_) => exit::USAGE,
        }
    }
}

/// Runs `check NAME` and returns the exit code (see [`exit::CHECK_HELP`]).
pub async fn run(args: ClusterCheckArgs) -> ExitCode {
    match check(&args).await {
        Ok(verdict) => {
            print!(
                "{}",
                check_report::render(&verdict, &args.name, args.output)
            );
            ExitCode::from(match verdict {
                TokenVerdict::Valid(_) => exit::READY,
                TokenVerdict::Invalid { .. } => exit::NOT_READY,
                TokenVerdict::Unknown { .. } => exit::UNDECIDED,
            })
        }
        Err(error) => {
            match args.output {
                OutputFormat::Json => print!("{}", check_report::error(&error.to_string())),
                OutputFormat::Text => eprintln!("error: {error}"),
            }
            ExitCode::from(error.exit_code())
        }
    }
}

async fn check(args: &ClusterCheckArgs) -> Result<TokenVerdict, CheckError> {
    let connection = args.cluster.connect().await.map_err(ClusterError::from)?;
    let (client, namespace) = (&connection.client, connection.namespace.as_str());
    let bbt = object::get(client, namespace, &args.name).await?;
    let spec = &bbt.spec;
    let dc = spec.server.as_ref().and_then(|s| s.data_center.as_ref());
    let dc_url = match dc.map(|dc| Url::parse(&dc.url)) {
        Some(Ok(url)) => Some(url),
        Some(Err(error)) => {
            return Ok(TokenVerdict::invalid(
                Reason::InvalidSpec,
                format!("server.dataCenter.url is not a valid URL ({error}); fix the spec."),
            ));
        }
        None => None,
    };
    if let Some(url) = &dc_url
        && let Some(refusal) = host_refusal(&bbt, url, &args.allowed_dc_hosts)
    {
        return Ok(refusal);
    }
    let forbidden =
        |secret: &str, what: &'static str, message: String| CheckError::SecretForbidden {
            secret: secret.to_string(),
            what,
            namespace: namespace.to_string(),
            name: args.name.clone(),
            message,
        };
    let reference = &spec.token.secret_ref;
    let token = match source::read_token(client, namespace, reference).await {
        Ok(Ok(token)) => token,
        Ok(Err(verdict)) => return Ok(verdict),
        Err(error) => {
            return Err(read_error(error, &reference.name, namespace, |message| {
                forbidden(&reference.name, "the token", message)
            }));
        }
    };
    let ca_pem = match dc.and_then(|dc| dc.ca_bundle_secret_ref.as_ref()) {
        Some(reference) => match source::read_ca_bundle(client, namespace, reference).await {
            Ok(Ok(pem)) => Some(pem),
            Ok(Err(verdict)) => return Ok(verdict),
            Err(error) => {
                return Err(read_error(error, &reference.name, namespace, |message| {
                    forbidden(&reference.name, "the CA bundle", message)
                }));
            }
        },
        None => read_ca_file(args)?,
    };
    let validator = Validator::new(ClientConfig {
        cloud_api_url: args.cloud_api_url.clone(),
        extra_ca_pem: if dc_url.is_none() {
            read_ca_file(args)?
        } else {
            None
        },
        request_timeout: Duration::from_secs(args.timeout_seconds.max(1)),
        ..ClientConfig::default()
    })?;
    let server = match &dc_url {
        Some(url) => Server::DataCenter {
            url,
            ca_pem: ca_pem.as_deref(),
        },
        None => Server::Cloud,
    };
    let status = bbt.status.clone().unwrap_or_default();
    let fingerprint = token.fingerprint();
    let formats = formats(&bbt);
    let request = ValidationRequest {
        kind: spec.token.kind,
        server,
        token: &token,
        email: spec.token.email.as_deref(),
        username: spec.token.username.as_deref(),
        access: &spec.access,
        declared_expiry: spec.token.expires_at,
        accepted_before: status.accepted_before(&fingerprint),
        basic_user: extra_basic_user(spec.token.kind, spec.token.username.as_deref(), &formats),
    };
    let verdict = TokenVerdict::from(validator.validate(&request).await);
    Ok(verdict.expired_by(Utc::now(), status.expiry_of(&token.fingerprint())))
}

/// A refusal to send the token to the Data Center host of `url`, unless the operator accepted
/// it for the current spec or the caller allowed it.
fn host_refusal(bbt: &BitbucketToken, url: &Url, allowed: &[String]) -> Option<TokenVerdict> {
    let host = host_key(url);
    let bare = url.host_str().unwrap_or_default();
    if allowed
        .iter()
        .any(|entry| entry.eq_ignore_ascii_case(&host) || entry.eq_ignore_ascii_case(bare))
    {
        return None;
    }
    let status = bbt.status.clone().unwrap_or_default();
    let current = status.observed_generation.is_some()
        && status.observed_generation == bbt.metadata.generation;
    let accepted = current
        && status.conditions.iter().any(|c| {
            c.type_ == ConditionType::TokenValid.as_str()
                && c.reason != Reason::HostNotAllowed.as_str()
                && c.reason != Reason::InvalidSpec.as_str()
        });
    (!accepted).then(|| {
        TokenVerdict::invalid(
            Reason::HostNotAllowed,
            format!(
                "The operator has not accepted the Data Center host {host} for the current spec \
                 of this BitbucketToken, so the token was not sent there. If you trust {host}, \
                 run check again with --allowed-dc-host {host}."
            ),
        )
    })
}

/// A failure to read a source Secret: a 403 gets `forbidden`'s message.
fn read_error(
    error: crate::controller::error::Error,
    secret: &str,
    namespace: &str,
    forbidden: impl FnOnce(String) -> CheckError,
) -> CheckError {
    let crate::controller::error::Error::ReadSource(source) = error else {
        return CheckError::Read(error);
    };
    match ClusterError::api("get", format!("Secret {secret:?}"), namespace, source) {
        ClusterError::Forbidden { message, .. } => forbidden(message),
        other => other.into(),
    }
}

fn read_ca_file(args: &ClusterCheckArgs) -> Result<Option<Vec<u8>>, CheckError> {
    args.ca_file
        .as_ref()
        .map(|path| {
            std::fs::read(path).map_err(|source| CheckError::ReadCa {
                path: path.display().to_string(),
                source,
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

    use super::*;
    use crate::api::BitbucketTokenStatus;

    fn token_valid(status: &str, reason: &str) -> Condition {
        Condition {
            type_: "TokenValid".into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            last_transition_time: crate::api::kube_time(Utc::now()),
            observed_generation: Some(1),
        }
    }

    fn data_center(observed: Option<i64>, reason: &str) -> BitbucketToken {
        let spec = serde_json::from_value(serde_json::json!({
            "server": {"dataCenter": {"url": "https://git.example.com"}},
            "token": {"kind": "HTTPAccessToken", "secretRef": {"name": "t", "key": "token"}},
            "access": {"project": "PAY"},
        }))
        .unwrap();
        let mut bbt = BitbucketToken::new("payments", spec);
        bbt.metadata.generation = Some(2);
        bbt.status = Some(BitbucketTokenStatus {
            observed_generation: observed,
            conditions: vec![token_valid("False", reason)],
            ..BitbucketTokenStatus::default()
        });
        bbt
    }

    #[test]
    fn the_token_goes_only_to_a_host_the_operator_or_the_caller_accepted() {
        let url = Url::parse("https://git.example.com").unwrap();
        let accepted = data_center(Some(2), "Revoked");
        assert!(host_refusal(&accepted, &url, &[]).is_none());
        for refused in [
            data_center(Some(2), "HostNotAllowed"),
            data_center(Some(1), "Revoked"),
            data_center(None, "Revoked"),
        ] {
            let verdict = host_refusal(&refused, &url, &[]).expect("refused");
            assert!(
                matches!(verdict, TokenVerdict::Invalid { reason: Reason::HostNotAllowed, ref message } if message.contains("--allowed-dc-host git.example.com")),
                "{verdict:?}"
            );
            assert!(host_refusal(&refused, &url, &["GIT.example.com".into()]).is_none());
        }
    }
}
