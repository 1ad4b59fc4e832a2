//! `bitbucket-token-operator run`: the controllers, their watches, and shutdown on SIGTERM.

use std::{sync::Arc, time::Duration};

use futures::{StreamExt, future::join_all};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, Resource, ResourceExt,
    core::PartialObjectMeta,
    runtime::{
        Controller, WatchStreamExt,
        controller::Action,
        events::{Recorder, Reporter},
        predicates,
        reflector::{self, ObjectRef, Store},
        utils::Predicate,
        watcher,
    },
};
use tracing::Instrument;

use super::{
    backoff::ApiBackoff,
    context::{Context, ReconcileSettings},
    error::Error,
    fence::LeaseTerms,
    gate::{Class, Gate},
    reconcile::reconcile,
    reconcile::requested_interval,
    settings::RunArgs,
    shutdown::Shutdown,
};
use crate::{
    api::BitbucketToken,
    bitbucket::{ClientConfig, Validator},
    http::{self, Health, Role},
    leader::{Election, LeaderError},
    metrics::Metrics,
};

/// Why `run` could not start, or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Logging(#[from] crate::telemetry::LogLevelError),
    #[error(transparent)]
    Cluster(#[from] crate::kubectl::kubeconfig::ConnectError),
    #[error("cannot read the extra CA bundle {path}: {source}")]
    ExtraCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up the Bitbucket client: {0}")]
    Bitbucket(#[from] crate::bitbucket::ClientError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Leader(#[from] LeaderError),
}

/// Runs until SIGTERM or Ctrl-C, then finishes in-flight reconciles and returns. With
/// `--leader-elect`, the controllers run only while this process holds the Lease; losing it is an
/// error (the process exits and restarts as a standby).
pub async fn run(args: RunArgs) -> Result<(), StartError> {
    crate::telemetry::init(&args.log_level, args.log_format)?;
    let client = args.cluster.client().await?;
    let metrics = Arc::new(Metrics::default());
    let context = context(&args, &client, &metrics)?;
    let health = Health::default();
    let (_, server) = http::serve(args.metrics_addr, metrics.clone(), health.clone()).await?;
    let shutdown = Shutdown::on_signals();
    let result = lead_and_run(&args, client, context, &metrics, &health, &shutdown).await;
    server.abort();
    result
}

fn context(args: &RunArgs, client: &Client, metrics: &Metrics) -> Result<Arc<Context>, StartError> {
    let extra_ca_pem = match &args.extra_ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| StartError::ExtraCa {
            path: path.display().to_string(),
            source,
        })?),
        None => None,
    };
    let validator = Validator::with_observer(
        ClientConfig {
            cloud_api_url: args.cloud_api_url.to_string(),
            requests_per_second: f64::from(args.bitbucket_rps.max(1)),
            extra_ca_pem,
            allowed_dc_hosts: Some(args.allowed_dc_hosts.clone()),
            ..ClientConfig::default()
        },
        metrics.bitbucket_observer(),
    )?;
    let reporter = Reporter {
        controller: "bitbucket-token-operator".into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    Ok(Context::new(
        client.clone(),
        validator,
        Recorder::new(client.clone(), reporter),
        ReconcileSettings {
            default_validation_interval: args.default_validation_interval.as_duration(),
            default_expiry_warning: args.default_expiry_warning.as_duration(),
            cloud_git_url: args.cloud_git_url.clone(),
            restart_scope: super::rollout::RestartScope::new(
                args.restart_workloads,
                &args.restart_workloads_namespaces,
            ),
            permits: permits(args),
        },
    ))
}

