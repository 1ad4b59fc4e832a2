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
use std::collections::BTreeSet;

use super::{context::FIELD_MANAGER, error::Error};

/// Pod-template annotation: when the operator last restarted the workload.
pub const RESTARTED_AT_ANNOTATION: &str = "bitbucket-token-operator.io/restarted-at";
/// Pod-template annotation: the token fingerprint the pods were restarted for. A workload already
/// carrying the current fingerprint is never restarted again for the same rotation.
pub const ROTATED_TO_ANNOTATION: &str = "bitbucket-token-operator.io/token-fingerprint";

/// Where the operator may restart workloads (`run --restart-workloads`,
/// `--restart-workloads-namespaces`), as the chart's `rbac.restartWorkloads*` values grant it.
/// Outside it the operator never sends a request to a workload API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RestartScope {
    /// Restarting is off (the default): no workload is ever listed or patched.
    #[default]
    Off,
    /// Every namespace the operator watches.
    Everywhere,
    /// These namespaces only.
    Namespaces(BTreeSet<String>),
}

impl RestartScope {
    /// The scope from the `run` flags: off unless `enabled`; then `namespaces`, or everywhere when
    /// none is listed.
    pub fn new(enabled: bool, namespaces: &[String]) -> Self {
        match (enabled, namespaces.is_empty()) {
            (false, _) => RestartScope::Off,
            (true, true) => RestartScope::Everywhere,
            (true, false) => RestartScope::Namespaces(namespaces.iter().cloned().collect()),
        }
    }

    /// Why restarting workloads in `namespace` is not allowed (a note for an Event), or `None`
    /// when it is.
    pub fn refusal(&self, namespace: &str) -> Option<String> {
        match self {
            RestartScope::Everywhere => None,
            RestartScope::Namespaces(allowed) if allowed.contains(namespace) => None,
            RestartScope::Off => Some(
                "The token rotated, but restarting workloads is turned off for this operator, so \
                 spec.target.restartOnRotation was not applied: restart them yourself (e.g. \
                 kubectl rollout restart), or ask the cluster administrator to install the chart \
                 with rbac.restartWorkloads=true."
                    .to_string(),
            ),
            RestartScope::Namespaces(allowed) => Some(format!(
                "The token rotated, but this operator may restart workloads only in {} (not in \
                 {namespace}), so spec.target.restartOnRotation was not applied: restart them \
                 yourself (e.g. kubectl rollout restart), or ask the cluster administrator to add \
                 {namespace} to the chart's rbac.restartWorkloadsNamespaces.",
                allowed.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::RestartScope;

    #[test]
    fn the_scope_follows_the_flags() {
        let off = RestartScope::new(false, &["a".into()]);
        assert_eq!(off, RestartScope::Off);
        assert!(
            off.refusal("a")
                .unwrap()
                .contains("rbac.restartWorkloads=true")
        );
        assert_eq!(RestartScope::new(true, &[]).refusal("any"), None);
        let listed = RestartScope::new(true, &["a".into(), "b".into()]);
        assert_eq!(listed.refusal("a"), None);
        let note = listed.refusal("c").unwrap();
        assert!(note.contains("only in a, b (not in c)"), "{note}");
    }
}
