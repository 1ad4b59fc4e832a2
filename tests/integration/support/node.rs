//! The real node in tests: its addresses and images (from the env file cluster-up.sh writes), the
//! operator image built from the release binary, the chart installed as users install it, and
//! pods, Jobs and their logs.

use std::{
    net::Ipv4Addr,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use k8s_openapi::api::{
    apps::v1::Deployment,
    batch::v1::Job,
    coordination::v1::Lease,
    core::v1::{ConfigMap, Pod, ServiceAccount},
};
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::{
    TestNamespace,
    cluster::{kubeconfig_path, kubectl},
    helm::{Helm, chart_dir, fullname},
    wait::{wait_for, wait_until},
};

/// Tag of the operator image the tests import (built from `target/release`).
pub const OPERATOR_TAG: &str = "test";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One `BTO_NODE_*` value from the env file next to the kubeconfig.
pub fn node_var(name: &str) -> String {
    let env = std::fs::read_to_string(kubeconfig_path().with_file_name("env"))
        .expect("read the cluster env file");
    let prefix = format!("export {name}=");
    env.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("{name} missing: the cluster runs without a node (BTO_NODE=0?)"))
}

/// The node's bridge address: pods reach this machine there (the simulator listens on it).
pub fn gateway() -> Ipv4Addr {
    node_var("BTO_NODE_GATEWAY")
        .parse()
        .expect("BTO_NODE_GATEWAY is an IPv4 address")
}

/// The image with `git` for clone pods.
pub fn git_image() -> String {
    node_var("BTO_NODE_GIT_IMAGE")
}

/// The release binary the operator image is made of: `BTO_RELEASE_BIN`, else
/// `target/release/bitbucket-token-operator` (built here when missing).
fn release_binary() -> PathBuf {
    if let Ok(path) = std::env::var("BTO_RELEASE_BIN") {
        return PathBuf::from(path);
    }
    let path = repo_root().join("target/release/bitbucket-token-operator");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--locked",
                "--bin",
                "bitbucket-token-operator",
            ])
            .current_dir(repo_root())
            .status()
            .expect("run cargo build --release");
        assert!(status.success(), "cargo build --release failed");
    }
    path
}

/// Builds the operator image from the release binary and imports it into the node (once per
/// test binary); returns its reference.
pub async fn operator_image() -> String {
    static IMAGE: OnceCell<String> = OnceCell::const_new();
    IMAGE
        .get_or_init(|| async {
            let output = Command::new("bash")
                .arg(repo_root().join("scripts/node-images.sh"))
                .args([
                    "operator",
                    release_binary().to_str().expect("utf-8 path"),
                    OPERATOR_TAG,
                ])
                .env("BTO_STATE_DIR", state_dir())
                .output()
                .expect("run scripts/node-images.sh");
            assert!(
                output.status.success(),
                "node-images.sh operator failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            format!(
                "{}:{OPERATOR_TAG}",
                node_var("BTO_NODE_OPERATOR_IMAGE_REPO")
            )
        })
        .await
        .clone()
}

/// The control plane's state folder (the kubeconfig lives in it).
pub fn state_dir() -> PathBuf {
    kubeconfig_path()
        .parent()
        .expect("the kubeconfig is in the state folder")
        .to_path_buf()
}

/// How to install the chart: Helm version, replicas, whether the chart brings the CRD.
#[derive(Clone, Copy, Debug)]
pub struct Install {
    pub helm: Helm,
    pub replicas: u32,
    pub crds: bool,
}

/// Installs the chart from the repository, unchanged, into `ns` as release `ns.name`, watching
/// `ns`, talking to the simulator at `sim_origin` (`https://<gateway>:<port>`) and trusting its CA
/// (a ConfigMap, through the chart's `extraCABundle`); waits until every replica is available.
pub async fn install_operator(ns: &TestNamespace, sim_origin: &str, sim_ca: &str, how: Install) {
    let image = operator_image().await;
    let (repository, tag) = image.rsplit_once(':').expect("image has a tag");
    let ca: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "bitbucket-ca"},
        "data": {"ca.crt": sim_ca},
    }))
    .expect("ConfigMap");
    let _ = ns
        .api::<ConfigMap>()
        .create(&PostParams::default(), &ca)
        .await;
    let values = json!({
        "replicaCount": how.replicas,
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "watchNamespaces": [ns.name],
        "crds": {"enabled": how.crds},
        "extraCABundle": {"kind": "ConfigMap", "name": "bitbucket-ca", "key": "ca.crt"},
        "extraArgs": [
            format!("--cloud-api-url={sim_origin}/2.0"),
            format!("--cloud-git-url={sim_origin}"),
        ],
        "logLevel": "bitbucket_token_operator=debug,info",
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, serde_saphyr::to_string(&values).expect("YAML")).expect("write values");
    let chart = chart_dir();
    how.helm.ok(&[
        "install",
        &ns.name,
        chart.to_str().expect("utf-8 path"),
        "-n",
        &ns.name,
        "-f",
        file.to_str().expect("utf-8 path"),
    ]);
    wait_available(ns, &fullname(&ns.name), how.replicas).await;
}

/// Waits until Deployment `name` has `replicas` available, up to date replicas.
pub async fn wait_available(ns: &TestNamespace, name: &str, replicas: u32) {
    let want = i32::try_from(replicas).expect("small");
    wait_for(
        &ns.api::<Deployment>(),
        name,
        Duration::from_secs(120),
        move |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref()).is_some_and(|s| {
                s.available_replicas == Some(want)
                    && s.updated_replicas == Some(want)
                    && s.replicas == Some(want)
            })
        },
    )
    .await;
}