/// Waits for the Lease when electing, then runs the controllers until shutdown or loss of the Lease.
async fn lead_and_run(
    args: &RunArgs,
    client: Client,
    context: Arc<Context>,
    metrics: &Arc<Metrics>,
    health: &Health,
    shutdown: &Shutdown,
) -> Result<(), StartError> {
    let election = if args.leader.leader_elect {
        let mut election = Election::join(client.clone(), &args.leader).await?;
        tracing::info!(
            identity = %election.identity,
            lease = %format!("{}/{}", election.namespace, election.lease_name),
            "joined the leader election; standing by"
        );
        health.set(Role::Standby, true);
        tokio::select! {
            acquired = election.acquired() => acquired?,
            () = shutdown.triggered() => {
                election.step_down().await;
                return Ok(());
            }
        }
        tracing::info!(identity = %election.identity, "acquired the leader Lease");
        let duration = args.leader.leader_election_lease_duration.as_duration();
        context.fence.arm(LeaseTerms {
            api: Api::namespaced(client.clone(), &election.namespace),
            name: election.lease_name.clone(),
            identity: election.identity.clone(),
            duration,
            // Half the renewal grace (a third of the duration) for clock skew between nodes.
            margin: duration / 6,
            on_loss: shutdown.clone(),
        });
        // Losing the Lease stops the controllers like a signal does.
        let lost = election.lost();
        let on_loss = shutdown.clone();
        let watcher = tokio::spawn(async move {
            lost.await;
            on_loss.trigger();
        });
        Some((election, watcher))
    } else {
        None
    };
    metrics.leader.set(1);
    let ready_before = health.is_ready();
    health.set(Role::Leader, ready_before);
    run_controllers(args, client, context.clone(), metrics, health, shutdown).await;
    metrics.leader.set(0);
    let Some((election, watcher)) = election else {
        return Ok(());
    };
    // The watcher holds a receiver of the election's state; the Lease is released only once every
    // receiver is gone, so stop it (and wait until its future is dropped) before stepping down.
    watcher.abort();
    let _ = watcher.await;
    if election.is_leader() && !context.fence.is_lost() {
        election.step_down().await;
        Ok(())
    } else {
        tracing::error!("lost the leader Lease; stopped the controllers");
        Err(LeaderError::Lost.into())
    }
}

/// Runs one controller per watched namespace (or one for all) until `shutdown` is thrown;
/// `/readyz` turns ready once every controller's cache of BitbucketTokens is synced.
async fn run_controllers(
    args: &RunArgs,
    client: Client,
    context: Arc<Context>,
    metrics: &Arc<Metrics>,
    health: &Health,
    shutdown: &Shutdown,
) {
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
    let controllers: Vec<_> = scopes
        .into_iter()
        .map(|namespace| controller(client.clone(), namespace, &context, shutdown))
        .collect();
    let stores: Vec<_> = controllers.iter().map(Controller::store).collect();
    let stores_for_load = stores.clone();
    for reason in Error::METRIC_LABELS {
        let _ = metrics
            .reconcile_errors
            .get_or_create(&crate::metrics::ErrorLabels {
                reason: reason.to_string(),
            });
    }
    for store in &stores {
        metrics.tokens.add_store(store.clone());
    }
    let health = health.clone();
    let readiness = tokio::spawn(async move {
        if join_all(stores.iter().map(synced))
            .await
            .into_iter()
            .all(|ready| ready)
        {
            tracing::info!("caches synced; ready");
            health.set(Role::Leader, true);
        }
    });
    let backoff = Arc::new(ApiBackoff::default());
    let gate = Gate::new(permits(args));
    let closer = tokio::spawn({
        let (gate, shutdown) = (gate.clone(), shutdown.clone());
        async move {
            shutdown.triggered().await;
            gate.close();
        }
    });
    let load = tokio::spawn(watch_load(
        stores_for_load,
        context.clone(),
        gate.clone(),
        metrics.clone(),
    ));
    join_all(controllers.into_iter().map(|controller| {
        let failed = metrics.clone();
        let counted_failures = backoff.clone();
        let slot = Slot {
            gate: gate.clone(),
            store: controller.store(),
            metrics: metrics.clone(),
            backoff: backoff.clone(),
        };
        controller
            .run(
                move |bbt, ctx| Box::pin(slot.clone().reconcile(bbt, ctx)),
                move |bbt, error, _| {
                    failed.reconcile_failed(error.metric_label());
                    error_policy(&bbt, error, &counted_failures)
                },
                context.clone(),
            )
            .for_each(|result| async move {
                match result {
                    Ok((object, _)) => tracing::debug!(namespace = ?object.namespace, name = %object.name, "reconciled"),
                    // error_policy has logged it, with the object.
                    Err(kube::runtime::controller::Error::ReconcilerFailed(..)) => {}
                    Err(error) => tracing::warn!(%error, "the controller could not run a reconcile"),
                }
            })
    }))
    .await;
    readiness.abort();
    closer.abort();
    load.abort();
    tracing::info!("bitbucket-token-operator stopped");
}

