//! What every reconcile shares: the Kubernetes client, the Bitbucket validator, caches and settings.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use kube::{Client, runtime::events::Recorder};
use url::Url;

use super::{
    fence::Fence, index::SecretIndex, load::Load, rejections::Rejections,
    retained::RetainedSecrets, validation_cache::ValidationCache,
};
use crate::bitbucket::Validator;

/// The field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "bitbucket-token-operator";

/// Settings the reconciler needs from the command line.
#[derive(Clone, Debug)]
pub struct ReconcileSettings {
    pub default_validation_interval: Duration,
    pub default_expiry_warning: Duration,
    /// Where Cloud repositories are cloned from (written into rendered Secrets).
    pub cloud_git_url: Url,
    /// Where `spec.target.restartOnRotation` may restart workloads.
    pub restart_scope: super::rollout::RestartScope,
    /// Reconciles that may run at once (all controllers together).
    pub permits: usize,
}

/// Shared state of the controller.
pub struct Context {
    pub client: Client,
    pub validator: Validator,
    pub cache: ValidationCache,
    /// Rejections of a token shared by every object using it.
    pub rejections: Rejections,
    pub index: SecretIndex,
    /// Rendered Secrets as this process last wrote them (see [`OwnWrites`]).
    pub own_writes: super::own_writes::OwnWrites,
    /// Rendered Secrets without an owner reference (`deletionPolicy: Retain`), by name.
    pub retained: RetainedSecrets,
    pub recorder: Recorder,
    pub settings: ReconcileSettings,
    /// Demand and capacity, and how far intervals are stretched (see [`Load`]).
    pub load: Load,
    /// Lets writes through only while this replica holds the leader Lease (see [`Fence`]).
    pub fence: Fence,
    /// BitbucketToken uids this process has reconciled at least once.
    seen: Mutex<std::collections::HashSet<String>>,
}

impl Context {
    pub fn new(
        client: Client,
        validator: Validator,
        recorder: Recorder,
        settings: ReconcileSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            client,
            validator,
            cache: ValidationCache::default(),
            rejections: Rejections::default(),
            index: SecretIndex::default(),
            own_writes: Default::default(),
            retained: RetainedSecrets::default(),
            recorder,
            load: Load::new(settings.permits),
            fence: Fence::default(),
            settings,
            seen: Mutex::default(),
        })
    }

    /// True the first time this process reconciles `uid`: the one moment a previous process's
    /// status may stand in for a check (later, an empty cache slot means a forced re-check).
    pub fn first_sight(&self, uid: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(uid.to_string())
    }
}
