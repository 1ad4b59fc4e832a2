//! Restarting workloads after a rotation: Deployments, StatefulSets and DaemonSets chosen by
//! `spec.target.restartOnRotation.selector` get pod-template annotations, which makes their
//! controllers roll the pods so they read the new credentials.

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::{
    api::apps::v1::{DaemonSet, Deployment, StatefulSet},
    apimachinery::pkg::apis::meta::v1::LabelSelector,
};
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams},
    core::Selector,
};
use serde_json::json;

use super::{context::FIELD_MANAGER, error::Error};

/// Pod-template annotation: when the operator last restarted the workload.
pub const RESTARTED_AT_ANNOTATION: &str = "bitbucket-token-operator.io/restarted-at";
/// Pod-template annotation: the token fingerprint the pods were restarted for. A workload already
/// carrying the current fingerprint is never restarted again for the same rotation.
pub const ROTATED_TO_ANNOTATION: &str = "bitbucket-token-operator.io/token-fingerprint";

/// Restarts the selected workloads of `namespace` that have not been restarted for `fingerprint`
/// yet, and returns them as `Kind/name`.
pub async fn restart_selected(
    client: &Client,
    namespace: &str,
    selector: &LabelSelector,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, Error> {
    let selector =
        Selector::try_from(selector.clone()).map_err(|e| Error::InvalidSelector(e.to_string()))?;
    let params = ListParams::default().labels_from(&selector);
    let kinds = [
        ApiResource::erase::<Deployment>(&()),
        ApiResource::erase::<StatefulSet>(&()),
        ApiResource::erase::<DaemonSet>(&()),
    ];
    let mut restarted = Vec::new();
    for resource in kinds {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        let workloads = api.list(&params).await.map_err(Error::RestartWorkloads)?;
        for workload in workloads {
            let current = workload.data["spec"]["template"]["metadata"]["annotations"]
                [ROTATED_TO_ANNOTATION]
                .as_str();
            if current == Some(fingerprint) {
                continue;
            }
            let patch = json!({"spec": {"template": {"metadata": {"annotations": {
                RESTARTED_AT_ANNOTATION: now.to_rfc3339_opts(SecondsFormat::Secs, true),
                ROTATED_TO_ANNOTATION: fingerprint,
            }}}}});
            let name = workload.name_any();
            api.patch(
                &name,
                &PatchParams {
                    field_manager: Some(FIELD_MANAGER.into()),
                    ..PatchParams::default()
                },
                &Patch::Merge(&patch),
            )
            .await
            .map_err(Error::RestartWorkloads)?;
            restarted.push(format!("{}/{name}", resource.kind));
        }
    }
    Ok(restarted)
}
