//! Leader election on a `coordination.k8s.io/v1` Lease (through `kube-lease-manager`), so that
//! several replicas can run and only one of them reconciles and writes.
//!
//! Policy: a replica waits until it holds the Lease, then starts its controllers. If it loses the
//! Lease while leading (it could not renew it in time), it stops its controllers and `run` returns
//! an error, so the process exits non-zero and Kubernetes restarts it as a fresh standby: no cache
//! or in-memory state of a former leader survives. On SIGTERM the leader releases the Lease after
//! its controllers have stopped, so a standby can take over at its next look at the Lease.

use std::time::Duration;

use clap::Args;
use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::{sync::watch, task::JoinHandle};

use crate::api::GoDuration;

/// How long a step-down may take before the process exits anyway.
const STEP_DOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Leader-election options of `run`.
#[derive(Args, Debug, Clone)]
pub struct LeaderElectionArgs {
    /// Elect a leader among replicas through a Lease; only the leader reconciles.
    #[arg(long, env = "BTO_LEADER_ELECT", default_value_t = false)]
    pub leader_elect: bool,

    /// Namespace of the Lease (default: $POD_NAMESPACE, then the kubeconfig's or service account's namespace).
    #[arg(long, env = "POD_NAMESPACE")]
    pub leader_election_namespace: Option<String>,

    /// Name of the Lease.
    #[arg(
        long,
        env = "BTO_LEADER_ELECTION_LEASE_NAME",
        default_value = "bitbucket-token-operator"
    )]
    pub leader_election_lease_name: String,

    /// How long a leader's claim stays valid without renewal (whole seconds, at least 3s). The
    /// leader renews it when a third of it is left; a standby takes over once it has run out.
    #[arg(
        long,
        env = "BTO_LEADER_ELECTION_LEASE_DURATION",
        default_value = "15s"
    )]
    pub leader_election_lease_duration: GoDuration,

    /// A Deployment in the Lease's namespace (the operator's own) that owns the Lease, so that
    /// deleting it deletes the Lease too. Needs get on that Deployment; without it, or when the
    /// owner cannot be set, the election runs as usual and the Lease outlives the Deployment.
    #[arg(long, env = "BTO_LEADER_ELECTION_LEASE_OWNER")]
    pub leader_election_lease_owner: Option<String>,

    /// This replica's identity in the Lease (default: $POD_NAME, then <hostname>-<pid>).
    #[arg(long, env = "POD_NAME")]
    pub leader_election_identity: Option<String>,
}

/// Why leader election could not run.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error(
        "the leader-election lease duration must be at least 3s and at most 1h, got {0} seconds"
    )]
    Duration(u64),
    #[error("cannot join the leader election on Lease {namespace}/{name}: {source}")]
    Join {
        namespace: String,
        name: String,
        #[source]
        source: Box<LeaseManagerError>,
    },
    #[error("the leader election stopped unexpectedly")]
    Stopped,
    #[error("lost the leader Lease; exiting so that the process restarts as a standby")]
    Lost,
}

/// This process's place in the election.
pub struct Election {
    state: watch::Receiver<bool>,
    task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
    pub identity: String,
    pub namespace: String,
    pub lease_name: String,
}

impl Election {
    /// Joins the election (creating the Lease if it does not exist yet) and keeps competing for
    /// it in the background.
    pub async fn join(client: Client, args: &LeaderElectionArgs) -> Result<Self, LeaderError> {
        let duration = args.leader_election_lease_duration.as_duration().as_secs();
        if !(3..=3600).contains(&duration) {
            return Err(LeaderError::Duration(duration));
        }
        let grace = (duration / 3).max(1);
        let namespace = args
            .leader_election_namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let identity = args
            .leader_election_identity
            .clone()
            .unwrap_or_else(default_identity);
        let lease_name = args.leader_election_lease_name.clone();
        if let Some(owner) = &args.leader_election_lease_owner {
            match crate::lease_owner::own_lease(&client, &namespace, &lease_name, owner).await {
                Ok(()) => tracing::debug!(%owner, "the leader Lease is owned by the Deployment"),
                Err(error) => tracing::warn!(%error, "the leader Lease stays after uninstall"),
            }
        }
        let manager = LeaseManagerBuilder::new(client, &lease_name)
            .with_namespace(&namespace)
            .with_identity(&identity)
            .with_field_manager(format!("bitbucket-token-operator-lease-{identity}"))
            .with_duration(duration)
            .with_grace(grace)
            .build()
            .await
            .map_err(|source| LeaderError::Join {
                namespace: namespace.clone(),
                name: lease_name.clone(),
                source: Box::new(source),
            })?;
        let (state, task) = manager.watch().await;
        Ok(Self {
            state,
            task,
            identity,
            namespace,
            lease_name,
        })
    }

    /// Waits until this process holds the Lease.
    pub async fn acquired(&mut self) -> Result<(), LeaderError> {
        self.state
            .wait_for(|leading| *leading)
            .await
            .map(|_| ())
            .map_err(|_| LeaderError::Stopped)
    }

    /// A future that resolves when this process no longer holds the Lease (or the election stops).
    pub fn lost(&self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let mut state = self.state.clone();
        async move {
            let _ = state.wait_for(|leading| !*leading).await;
        }
    }

    /// Whether this process holds the Lease right now.
    pub fn is_leader(&self) -> bool {
        *self.state.borrow()
    }

    /// Leaves the election, releasing the Lease if this process holds it.
    pub async fn step_down(self) {
        let Self { state, task, .. } = self;
        // Closing the channel makes the manager release the Lease and finish.
        drop(state);
        match tokio::time::timeout(STEP_DOWN_TIMEOUT, task).await {
            Ok(Ok(Ok(_))) => tracing::info!("released the leader Lease"),
            Ok(Ok(Err(error))) => tracing::warn!(%error, "could not release the leader Lease"),
            Ok(Err(error)) => tracing::warn!(%error, "the leader-election task failed"),
            Err(_) => tracing::warn!("releasing the leader Lease timed out"),
        }
    }
}

/// `<hostname>-<pid>`: unique among processes on one machine and across machines.
fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "bitbucket-token-operator".to_string());
    format!("{host}-{}", std::process::id())
}
