//! One reconcile of a BitbucketToken: read the token, validate it (sharing results), render the
//! Secret when the token is good, report status and Events, and decide when to look again.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType},
        reflector::ObjectRef,
    },
};

use super::{
    context::{Context, FIELD_MANAGER, ReconcileSettings},
    error::Error,
    events::{EventReason, SecretChange, event, transition_events},
    load, rollout,
    schedule::{next_expiry_flip, next_validation, retry_delay, until},
    status::{Observation, SecretState, Stretched, failure_history, next_status},
    target::{self, TargetOutcome},
    validate::{Checked, check_token, formats},
    verdict::TokenVerdict,
};
use crate::{
    api::{
        BitbucketToken, BitbucketTokenStatus, DEFAULT_MOUNT_PATH, DeletionPolicy, RestartRecord,
    },
    render::{GitServer, RenderInput, render},
    token::SecretToken,
};

/// Changing this annotation's value (e.g. to the current time) forces a fresh check with Bitbucket
/// instead of reusing a result younger than the validation interval.
pub const REVALIDATE_ANNOTATION: &str = "bitbucket-token-operator.io/revalidate";

/// Reconciles one BitbucketToken: check the token, render the Secret when it is valid, report
/// status and Events, and say when to look again. Runs inside the `reconcile` span, which
/// carries the namespace and name.
pub async fn reconcile(bbt: Arc<BitbucketToken>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = bbt.namespace().ok_or(Error::NoNamespace)?;
    bbt.uid().ok_or(Error::NoUid)?;
    let now = Utc::now();
    let previous = bbt.status.clone().unwrap_or_default();
    let timing = Timing::of(&bbt, &ctx);
    record_references(&ctx, &bbt, &namespace);
    let checked = check_token(&bbt, &ctx, &namespace, &previous, timing.interval).await?;
    let fingerprint = checked.token.as_ref().map(SecretToken::fingerprint);
    let written = render_if_valid(&bbt, &ctx, &namespace, &checked).await?;
    let next_validation_at = next_check(&bbt, &previous, &checked, now, timing.interval);
    let observation = Observation {
        generation: bbt.meta().generation,
        now,
        previous: &previous,
        fingerprint: fingerprint.clone(),
        verdict: &checked.verdict,
        validated_at: checked.validated_at,
        next_validation_at,
        declared_expiry: bbt.spec.token.expires_at,
        expiry_warning: timing.expiry_warning,
        access_summary: access_summary(&bbt),
        secret: written.state,
        revalidate: bbt.annotations().get(REVALIDATE_ANNOTATION).cloned(),
        stretched: timing.stretched,
    };
    let mut next = next_status(&observation);
    let restart = match (written.replaced, &fingerprint) {
        (Some(_), Some(fingerprint)) => restart_on_rotation(&bbt, &ctx, fingerprint, now).await,
        _ => Restart::default(),
    };
    if let Some(record) = restart.record {
        next.last_restart = Some(record);
    }
    if next != previous {
        ctx.fence.check().await?;
        write_status(&ctx, &namespace, &bbt.name_any(), &next).await?;
    }
    let events = transition_events(&previous, &next, written.change);
    ctx.fence.check().await?;
    publish(&ctx, &bbt, events.into_iter().chain(restart.event)).await;
    Ok(requeue(&next, next_validation_at, &timing, now))
}

/// The intervals that apply to one BitbucketToken: its own or the operator's defaults, the
/// validation interval stretched while the operator cannot keep up (see [`super::load`]).
struct Timing {
    interval: Duration,
    expiry_warning: Duration,
    stretched: Option<Stretched>,
}

impl Timing {
    fn of(bbt: &BitbucketToken, ctx: &Context) -> Self {
        let requested = requested_interval(bbt, &ctx.settings);
        let stretch = ctx.load.current();
        let interval = stretch.map_or(requested, |s| load::stretched(requested, s.factor));
        let warning = bbt.spec.expiry_warning.as_ref();
        Timing {
            interval,
            expiry_warning: warning
                .map_or(ctx.settings.default_expiry_warning, |d| d.as_duration()),
            stretched: stretch.map(|s| Stretched {
                requested,
                effective: interval,
                demand: s.demand,
                capacity: s.capacity,
            }),
        }
    }
}

/// `spec.validation.interval`, or the operator's default.
pub fn requested_interval(bbt: &BitbucketToken, settings: &ReconcileSettings) -> Duration {
    bbt.spec
        .validation
        .as_ref()
        .and_then(|v| v.interval.as_ref())
        .map_or(settings.default_validation_interval, |d| d.as_duration())
}

