//! One reconcile of a BitbucketToken: read the token, validate it (sharing results), render the
//! Secret when the token is good, report status and Events, and decide when to look again.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{controller::Action, events::EventType, reflector::ObjectRef},
};
use url::Url;

use super::{
    context::{Context, FIELD_MANAGER},
    error::Error,
    events::{EventReason, SecretChange, event, transition_events},
    rejections::TokenId,
    resume, rollout,
    schedule::{next_expiry_flip, next_validation, retry_delay, until},
    source,
    status::{Observation, SecretState, failure_history, next_status},
    target::{self, TargetOutcome},
    validation_cache::CacheKey,
    verdict::TokenVerdict,
};
use crate::{
    api::{
        BitbucketToken, BitbucketTokenStatus, ConditionType, DEFAULT_MOUNT_PATH, OutputFormat,
        Reason, RestartRecord,
    },
    bitbucket::{Server, ValidationRequest},
    render::{GitServer, RenderInput, extra_basic_user, render},
    token::SecretToken,
};

/// Changing this annotation's value (e.g. to the current time) forces a fresh check with Bitbucket
/// instead of reusing a result younger than the validation interval.
pub const REVALIDATE_ANNOTATION: &str = "bitbucket-token-operator.io/revalidate";

/// What was learned about the token in this reconcile.
struct Checked {
    token: Option<SecretToken>,
    /// The Data Center CA bundle the token was validated with; the rendered Secret carries it.
    ca_pem: Option<Vec<u8>>,
    verdict: TokenVerdict,
    /// When Bitbucket gave the verdict (`None` for the operator's own findings and transients).
    validated_at: Option<chrono::DateTime<Utc>>,
}