/// One controller over the BitbucketTokens of `namespace` (or all namespaces), stopping
/// gracefully when `shutdown` is thrown.
fn controller(
    client: Client,
    namespace: Option<String>,
    context: &Arc<Context>,
    shutdown: &Shutdown,
) -> Controller<BitbucketToken> {
    let (tokens, secrets): (Api<BitbucketToken>, Api<PartialObjectMeta<Secret>>) = match &namespace
    {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    let index = context.index.clone();
    let own_writes = context.own_writes.clone();
    let retained = context.retained.clone();
    // Secrets are watched by metadata only: their data never enters the operator's memory
    // except for the token Secrets it reads on purpose. A change to a rendered Secret wakes
    // its owner (to repair drift); a change to a token Secret wakes the objects reading it.
    let secret_changes = watcher(secrets, watcher::Config::default())
        .default_backoff()
        .touched_objects();
    // Only spec (generation) and annotation (revalidate) changes trigger a reconcile: the
    // operator's own status writes would otherwise wake every object a second time, doubling its
    // reads. Timers (revalidation, the Expiring flip) come from the reconciler's requeues.
    let (store, writer) = reflector::store();
    let tokens_store = store.clone();
    let token_changes = watcher(tokens, watcher::Config::default())
        .default_backoff()
        // managedFields and kubectl's last-applied copy are often more than half of an object,
        // and nothing here reads them.
        .modify(|token| {
            token.managed_fields_mut().clear();
            token
                .annotations_mut()
                .remove("kubectl.kubernetes.io/last-applied-configuration");
        })
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            predicates::generation.combine(predicates::annotations),
            Default::default(),
        );
    Controller::for_stream(token_changes, store)
        .watches_stream(secret_changes, move |secret| {
            let namespace = secret.namespace().unwrap_or_default();
            let mut wake = index.readers(&namespace, &secret.name_any());
            if own_writes.is_own(
                &namespace,
                &secret.name_any(),
                secret.resource_version().as_deref(),
            ) {
                // The echo of this process's own write: the owner already knows.
                return wake;
            }
            // Under `deletionPolicy: Retain` there is no owner reference: ask who renders it.
            wake.extend(
                retained
                    .owner(&namespace, &secret.name_any())
                    .filter(|owner| renders(&tokens_store, owner, &secret)),
            );
            wake.extend(
                secret
                    .owner_references()
                    .iter()
                    .filter(|owner| {
                        owner.kind == "BitbucketToken" && owner.controller == Some(true)
                    })
                    .map(|owner| ObjectRef::new(&owner.name).within(&namespace)),
            );
            wake
        })
        // Objects whose token Bitbucket just rejected for another object (see `rejections`).
        .reconcile_on(context.rejections.wake_ups(namespace.clone()))
        // No limit here: the gate (see `gate`) bounds what runs, fairly; kube's own limit parks
        // due objects in a hash set and starves some of them under sustained load.
        .with_config(kube::runtime::controller::Config::default().concurrency(0))
        .graceful_shutdown_on(shutdown.triggered())
}

/// Reconciles that may run at once: `--concurrency` per watched namespace.
fn permits(args: &RunArgs) -> usize {
    usize::from(args.concurrency) * args.namespaces.len().max(1)
}

/// What one reconcile needs around [`reconcile`]: a slot from the gate, the freshest copy of the
/// object, metrics, and the API back-off.
#[derive(Clone)]
struct Slot {
    gate: Arc<Gate>,
    store: Store<BitbucketToken>,
    metrics: Arc<Metrics>,
    backoff: Arc<ApiBackoff>,
}

