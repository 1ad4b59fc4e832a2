//! `revalidate NAME`: asks the operator for a fresh check now, through the
//! `bitbucket-token-operator.io/revalidate` annotation, and with `--wait` prints the verdict the
//! operator reports for that very request (`status.observedRevalidate` equals the annotation).

use std::{process::ExitCode, time::Duration};

use chrono::{SecondsFormat, Utc};
use clap::Args;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
    runtime::wait::await_condition,
};
use serde_json::json;

use super::{
    error::ClusterError,
    exit,
    kubeconfig::ClusterArgs,
    object,
    status::{self, StatusOutput},
    status_text,
};
use crate::{
    api::{BitbucketToken, GoDuration},
    controller::reconcile::REVALIDATE_ANNOTATION,
};

/// Ask the operator to check a BitbucketToken with Bitbucket now instead of at the next interval.
#[derive(Args, Debug, Clone)]
pub struct RevalidateArgs {
    /// Name of the BitbucketToken.
    pub name: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Wait until the operator reports the verdict of this check, print it, and exit by it.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (Go duration: 90s, 2m).
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub timeout: GoDuration,
    /// Output of the verdict with --wait.
    #[arg(short = 'o', long, value_enum, default_value_t = StatusOutput::Text)]
    pub output: StatusOutput,
}

/// Why revalidation did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RevalidateError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(
        "no verdict from the operator within {timeout}: it has not answered the request {value:?} \
         (is it running, does it watch namespace {namespace}, and is it a version that writes \
         status.observedRevalidate?)"
    )]
    Timeout {
        timeout: String,
        value: String,
        namespace: String,
    },
    #[error("watching BitbucketToken {name:?} failed: {source}")]
    Watch {
        name: String,
        #[source]
        source: kube::runtime::wait::Error,
    },
    #[error("BitbucketToken {name:?} was deleted while waiting")]
    Deleted { name: String },
    #[error("cannot print the verdict: {0}")]
    Print(#[from] status::RenderError),
}

impl RevalidateError {
    fn exit_code(&self) -> u8 {
        match self {
            RevalidateError::Cluster(error) => error.exit_code(),
            RevalidateError::Timeout { .. } => exit::UNDECIDED,
            RevalidateError::Deleted { .. } => exit::NOT_FOUND,
            RevalidateError::Watch { .. } | RevalidateError::Print(_) => exit::CLUSTER,
        }
    }
}

/// Runs `revalidate` and returns the exit code (see [`exit::REVALIDATE_HELP`]).
pub async fn run(args: RevalidateArgs) -> ExitCode {
    match revalidate(&args).await {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn revalidate(args: &RevalidateArgs) -> Result<u8, RevalidateError> {
    let connection = args.cluster.connect().await.map_err(ClusterError::from)?;
    let (client, namespace) = (&connection.client, connection.namespace.as_str());
    // A not-found BitbucketToken is told apart from a forbidden patch before anything is written.
    object::get(client, namespace, &args.name).await?;
    let value = request(client, namespace, &args.name).await?;
    eprintln!(
        "Asked the operator to check BitbucketToken {namespace}/{} again ({REVALIDATE_ANNOTATION}={value}).",
        args.name
    );
    if !args.wait {
        return Ok(exit::READY);
    }
    wait_for_answer(client, namespace, &args.name, &value, &args.timeout).await?;
    let report = status::report(client, namespace, &args.name).await?;
    let text = match args.output {
        StatusOutput::Text => status_text::render_verdict(&report, Utc::now()),
        output => status::render(&report, output)?,
    };
    print!("{text}");
    Ok(report.verdict.exit_code())
}

/// Sets the annotation to a new value (the current time, to the nanosecond) and returns it.
async fn request(client: &Client, namespace: &str, name: &str) -> Result<String, ClusterError> {
    let value = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
    let patch = json!({"metadata": {"annotations": {REVALIDATE_ANNOTATION: value}}});
    object::api(client, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| {
            ClusterError::api(
                "patch",
                format!("BitbucketToken {name:?}"),
                namespace,
                source,
            )
        })?;
    Ok(value)
}

/// Waits until the status answers the request `value`.
async fn wait_for_answer(
    client: &Client,
    namespace: &str,
    name: &str,
    value: &str,
    timeout: &GoDuration,
) -> Result<(), RevalidateError> {
    let api: Api<BitbucketToken> = Api::namespaced(client.clone(), namespace);
    let expected = value.to_string();
    let answered = move |object: Option<&BitbucketToken>| {
        object.is_none_or(|o| {
            o.status
                .as_ref()
                .and_then(|s| s.observed_revalidate.as_deref())
                == Some(expected.as_str())
        })
    };
    let wait: Duration = timeout.as_duration();
    match tokio::time::timeout(wait, await_condition(api, name, answered)).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(RevalidateError::Deleted {
            name: name.to_string(),
        }),
        Ok(Err(source)) => Err(RevalidateError::Watch {
            name: name.to_string(),
            source,
        }),
        Err(_) => Err(RevalidateError::Timeout {
            timeout: timeout.as_str().to_string(),
            value: value.to_string(),
            namespace: namespace.to_string(),
        }),
    }
}