/// The Lease's holder once one holds it.
pub async fn lease_holder(ns: &TestNamespace, lease: &str, timeout: Duration) -> String {
    let lease = wait_for(&ns.api::<Lease>(), lease, timeout, |l: Option<&Lease>| {
        l.and_then(|l| l.spec.as_ref()?.holder_identity.as_ref())
            .is_some_and(|h| !h.is_empty())
    })
    .await
    .expect("the Lease exists");
    lease
        .spec
        .and_then(|s| s.holder_identity)
        .expect("a holder")
}

/// Names of the running pods with label `selector` (e.g. `app.kubernetes.io/instance=x`).
pub async fn pod_names(ns: &TestNamespace, selector: &str) -> Vec<String> {
    ns.api::<Pod>()
        .list(&ListParams::default().labels(selector))
        .await
        .expect("list pods")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.name)
        .collect()
}

/// Waits until the namespace's `default` ServiceAccount exists (pods need it).
pub async fn wait_default_service_account(ns: &TestNamespace) {
    wait_for(
        &ns.api::<ServiceAccount>(),
        "default",
        Duration::from_secs(60),
        |sa: Option<&ServiceAccount>| sa.is_some(),
    )
    .await;
}

/// A pod template for `git` in the git image as user 1000 (group 1000, fsGroup 1000, so that
/// Secret volumes with mode 0440 are readable), running `script` with `bash -ec`. `mounts`: the
/// BitbucketToken's rendered Secret at its mount path, `env_from`: Secrets for `envFrom`. The
/// simulator's CA comes from the `bitbucket-ca` ConfigMap at `/etc/bitbucket-ca/ca.crt`.
pub fn git_pod_spec(script: &str, mounts: &[(&str, &str)], env_from: &[&str]) -> Value {
    let mut volumes =
        vec![json!({"name": "ca", "configMap": {"name": "bitbucket-ca", "optional": true}})];
    let mut volume_mounts =
        vec![json!({"name": "ca", "mountPath": "/etc/bitbucket-ca", "readOnly": true})];
    for (i, (secret, path)) in mounts.iter().enumerate() {
        volumes.push(json!({"name": format!("creds{i}"), "secret": {"secretName": secret, "defaultMode": 0o440}}));
        volume_mounts
            .push(json!({"name": format!("creds{i}"), "mountPath": path, "readOnly": true}));
    }
    let env_from: Vec<Value> = env_from
        .iter()
        .map(|s| json!({"secretRef": {"name": s}}))
        .collect();
    json!({
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "runAsNonRoot": true},
        "containers": [{
            "name": "git",
            "image": git_image(),
            "imagePullPolicy": "Never",
            "command": ["bash", "-ec", script],
            "env": [
                {"name": "HOME", "value": "/tmp"},
                {"name": "GIT_SSL_CAINFO", "value": "/etc/bitbucket-ca/ca.crt"},
                {"name": "GIT_TERMINAL_PROMPT", "value": "0"},
                {"name": "GIT_AUTHOR_NAME", "value": "node test"},
                {"name": "GIT_AUTHOR_EMAIL", "value": "node@example.invalid"},
                {"name": "GIT_COMMITTER_NAME", "value": "node test"},
                {"name": "GIT_COMMITTER_EMAIL", "value": "node@example.invalid"},
            ],
            "envFrom": env_from,
            "volumeMounts": volume_mounts,
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
        }],
        "volumes": volumes,
    })
}

/// Runs a Job with `pod_spec`, waits until it succeeds or fails, and returns (succeeded, logs).
pub async fn run_job(ns: &TestNamespace, name: &str, pod_spec: Value) -> (bool, String) {
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"spec": pod_spec}},
    }))
    .expect("Job");
    ns.api::<Job>()
        .create(&PostParams::default(), &job)
        .await
        .expect("create Job");
    let done = wait_for(
        &ns.api::<Job>(),
        name,
        Duration::from_secs(120),
        |j: Option<&Job>| {
            j.and_then(|j| j.status.as_ref())
                .is_some_and(|s| s.succeeded.unwrap_or(0) > 0 || s.failed.unwrap_or(0) > 0)
        },
    )
    .await
    .expect("the Job exists");
    let succeeded = done.status.and_then(|s| s.succeeded).unwrap_or(0) > 0;
    (succeeded, logs(ns, &format!("job/{name}")))
}

/// `kubectl logs` of a pod (or `job/<name>`), through the API server and the kubelet.
pub fn logs(ns: &TestNamespace, target: &str) -> String {
    let output = kubectl(&["logs", "-n", &ns.name, target]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `kubectl exec` in a pod; stdout when it succeeds.
pub fn exec(ns: &TestNamespace, pod: &str, command: &[&str]) -> Option<String> {
    let mut args = vec!["exec", "-n", &ns.name, pod, "--"];
    args.extend_from_slice(command);
    let output = kubectl(&args);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Waits until pod `name` runs with every container ready.
pub async fn wait_pod_ready(ns: &TestNamespace, name: &str) {
    wait_for(
        &ns.api::<Pod>(),
        name,
        Duration::from_secs(120),
        |p: Option<&Pod>| {
            p.and_then(|p| p.status.as_ref()?.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        },
    )
    .await;
}

/// Polls `kubectl logs` of `target` until `needle` appears; returns the logs.
pub async fn wait_log(ns: &TestNamespace, target: &str, needle: &str) -> String {
    wait_until(
        &format!("{needle:?} in the logs of {target}"),
        Duration::from_secs(120),
        || async {
            let text = logs(ns, target);
            text.contains(needle).then_some(text)
        },
    )
    .await
}