impl Slot {
    /// Waits for a slot (first reconciles first), then reconciles the object as it is now; does
    /// nothing once the gate is closed or the object is gone.
    async fn reconcile(self, bbt: Arc<BitbucketToken>, ctx: Arc<Context>) -> Result<Action, Error> {
        let class = Class::of(bbt.meta().generation, bbt.status.as_ref());
        let Some(_permit) = self.gate.enter(class).await else {
            return Ok(Action::await_change());
        };
        let object = ObjectRef::from_obj(bbt.as_ref());
        let Some(bbt) = self.store.get(&object) else {
            return Ok(Action::await_change());
        };
        self.metrics.reconciles.inc();
        let started = std::time::Instant::now();
        let span = reconcile_span(&bbt);
        let result = Box::pin(reconcile(bbt, ctx.clone()).instrument(span)).await;
        let took = started.elapsed();
        self.metrics.reconcile_duration.observe(took.as_secs_f64());
        ctx.load.record(took);
        if result.is_ok() {
            self.backoff.succeeded(&object);
        }
        result
    }
}

/// How often demand and capacity are compared.
const LOAD_PERIOD: Duration = Duration::from_secs(5);

/// Every [`LOAD_PERIOD`]: sums what the BitbucketTokens ask for (checks per second), updates the
/// stretch of every interval (see [`super::load`]), its metric and the queue metric, and logs when
/// stretching starts and stops.
async fn watch_load(
    stores: Vec<Store<BitbucketToken>>,
    ctx: Arc<Context>,
    gate: Arc<Gate>,
    metrics: Arc<Metrics>,
) {
    let mut ticks = tokio::time::interval(LOAD_PERIOD);
    let mut was_stretched = false;
    loop {
        ticks.tick().await;
        let demand: f64 = stores
            .iter()
            .flat_map(Store::state)
            .map(|bbt| {
                1.0 / requested_interval(&bbt, &ctx.settings)
                    .as_secs_f64()
                    .max(1.0)
            })
            .sum();
        let stretch = ctx.load.update(demand);
        metrics
            .interval_stretch
            .set(stretch.map_or(1.0, |s| s.factor));
        metrics.reconcile_queue.set(gate.waiting() as i64);
        match stretch {
            Some(s) if !was_stretched => tracing::warn!(
                factor = format!("{:.2}", s.factor),
                demand_per_second = format!("{:.1}", s.demand),
                capacity_per_second = format!("{:.1}", s.capacity),
                "cannot keep up with the requested validation intervals; stretching them all"
            ),
            None if was_stretched => {
                tracing::info!("keeping up with the requested validation intervals again")
            }
            _ => {}
        }
        was_stretched = stretch.is_some();
    }
}

/// True when `owner` still exists and is the BitbucketToken `secret` was rendered for (its uid
/// annotation), so a retained Secret of a deleted BitbucketToken wakes nothing.
fn renders(
    store: &Store<BitbucketToken>,
    owner: &ObjectRef<BitbucketToken>,
    secret: &PartialObjectMeta<Secret>,
) -> bool {
    let uid = secret
        .annotations()
        .get(super::target::OWNER_UID_ANNOTATION);
    store
        .get(owner)
        .is_some_and(|token| token.uid().as_ref() == uid)
}

/// Waits until `store` has its first full list; false if its writer went away first.
///
/// kube's readiness signal wakes only the last of several waiters (the controller itself waits on
/// it too), so this asks again every 200 ms instead of relying on being woken.
async fn synced(store: &Store<BitbucketToken>) -> bool {
    loop {
        match tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready()).await {
            Ok(ready) => return ready.is_ok(),
            Err(_) => continue,
        }
    }
}

/// The span every reconcile of `bbt` runs in: its namespace and name on every line it logs.
fn reconcile_span(bbt: &BitbucketToken) -> tracing::Span {
    tracing::info_span!(
        "reconcile",
        namespace = bbt.namespace().unwrap_or_default(),
        name = %bbt.name_any()
    )
}

/// Logs a failed reconcile (the one place it is logged) and retries it after this object's own
/// back-off (see [`ApiBackoff`]).
fn error_policy(bbt: &BitbucketToken, error: &Error, backoff: &ApiBackoff) -> Action {
    let retry = backoff.failed(&ObjectRef::from_obj(bbt), &bbt.uid().unwrap_or_default());
    reconcile_span(bbt).in_scope(|| {
        tracing::warn!(
            %error,
            kind = error.metric_label(),
            attempt = retry.attempt,
            retry_in_ms = retry.delay.as_millis() as u64,
            "reconcile failed; retrying"
        );
    });
    Action::requeue(retry.delay)
}