/// Renders the Secret when the token is valid; otherwise leaves it as it is.
async fn render_if_valid(
    bbt: &BitbucketToken,
    ctx: &Context,
    namespace: &str,
    checked: &Checked,
) -> Result<Written, Error> {
    let (TokenVerdict::Valid(_), Some(token)) = (&checked.verdict, &checked.token) else {
        return Ok(Written::nothing(SecretState::NotRendered));
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    render_target(bbt, ctx, &secrets, token, checked).await
}

/// When to ask Bitbucket again: after a back-off that grows with the failures recorded in status
/// when it could not answer, else one jittered interval after its answer.
fn next_check(
    bbt: &BitbucketToken,
    previous: &BitbucketTokenStatus,
    checked: &Checked,
    now: chrono::DateTime<Utc>,
    interval: Duration,
) -> Option<chrono::DateTime<Utc>> {
    match &checked.verdict {
        TokenVerdict::Unknown { retry_after, .. } => {
            let (_, attempts) = failure_history(previous, &checked.verdict, now);
            let delay = retry_delay(attempts.unwrap_or(1), *retry_after, interval);
            Some(now + to_delta(delay))
        }
        _ => {
            let seed = seed(&bbt.uid().unwrap_or_default());
            checked
                .validated_at
                .map(|at| next_validation(at, interval, seed))
        }
    }
}

/// What restarting the selected workloads after a rotation produced.
#[derive(Default)]
struct Restart {
    record: Option<RestartRecord>,
    event: Option<Event>,
}

/// Restarts the workloads `spec.target.restartOnRotation` selects, after the Secret rotated to
/// `fingerprint`. A failure is an Event, not an error: the Secret already holds the new token and
/// the next pass would see no rotation to restart for.
async fn restart_on_rotation(
    bbt: &BitbucketToken,
    ctx: &Context,
    fingerprint: &str,
    now: chrono::DateTime<Utc>,
) -> Restart {
    let Some(restart) = bbt
        .spec
        .target
        .as_ref()
        .and_then(|t| t.restart_on_rotation.as_ref())
    else {
        return Restart::default();
    };
    let namespace = bbt.namespace().unwrap_or_default();
    if let Some(note) = ctx.settings.restart_scope.refusal(&namespace) {
        return Restart {
            record: None,
            event: Some(event(
                EventType::Warning,
                EventReason::WorkloadRestartNotPermitted,
                "Restart",
                note,
            )),
        };
    }
    if ctx.fence.check().await.is_err() {
        return Restart::default();
    }
    match rollout::restart_selected(&ctx.client, &namespace, &restart.selector, fingerprint, now)
        .await
    {
        Err(error) => {
            tracing::warn!(%error, "could not restart the selected workloads");
            Restart {
                record: None,
                event: Some(event(
                    EventType::Warning,
                    EventReason::WorkloadRestartFailed,
                    "Restart",
                    format!(
                        "The token rotated but the selected workloads could not be restarted ({error}); \
                         restart them yourself, e.g. kubectl rollout restart. If this is a permission \
                         error, the chart's rbac.restartWorkloads values do not grant what the \
                         operator's --restart-workloads flags allow."
                    ),
                )),
            }
        }
        Ok(workloads) if workloads.is_empty() => Restart::default(),
        Ok(workloads) => Restart {
            event: Some(event(
                EventType::Normal,
                EventReason::WorkloadsRestarted,
                "Restart",
                format!(
                    "The token rotated; restarted {} so their pods read the new credentials.",
                    workloads.join(", ")
                ),
            )),
            record: Some(RestartRecord {
                at: now,
                token_fingerprint: fingerprint.to_string(),
                workloads,
            }),
        },
    }
}

/// Publishes `events` for `bbt`; a failure to publish is logged, never fails the reconcile.
async fn publish(ctx: &Context, bbt: &BitbucketToken, events: impl Iterator<Item = Event>) {
    let reference = bbt.object_ref(&());
    for event in events {
        if let Err(error) = ctx.recorder.publish(&event, &reference).await {
            tracing::warn!(reason = %event.reason, %error, "could not publish an Event");
        }
    }
}

/// The next wake-up: the next check or the moment `Expiring` flips, whichever comes first; with
/// nothing scheduled (a definitive problem found without Bitbucket), a slow safety net.
fn requeue(
    next: &BitbucketTokenStatus,
    next_validation_at: Option<chrono::DateTime<Utc>>,
    timing: &Timing,
    now: chrono::DateTime<Utc>,
) -> Action {
    let flip = next
        .expires_at
        .and_then(|expires_at| next_expiry_flip(expires_at, timing.expiry_warning, now));
    let wake = match (next_validation_at, flip) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match wake {
        Some(at) => Action::requeue(until(at, now)),
        None => Action::requeue(timing.interval),
    }
}

/// Notes which Secrets this object reads, so the Secret watch can find it.
fn record_references(ctx: &Context, bbt: &BitbucketToken, namespace: &str) {
    let mut names = vec![bbt.spec.token.secret_ref.name.as_str()];
    if let Some(ca) = bbt
        .spec
        .server
        .as_ref()
        .and_then(|s| s.data_center.as_ref())
        .and_then(|dc| dc.ca_bundle_secret_ref.as_ref())
    {
        names.push(ca.name.as_str());
    }
    ctx.index
        .record(ObjectRef::from_obj(bbt), namespace, &names);
}

/// Renders the formats of `bbt` for `token` and writes the target Secret.
async fn render_target(
    bbt: &BitbucketToken,
    ctx: &Context,
    secrets: &Api<Secret>,
    token: &SecretToken,
    checked: &Checked,
) -> Result<Written, Error> {
    let spec = &bbt.spec;
    let target = spec.target.clone().unwrap_or_default();
    let target_name = target_name(bbt);
    let formats = formats(bbt);
    let server = match &checked.dc_url {
        Some(base) => GitServer::DataCenter { base: base.clone() },
        None => GitServer::Cloud {
            git_base: ctx.settings.cloud_git_url.clone(),
        },
    };
    let input = RenderInput {
        token,
        kind: spec.token.kind,
        server: &server,
        access: &spec.access,
        username: spec.token.username.as_deref(),
        formats: &formats,
        mount_path: target.mount_path.as_deref().unwrap_or(DEFAULT_MOUNT_PATH),
        ca_bundle: checked.ca_pem.as_deref(),
    };
    let rendered = match render(&input) {
        Ok(rendered) => rendered,
        Err(problem) => {
            return Ok(Written::nothing(SecretState::RenderFailed {
                message: format!("The Secret cannot be rendered: {problem}"),
            }));
        }
    };
    let fingerprint = token.fingerprint();
    ctx.fence.check().await?;
    let outcome = match target::write(
        secrets,
        bbt,
        &target_name,
        rendered,
        &fingerprint,
        &ctx.own_writes,
    )
    .await
    {
        // 422: the API server refuses the Secret the spec describes (e.g. a target.labels key
        // Kubernetes does not allow). Retrying cannot help; the spec must change.
        Err(Error::WriteTarget(kube::Error::Api(status))) if status.code == 422 => {
            return Ok(Written::nothing(SecretState::RenderFailed {
                message: format!(
                    "The API server refuses the rendered Secret: {}; fix spec.target.",
                    status.message
                ),
            }));
        }
        result => result?,
    };
    if let TargetOutcome::Written { .. } = outcome {
        let retained = target.deletion_policy == DeletionPolicy::Retain;
        let namespace = bbt.namespace().unwrap_or_default();
        ctx.retained
            .record(&namespace, &target_name, &bbt.name_any(), retained);
    }
    Ok(match outcome {
        TargetOutcome::Written { change, replaced } => Written {
            state: SecretState::Current { name: target_name },
            change,
            replaced,
        },
        TargetOutcome::Conflict => Written::nothing(SecretState::Conflict { name: target_name }),
    })
}

/// `spec.target.name`, or `<metadata.name>-git`.
fn target_name(bbt: &BitbucketToken) -> String {
    bbt.spec
        .target
        .as_ref()
        .and_then(|t| t.name.clone())
        .unwrap_or_else(|| format!("{}-git", bbt.name_any()))
}

/// What happened to the target Secret in this reconcile.
struct Written {
    state: SecretState,
    change: SecretChange,
    /// The fingerprint the Secret held before, when this reconcile replaced it (a rotation).
    replaced: Option<String>,
}

impl Written {
    fn nothing(state: SecretState) -> Self {
        Self {
            state,
            change: SecretChange::Unchanged,
            replaced: None,
        }
    }
}

async fn write_status(
    ctx: &Context,
    namespace: &str,
    name: &str,
    status: &BitbucketTokenStatus,
) -> Result<(), Error> {
    let api: Api<BitbucketToken> = Api::namespaced(ctx.client.clone(), namespace);
    let patch = serde_json::json!({
        "apiVersion": "bitbucket-token-operator.io/v1beta1",
        "kind": "BitbucketToken",
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(Error::WriteStatus)?;
    Ok(())
}

/// "write access to acme/payments", for messages.
pub fn access_summary(bbt: &BitbucketToken) -> String {
    let access = &bbt.spec.access;
    let owner = access
        .workspace
        .as_ref()
        .or(access.project.as_ref())
        .cloned()
        .unwrap_or_default();
    let what = if access.repositories.is_empty() {
        match (&access.workspace, &access.project) {
            (Some(ws), Some(project)) => format!("project {project} in {ws}"),
            _ => owner,
        }
    } else {
        access
            .repositories
            .iter()
            .map(|r| format!("{owner}/{r}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{} access to {what}", access.permission.as_str())
}

fn seed(uid: &str) -> u64 {
    uid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn to_delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}
