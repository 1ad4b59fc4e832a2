//! `bitbucket-token-operator run`: the controllers, their watches, and shutdown on SIGTERM.

use std::{sync::Arc, time::Duration};

use futures::{StreamExt, future::join_all};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, Config, ResourceExt,
    config::{KubeConfigOptions, Kubeconfig},
    core::PartialObjectMeta,
    runtime::{
        Controller, WatchStreamExt,
        controller::Action,
        events::{Recorder, Reporter},
        reflector::ObjectRef,
        watcher,
    },
};

use super::{
    context::{Context, ReconcileSettings},
    error::Error,
    reconcile::reconcile,
    settings::RunArgs,
};
use crate::{
    api::BitbucketToken,
    bitbucket::{ClientConfig, Validator},
};

/// Why `run` could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Logging(#[from] crate::telemetry::LogLevelError),
    #[error("cannot read the kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot configure the Kubernetes client: {0}")]
    KubeConfig(#[from] kube::config::InferConfigError),
    #[error("cannot configure the Kubernetes client: {0}")]
    KubeconfigLoad(#[source] kube::config::KubeconfigError),
    #[error("cannot create the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("cannot read the extra CA bundle {path}: {source}")]
    ExtraCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up the Bitbucket client: {0}")]
    Bitbucket(#[from] crate::bitbucket::ClientError),
}

/// Runs until SIGTERM or Ctrl-C, then finishes in-flight reconciles and returns.
pub async fn run(args: RunArgs) -> Result<(), StartError> {
    crate::telemetry::init(&args.log_level, args.log_format)?;
    let client = kube_client(&args).await?;
    let extra_ca_pem = match &args.extra_ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| StartError::ExtraCa {
            path: path.display().to_string(),
            source,
        })?),
        None => None,
    };
    let validator = Validator::new(ClientConfig {
        cloud_api_url: args.cloud_api_url.to_string(),
        requests_per_second: f64::from(args.bitbucket_rps.max(1)),
        extra_ca_pem,
        allowed_dc_hosts: Some(args.allowed_dc_hosts.clone()),
        ..ClientConfig::default()
    })?;
    let reporter = Reporter {
        controller: "bitbucket-token-operator".into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let context = Context::new(
        client.clone(),
        validator,
        Recorder::new(client.clone(), reporter),
        ReconcileSettings {
            default_validation_interval: args.default_validation_interval.as_duration(),
            default_expiry_warning: args.default_expiry_warning.as_duration(),
            cloud_git_url: args.cloud_git_url.clone(),
        },
    );
    let scopes: Vec<Option<String>> = if args.namespaces.is_empty() {
        vec![None]
    } else {
        args.namespaces.iter().cloned().map(Some).collect()
    };
    tracing::info!(
        namespaces = ?args.namespaces,
        allowed_dc_hosts = ?args.allowed_dc_hosts,
        "bitbucket-token-operator starting"
    );
    join_all(
        scopes
            .into_iter()
            .map(|namespace| controller(client.clone(), namespace, context.clone())),
    )
    .await;
    tracing::info!("bitbucket-token-operator stopped");
    Ok(())
}

async fn kube_client(args: &RunArgs) -> Result<Client, StartError> {
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig =
                Kubeconfig::read_from(path).map_err(|source| StartError::Kubeconfig {
                    path: path.display().to_string(),
                    source,
                })?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(StartError::KubeconfigLoad)?
        }
        None => Config::infer().await?,
    };
    Client::try_from(config).map_err(StartError::Client)
}

/// One controller over the BitbucketTokens of `namespace` (or all namespaces).
async fn controller(client: Client, namespace: Option<String>, context: Arc<Context>) {
    let (tokens, secrets): (Api<BitbucketToken>, Api<PartialObjectMeta<Secret>>) = match &namespace
    {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    let index = context.index.clone();
    // Secrets are watched by metadata only: their data never enters the operator's memory
    // except for the token Secrets it reads on purpose. A change to a rendered Secret wakes
    // its owner (to repair drift); a change to a token Secret wakes the objects reading it.
    let secret_changes = watcher(secrets, watcher::Config::default()).touched_objects();
    Controller::new(tokens, watcher::Config::default())
        .watches_stream(secret_changes, move |secret| {
            let namespace = secret.namespace().unwrap_or_default();
            let mut wake = index.readers(&namespace, &secret.name_any());
            wake.extend(
                secret
                    .owner_references()
                    .iter()
                    .filter(|owner| owner.kind == "BitbucketToken" && owner.controller == Some(true))
                    .map(|owner| ObjectRef::new(&owner.name).within(&namespace)),
            );
            wake
        })
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(namespace = ?object.namespace, name = %object.name, "reconciled"),
                Err(error) => tracing::warn!(error = %error, "reconcile failed"),
            }
        })
        .await;
}

fn error_policy(bbt: Arc<BitbucketToken>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(
        namespace = ?bbt.namespace(),
        name = %bbt.name_any(),
        error = %error,
        kind = error.metric_label(),
        "reconcile failed; retrying"
    );
    Action::requeue(Duration::from_secs(15))
}
