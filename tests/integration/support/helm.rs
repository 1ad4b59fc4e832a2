//! The Helm chart in tests: helm 3 and 4, rendering, a kubeconfig for the chart's ServiceAccount,
//! and `kubectl auth can-i` as that ServiceAccount.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use kube::config::Kubeconfig;

use super::cluster::{bin_dir, kubeconfig_path, kubectl};

/// A Helm major version; both are tested (Helm 4 applies server-side, Helm 3 does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helm {
    V3,
    V4,
}

impl Helm {
    pub const ALL: [Helm; 2] = [Helm::V3, Helm::V4];

    fn binary(self) -> PathBuf {
        bin_dir().join(match self {
            Helm::V3 => "helm3",
            Helm::V4 => "helm4",
        })
    }

    /// Runs helm against the test control plane.
    pub fn run(self, args: &[&str]) -> Output {
        Command::new(self.binary())
            .arg("--kubeconfig")
            .arg(kubeconfig_path())
            .args(args)
            .output()
            .expect("run helm")
    }

    /// Runs helm and fails the test, with its output, unless it succeeds.
    pub fn ok(self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{self:?} {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `helm template` with `--set` values; returns every rendered object.
    pub fn template(self, release: &str, namespace: &str, sets: &[&str]) -> Vec<serde_json::Value> {
        let chart = chart_dir();
        let mut args = vec![
            "template",
            release,
            chart.to_str().expect("utf-8 path"),
            "--namespace",
            namespace,
        ];
        for set in sets {
            args.extend(["--set", set]);
        }
        parse_objects(&self.ok(&args))
    }
}

/// The chart in the repository.
pub fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/bitbucket-token-operator")
}

/// Every object of a multi-document YAML stream (empty documents skipped), read as Kubernetes
/// reads manifests: sigs.k8s.io/yaml follows YAML 1.1, where `0400` is octal.
pub fn parse_objects(yaml: &str) -> Vec<serde_json::Value> {
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_str_multiple_with_options(yaml, options).expect("valid YAML");
    docs.into_iter().filter(|value| !value.is_null()).collect()
}

/// The full name of the chart's objects for `release` (release names here never contain the chart name).
pub fn fullname(release: &str) -> String {
    format!("{release}-bitbucket-token-operator")
}

/// Writes a kubeconfig whose user is a fresh token of ServiceAccount `namespace/name`
/// (`kubectl create token`), with the test control plane's server and CA.
pub fn service_account_kubeconfig(dir: &Path, namespace: &str, name: &str) -> PathBuf {
    let output = kubectl(&["create", "token", name, "-n", namespace, "--duration", "1h"]);
    assert!(
        output.status.success(),
        "kubectl create token: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let admin = Kubeconfig::read_from(kubeconfig_path()).expect("read the admin kubeconfig");
    let cluster = admin
        .clusters
        .first()
        .and_then(|c| c.cluster.clone())
        .expect("the admin kubeconfig names a cluster");
    let mut cluster_yaml = serde_json::json!({"server": cluster.server});
    if let Some(path) = &cluster.certificate_authority {
        cluster_yaml["certificate-authority"] = path.clone().into();
    }
    if let Some(data) = &cluster.certificate_authority_data {
        cluster_yaml["certificate-authority-data"] = data.clone().into();
    }
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": cluster_yaml}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "test", "user": name, "namespace": namespace}}],
        "current-context": "sa",
    });
    let path = dir.join(format!("{namespace}-{name}.kubeconfig"));
    std::fs::write(
        &path,
        serde_saphyr::to_string(&config).expect("kubeconfig YAML"),
    )
    .expect("write the ServiceAccount kubeconfig");
    path
}

/// A ServiceAccount, asked what it may do with `kubectl auth can-i --as`.
pub struct ServiceAccount<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
}

impl ServiceAccount<'_> {
    /// May it `verb` `resource` (`TYPE` or `TYPE/NAME`) in `namespace` (`None`: all namespaces)?
    pub fn can(&self, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
        self.ask(verb, resource, None, namespace)
    }

    /// May it `verb` the `subresource` of `resource` in `namespace`?
    pub fn can_sub(&self, verb: &str, resource: &str, subresource: &str, namespace: &str) -> bool {
        self.ask(verb, resource, Some(subresource), Some(namespace))
    }

    fn ask(
        &self,
        verb: &str,
        resource: &str,
        subresource: Option<&str>,
        namespace: Option<&str>,
    ) -> bool {
        let user = format!("system:serviceaccount:{}:{}", self.namespace, self.name);
        let mut args = vec![
            "auth".to_string(),
            "can-i".into(),
            verb.into(),
            resource.into(),
            "--as".into(),
            user,
        ];
        match namespace {
            Some(ns) => args.extend(["-n".into(), ns.into()]),
            None => args.push("--all-namespaces".into()),
        }
        if let Some(sub) = subresource {
            args.push(format!("--subresource={sub}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = kubectl(&args);
        let answer = String::from_utf8_lossy(&output.stdout).trim().to_string();
        assert!(
            answer == "yes" || answer == "no",
            "kubectl {args:?}: {answer} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        answer == "yes"
    }
}