/// Reconciles one BitbucketToken.
pub async fn reconcile(bbt: Arc<BitbucketToken>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = bbt.namespace().ok_or(Error::NoNamespace)?;
    let uid = bbt.uid().ok_or(Error::NoUid)?;
    let name = bbt.name_any();
    let now = Utc::now();
    let previous = bbt.status.clone().unwrap_or_default();
    let spec = &bbt.spec;
    let interval = spec
        .validation
        .as_ref()
        .and_then(|v| v.interval.as_ref())
        .map_or(ctx.settings.default_validation_interval, |d| {
            d.as_duration()
        });
    let expiry_warning = spec
        .expiry_warning
        .as_ref()
        .map_or(ctx.settings.default_expiry_warning, |d| d.as_duration());
    let target_name = spec
        .target
        .as_ref()
        .and_then(|t| t.name.clone())
        .unwrap_or_else(|| format!("{name}-git"));

    record_references(&ctx, &bbt, &namespace);
    let checked = check_token(&bbt, &ctx, &namespace, &previous, interval).await?;
    let fingerprint = checked.token.as_ref().map(SecretToken::fingerprint);

    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let written = match (&checked.verdict, &checked.token, &fingerprint) {
        (TokenVerdict::Valid(_), Some(token), Some(fingerprint)) => {
            let ca = checked.ca_pem.as_deref();
            render_target(&bbt, &ctx, &secrets, &target_name, token, fingerprint, ca).await?
        }
        _ => Written::nothing(SecretState::NotRendered),
    };
    let Written {
        state: secret_state,
        change: secret_change,
        replaced,
    } = written;

    let uid_seed = seed(&uid);
    let next_validation_at = match &checked.verdict {
        TokenVerdict::Unknown { retry_after, .. } => {
            let (_, attempts) = failure_history(&previous, &checked.verdict, now);
            let attempt = attempts.unwrap_or(1);
            Some(now + to_delta(retry_delay(attempt, *retry_after, interval)))
        }
        _ => checked
            .validated_at
            .map(|at| next_validation(at, interval, uid_seed)),
    };
    let observation = Observation {
        generation: bbt.meta().generation,
        now,
        previous: &previous,
        fingerprint: fingerprint.clone(),
        verdict: &checked.verdict,
        validated_at: checked.validated_at,
        next_validation_at,
        declared_expiry: spec.token.expires_at,
        expiry_warning,
        access_summary: access_summary(&bbt),
        secret: secret_state,
    };
    let mut next = next_status(&observation);
    let mut restart_event = None;
    if let (Some(_), Some(fingerprint), Some(restart)) = (
        replaced,
        &fingerprint,
        spec.target
            .as_ref()
            .and_then(|t| t.restart_on_rotation.as_ref()),
    ) {
        match rollout::restart_selected(
            &ctx.client,
            &namespace,
            &restart.selector,
            fingerprint,
            now,
        )
        .await
        {
            Err(error) => {
                // The Secret already holds the new token; failing the reconcile would not bring the
                // restart back (the next pass sees no rotation), so say what went wrong instead.
                tracing::warn!(%namespace, %name, %error, "could not restart the selected workloads");
                restart_event = Some(event(
                    EventType::Warning,
                    EventReason::WorkloadRestartFailed,
                    "Restart",
                    format!(
                        "The token rotated but the selected workloads could not be restarted ({error}); \
                         restart them yourself, e.g. kubectl rollout restart. If this is a permission \
                         error, install the chart with rbac.restartWorkloads=true."
                    ),
                ));
            }
            Ok(workloads) if !workloads.is_empty() => {
                restart_event = Some(event(
                    EventType::Normal,
                    EventReason::WorkloadsRestarted,
                    "Restart",
                    format!(
                        "The token rotated; restarted {} so their pods read the new credentials.",
                        workloads.join(", ")
                    ),
                ));
                next.last_restart = Some(RestartRecord {
                    at: now,
                    token_fingerprint: fingerprint.clone(),
                    workloads,
                });
            }
            Ok(_) => {}
        }
    }
    if next != previous {
        write_status(&ctx, &namespace, &name, &next).await?;
    }
    let reference = bbt.object_ref(&());
    for event in transition_events(&previous, &next, secret_change)
        .into_iter()
        .chain(restart_event)
    {
        if let Err(error) = ctx.recorder.publish(&event, &reference).await {
            tracing::warn!(%namespace, %name, reason = %event.reason, %error, "could not publish an Event");
        }
    }
    let mut wake = next_validation_at;
    if let Some(expires_at) = next.expires_at
        && let Some(flip) = next_expiry_flip(expires_at, expiry_warning, now)
    {
        wake = Some(wake.map_or(flip, |w| w.min(flip)));
    }
    Ok(match wake {
        Some(at) => Action::requeue(until(at, now)),
        // Nothing scheduled (a definitive problem found without Bitbucket): wait for a change,
        // with a slow safety net.
        None => Action::requeue(interval),
    })
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

async fn check_token(
    bbt: &BitbucketToken,
    ctx: &Context,
    namespace: &str,
    previous: &BitbucketTokenStatus,
    interval: Duration,
) -> Result<Checked, Error> {
    let spec = &bbt.spec;
    let dc = spec.server.as_ref().and_then(|s| s.data_center.as_ref());
    let dc_url = match dc.map(|dc| Url::parse(&dc.url)) {
        Some(Ok(url)) => Some(url),
        Some(Err(error)) => {
            return Ok(definitive(TokenVerdict::invalid(
                Reason::InvalidSpec,
                format!("server.dataCenter.url is not a valid URL ({error}); fix the spec."),
            )));
        }
        None => None,
    };
    if let Some(url) = &dc_url
        && !ctx.validator.dc_host_allowed(url)
    {
        let outcome =
            crate::bitbucket::Outcome::Invalid(crate::bitbucket::Invalid::HostNotAllowed {
                host: crate::bitbucket::host_key(url),
            });
        return Ok(definitive(outcome.into()));
    }
    let token = match source::read_token(&ctx.client, namespace, &spec.token.secret_ref).await? {
        Ok(token) => token,
        Err(verdict) => return Ok(definitive(verdict)),
    };
    let ca_pem = match dc.and_then(|dc| dc.ca_bundle_secret_ref.as_ref()) {
        Some(reference) => match source::read_ca_bundle(&ctx.client, namespace, reference).await? {
            Ok(pem) => Some(pem),
            Err(verdict) => {
                return Ok(Checked {
                    token: Some(token),
                    ca_pem: None,
                    verdict,
                    validated_at: None,
                });
            }
        },
        None => None,
    };
    let server = match &dc_url {
        Some(url) => Server::DataCenter {
            url,
            ca_pem: ca_pem.as_deref(),
        },
        None => Server::Cloud,
    };
    let fingerprint = token.fingerprint();
    let accepted_before = previous.token_fingerprint.as_deref() == Some(fingerprint.as_str())
        && previous.is_true(ConditionType::TokenValid);
    let formats = formats(bbt);
    let basic_user = extra_basic_user(spec.token.kind, spec.token.username.as_deref(), &formats);
    let request = ValidationRequest {
        kind: spec.token.kind,
        server,
        token: &token,
        email: spec.token.email.as_deref(),
        username: spec.token.username.as_deref(),
        access: &spec.access,
        declared_expiry: spec.token.expires_at,
        accepted_before,
        basic_user,
    };
    let key = cache_key(bbt, &fingerprint, ca_pem.as_deref(), basic_user);
    let resumable = bbt
        .uid()
        .is_some_and(|uid| ctx.first_sight(&uid))
        .then(|| {
            resume::valid_facts_from_status(
                previous,
                bbt.meta().generation,
                &fingerprint,
                &access_summary(bbt),
                Utc::now(),
                interval,
            )
        })
        .flatten();
    if let Some((facts, at)) = resumable {
        ctx.cache
            .seed(key.clone(), TokenVerdict::Valid(facts), at)
            .await;
    }
    let cached = ctx
        .cache
        .get_or_validate(key, interval, || async {
            TokenVerdict::from(ctx.validator.validate(&request).await)
        })
        .await;
    let cached = ctx.rejections.apply(
        &token_id(bbt, &fingerprint),
        &ObjectRef::from_obj(bbt),
        cached,
    );
    let validated_at = cached.verdict.is_definitive().then_some(cached.at);
    Ok(Checked {
        token: Some(token),
        ca_pem,
        verdict: refine_for_history(cached.verdict, accepted_before)
            .expired_by(Utc::now(), known_expiry(previous, &fingerprint)),
        validated_at,
    })
}

/// The expiry the status recorded for this very token, if any.
fn known_expiry(
    previous: &BitbucketTokenStatus,
    fingerprint: &str,
) -> Option<chrono::DateTime<Utc>> {
    (previous.token_fingerprint.as_deref() == Some(fingerprint))
        .then_some(previous.expires_at)
        .flatten()
}

/// A shared result may have been computed for another object that never saw this token work.
fn refine_for_history(verdict: TokenVerdict, accepted_before: bool) -> TokenVerdict {
    match verdict {
        TokenVerdict::Invalid {
            reason: Reason::Unauthorized,
            message,
        } if accepted_before => TokenVerdict::invalid(
            Reason::Revoked,
            format!(
                "Bitbucket accepted this token before and now rejects it: it was revoked or expired. {message}"
            ),
        ),
        other => other,
    }
}

fn definitive(verdict: TokenVerdict) -> Checked {
    Checked {
        token: None,
        ca_pem: None,
        verdict,
        validated_at: None,
    }
}

/// The token on its server: Bitbucket's rejection of it holds for every access asked of it.
fn token_id(bbt: &BitbucketToken, fingerprint: &str) -> TokenId {
    let server = bbt
        .spec
        .server
        .as_ref()
        .and_then(|s| s.data_center.as_ref())
        .map_or("cloud", |dc| dc.url.as_str());
    TokenId(format!(
        "{server}/{}/{fingerprint}",
        bbt.spec.token.kind.as_str()
    ))
}

/// `spec.target.formats`, or the default formats.
fn formats(bbt: &BitbucketToken) -> Vec<OutputFormat> {
    bbt.spec
        .target
        .as_ref()
        .and_then(|t| t.formats.clone())
        .unwrap_or_else(|| {
            OutputFormat::defaults_for(bbt.spec.token.kind, bbt.spec.token.username.as_deref())
        })
}

/// Everything that makes two validations the same question to Bitbucket.
fn cache_key(
    bbt: &BitbucketToken,
    fingerprint: &str,
    ca_pem: Option<&[u8]>,
    basic_user: Option<&str>,
) -> CacheKey {
    let spec = &bbt.spec;
    let server = spec
        .server
        .as_ref()
        .and_then(|s| s.data_center.as_ref())
        .map_or("cloud".to_string(), |dc| dc.url.clone());
    let ca = ca_pem.map(crate::digest::sha256_hex);
    CacheKey(
        serde_json::json!([
            server,
            spec.token.kind.as_str(),
            fingerprint,
            spec.token.email,
            spec.token.username,
            spec.access,
            ca,
            spec.token.expires_at,
            bbt.annotations().get(REVALIDATE_ANNOTATION),
            basic_user,
        ])
        .to_string(),
    )
}

async fn render_target(
    bbt: &BitbucketToken,
    ctx: &Context,
    secrets: &Api<Secret>,
    target_name: &str,
    token: &SecretToken,
    fingerprint: &str,
    ca_bundle: Option<&[u8]>,
) -> Result<Written, Error> {
    let spec = &bbt.spec;
    let target = spec.target.clone().unwrap_or_default();
    let formats = formats(bbt);
    let server = match spec.server.as_ref().and_then(|s| s.data_center.as_ref()) {
        Some(dc) => match Url::parse(&dc.url) {
            Ok(base) => GitServer::DataCenter { base },
            Err(error) => {
                return Ok(Written::nothing(SecretState::RenderFailed {
                    message: format!("server.dataCenter.url is not a valid URL: {error}"),
                }));
            }
        },
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
        ca_bundle,
    };
    let rendered = match render(&input) {
        Ok(rendered) => rendered,
        Err(problem) => {
            return Ok(Written::nothing(SecretState::RenderFailed {
                message: format!("The Secret cannot be rendered: {problem}"),
            }));
        }
    };
    Ok(
        match target::write(
            secrets,
            bbt,
            target_name,
            rendered,
            fingerprint,
            &ctx.own_writes,
        )
        .await?
        {
            TargetOutcome::Written { change, replaced } => Written {
                state: SecretState::Current {
                    name: target_name.to_string(),
                },
                change,
                replaced,
            },
            TargetOutcome::Conflict => Written::nothing(SecretState::Conflict {
                name: target_name.to_string(),
            }),
        },
    )
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
fn access_summary(bbt: &BitbucketToken) -> String {
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
