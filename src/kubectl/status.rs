//! `status NAME`: the BitbucketToken as the cluster sees it, for a person or a script.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::{Api, Client, api::ListParams};

use super::{
    consumers::consumers,
    error::ClusterError,
    human_time::{from_jiff, from_kube},
    kubeconfig::ClusterArgs,
    object,
    status_report::{EventView, KeyView, SecretView, StatusReport},
    status_text,
};
use crate::{api::BitbucketToken, controller::validate::formats};

/// How many of the most recent Events are shown.
pub const EVENT_LIMIT: usize = 10;

/// How `status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum StatusOutput {
    /// For a person.
    #[default]
    Text,
    /// The report as JSON, for scripts.
    Json,
    /// The report as YAML, for scripts.
    Yaml,
}

/// Show a BitbucketToken as the cluster sees it: conditions with reasons and messages, identity,
/// granted scopes, expiry, last and next validation, failures, the rendered Secret's keys (never
/// values) and who reads them, and its recent Events.
#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    /// Name of the BitbucketToken.
    pub name: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = StatusOutput::Text)]
    pub output: StatusOutput,
}

/// Runs `status` and returns the exit code (see [`super::exit::STATUS_HELP`]).
pub async fn run(args: StatusArgs) -> ExitCode {
    match gather(&args).await {
        Ok(report) => match render(&report, args.output) {
            Ok(text) => {
                print!("{text}");
                ExitCode::from(report.verdict.exit_code())
            }
            Err(error) => {
                eprintln!("error: cannot print the report: {error}");
                ExitCode::from(super::exit::CLUSTER)
            }
        },
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Why a report could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Yaml(#[from] serde_saphyr::ser_error::Error),
}

/// The report in the chosen format, ending with a newline.
pub fn render(report: &StatusReport, output: StatusOutput) -> Result<String, RenderError> {
    Ok(match output {
        StatusOutput::Text => status_text::render(report, chrono::Utc::now()),
        StatusOutput::Json => serde_json::to_string_pretty(report)? + "\n",
        StatusOutput::Yaml => serde_saphyr::to_string(report)?,
    })
}

/// Connects as the flags say and reads the report.
pub async fn gather(args: &StatusArgs) -> Result<StatusReport, ClusterError> {
    let connection = args.cluster.connect().await?;
    report(&connection.client, &connection.namespace, &args.name).await
}

/// Reads BitbucketToken `name`, its rendered Secret's keys and its Events.
pub async fn report(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<StatusReport, ClusterError> {
    let bbt = object::get(client, namespace, name).await?;
    let mut report = StatusReport::from_object(&bbt);
    report.secret = secret_view(client, namespace, &report.secret.name, &bbt).await;
    match events(client, namespace, &bbt).await {
        Ok(events) => report.events = events,
        Err(error) => report.events_error = Some(error.to_string()),
    }
    Ok(report)
}

/// The rendered Secret's type and keys. Values are dropped as soon as the keys are read.
async fn secret_view(
    client: &Client,
    namespace: &str,
    name: &str,
    bbt: &BitbucketToken,
) -> SecretView {
    let mut view = SecretView {
        name: name.to_string(),
        ..SecretView::default()
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match secrets.get_opt(name).await {
        Ok(Some(secret)) => {
            let formats = formats(bbt);
            view.exists = true;
            view.type_ = secret.type_.clone();
            view.keys = secret
                .data
                .iter()
                .flat_map(|data| data.keys())
                .map(|key| KeyView {
                    key: key.clone(),
                    consumers: consumers(key, &formats)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                })
                .collect();
        }
        Ok(None) => {}
        Err(error) => {
            view.error = Some(
                ClusterError::api("get", format!("Secret {name:?}"), namespace, error).to_string(),
            );
        }
    }
    view
}

/// The most recent Events about this very object (its uid), newest first.
async fn events(
    client: &Client,
    namespace: &str,
    bbt: &BitbucketToken,
) -> Result<Vec<EventView>, ClusterError> {
    let name = bbt.metadata.name.as_deref().unwrap_or_default();
    let mut selector = format!("involvedObject.kind=BitbucketToken,involvedObject.name={name}");
    if let Some(uid) = &bbt.metadata.uid {
        selector.push_str(&format!(",involvedObject.uid={uid}"));
    }
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().fields(&selector))
        .await
        .map_err(|source| ClusterError::api("list", "Events".into(), namespace, source))?;
    let mut events: Vec<EventView> = list.items.iter().map(event_view).collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
    events.truncate(EVENT_LIMIT);
    Ok(events)
}

/// An Event as reported: `events.k8s.io/v1` Events (what the operator writes) read through the
/// core/v1 view, so the newest time is the series', the event's or the deprecated timestamps.
fn event_view(event: &Event) -> EventView {
    let times = [
        event
            .series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_ref())
            .map(|t| from_jiff(t.0)),
        event.last_timestamp.as_ref().map(from_kube),
        event.event_time.as_ref().map(|t| from_jiff(t.0)),
        event.first_timestamp.as_ref().map(from_kube),
        event.metadata.creation_timestamp.as_ref().map(from_kube),
    ];
    let count = event
        .series
        .as_ref()
        .and_then(|s| s.count)
        .or(event.count)
        .unwrap_or(1);
    EventView {
        type_: event.type_.clone().unwrap_or_default(),
        reason: event.reason.clone().unwrap_or_default(),
        message: event.message.clone().unwrap_or_default(),
        count: u32::try_from(count).unwrap_or(1).max(1),
        last_seen: times.into_iter().flatten().max(),
    }
}
