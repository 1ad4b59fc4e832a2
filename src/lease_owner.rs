//! The leader Lease owned by the operator's Deployment, so that deleting the Deployment (`helm
//! uninstall`, `kubectl delete -f deploy/`) deletes the Lease too: the garbage collector removes
//! an object once its owner is gone
//! (<https://kubernetes.io/docs/concepts/architecture/garbage-collection/#owners-dependents>).
//!
//! The Deployment, not the leader's Pod, owns it: a Pod-owned Lease would be deleted on every
//! rollout while a new leader holds it. Owner references cannot cross namespaces, so the owner is
//! looked up in the Lease's namespace. Failing to set the owner never blocks the election: the
//! Lease then only outlives an uninstall, as before.

use k8s_openapi::{
    api::{apps::v1::Deployment, coordination::v1::Lease},
    apimachinery::pkg::apis::meta::v1::OwnerReference,
};
use kube::{
    Api, Client,
    api::{ObjectMeta, Patch, PatchParams, PostParams},
};
use serde_json::json;

/// Why the Lease could not be given its owner.
#[derive(Debug, thiserror::Error)]
pub enum LeaseOwnerError {
    #[error("cannot read the owner Deployment {namespace}/{name}: {source}")]
    Owner {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("the owner Deployment {0} has no uid")]
    NoUid(String),
    #[error("cannot write the owner of Lease {namespace}/{name}: {source}")]
    Lease {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// Makes Deployment `owner` the owner of Lease `namespace/lease`, creating the Lease (without a
/// holder) when it does not exist yet. Leaves a Lease that already names this owner unchanged.
pub async fn own_lease(
    client: &Client,
    namespace: &str,
    lease: &str,
    owner: &str,
) -> Result<(), LeaseOwnerError> {
    let deployment = Api::<Deployment>::namespaced(client.clone(), namespace)
        .get(owner)
        .await
        .map_err(|source| LeaseOwnerError::Owner {
            namespace: namespace.to_string(),
            name: owner.to_string(),
            source,
        })?;
    let uid = deployment
        .metadata
        .uid
        .ok_or_else(|| LeaseOwnerError::NoUid(owner.to_string()))?;
    let reference = OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: owner.to_string(),
        uid: uid.clone(),
        ..OwnerReference::default()
    };
    let lease_error = |source| LeaseOwnerError::Lease {
        namespace: namespace.to_string(),
        name: lease.to_string(),
        source,
    };
    let leases = Api::<Lease>::namespaced(client.clone(), namespace);
    let fresh = Lease {
        metadata: ObjectMeta {
            name: Some(lease.to_string()),
            owner_references: Some(vec![reference.clone()]),
            ..ObjectMeta::default()
        },
        spec: None,
    };
    match leases.create(&PostParams::default(), &fresh).await {
        Ok(_) => return Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(source) => return Err(lease_error(source)),
    }
    let current = leases.get(lease).await.map_err(lease_error)?;
    let owned = current
        .metadata
        .owner_references
        .unwrap_or_default()
        .iter()
        .any(|r| r.uid == uid);
    if owned {
        return Ok(());
    }
    // A merge patch replaces the list: an owner left from an earlier Deployment goes.
    let patch = json!({"metadata": {"ownerReferences": [reference]}});
    leases
        .patch(lease, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(lease_error)?;
    Ok(())
}
