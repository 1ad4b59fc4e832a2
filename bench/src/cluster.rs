//! A dedicated control plane for the benchmark, started by the project's own scripts with an
//! audit log that records only the operator's requests (it runs as its own ServiceAccount).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use kube::{Client, Config, config::Kubeconfig};

use crate::{
    Result,
    error::{BenchError, io},
};

pub const OPERATOR_NAMESPACE: &str = "bto-bench";
pub const OPERATOR_SA: &str = "operator";

/// The running control plane.
pub struct Cluster {
    pub state_dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub bin_dir: PathBuf,
    pub audit_log: PathBuf,
    /// A kubeconfig for the operator's ServiceAccount (cluster-admin: RBAC is not measured here).
    pub operator_kubeconfig: PathBuf,
    _scratch: tempfile::TempDir,
}

const POLICY: &str = r#"apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: Metadata
    users: ["system:serviceaccount:bto-bench:operator"]
  - level: None
"#;

fn script(root: &Path, name: &str, state_dir: &Path, extra: Option<&str>) -> Result<String> {
    let mut command = Command::new("bash");
    command
        .arg(root.join("scripts").join(name))
        .env("BTO_STATE_DIR", state_dir);
    if let Some(extra) = extra {
        command.env("BTO_APISERVER_EXTRA_ARGS", extra);
    }
    let output = command.output().map_err(io(format!("run {name}")))?;
    if !output.status.success() {
        return Err(BenchError::Failed(format!(
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl Cluster {
    /// Stops any previous benchmark control plane and starts a fresh one.
    pub fn start(root: &Path) -> Result<Self> {
        let state_dir = std::env::temp_dir().join("bto-bench-cluster");
        script(root, "cluster-down.sh", &state_dir, None)?;
        let scratch = tempfile::tempdir().map_err(io("temp dir"))?;
        let policy = scratch.path().join("audit-policy.yaml");
        std::fs::write(&policy, POLICY).map_err(io("write the audit policy"))?;
        let audit_log = scratch.path().join("audit.log");
        let extra = format!(
            "--audit-policy-file={} --audit-log-path={} --audit-log-maxsize=100000",
            policy.display(),
            audit_log.display()
        );
        let env = script(root, "cluster-up.sh", &state_dir, Some(&extra))?;
        let bin_dir = env
            .lines()
            .find_map(|l| l.strip_prefix("export BTO_BIN_DIR="))
            .map(|v| PathBuf::from(v.trim_matches('"')))
            .ok_or_else(|| BenchError::Failed("cluster-up.sh printed no BTO_BIN_DIR".into()))?;
        let mut cluster = Self {
            kubeconfig: state_dir.join("kubeconfig"),
            operator_kubeconfig: scratch.path().join("operator.kubeconfig"),
            state_dir,
            bin_dir,
            audit_log,
            _scratch: scratch,
        };
        cluster.create_operator_identity()?;
        Ok(cluster)
    }

    /// Runs kubectl as the admin.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        let output = Command::new(self.bin_dir.join("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .map_err(io("run kubectl"))?;
        if !output.status.success() {
            return Err(BenchError::Failed(format!(
                "kubectl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn create_operator_identity(&mut self) -> Result<()> {
        self.kubectl(&["create", "namespace", OPERATOR_NAMESPACE])?;
        self.kubectl(&[
            "-n",
            OPERATOR_NAMESPACE,
            "create",
            "serviceaccount",
            OPERATOR_SA,
        ])?;
        self.kubectl(&[
            "create",
            "clusterrolebinding",
            "bto-bench-operator",
            "--clusterrole=cluster-admin",
            &format!("--serviceaccount={OPERATOR_NAMESPACE}:{OPERATOR_SA}"),
        ])?;
        let token = self.kubectl(&[
            "-n",
            OPERATOR_NAMESPACE,
            "create",
            "token",
            OPERATOR_SA,
            "--duration=24h",
        ])?;
        let admin = Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| BenchError::Failed(format!("read the kubeconfig: {e}")))?;
        let cluster = admin
            .clusters
            .first()
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| BenchError::Failed("the kubeconfig names no cluster".into()))?;
        let mut cluster_json = serde_json::json!({"server": cluster.server});
        if let Some(path) = &cluster.certificate_authority {
            cluster_json["certificate-authority"] = path.clone().into();
        }
        if let Some(data) = &cluster.certificate_authority_data {
            cluster_json["certificate-authority-data"] = data.clone().into();
        }
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "bench", "cluster": cluster_json}],
            "users": [{"name": OPERATOR_SA, "user": {"token": token.trim()}}],
            "contexts": [{"name": "operator", "context": {"cluster": "bench", "user": OPERATOR_SA}}],
            "current-context": "operator",
        });
        std::fs::write(&self.operator_kubeconfig, config.to_string())
            .map_err(io("write the operator kubeconfig"))
    }

    /// A client with the admin's credentials (the benchmark's own requests are not audited).
    pub async fn client(&self) -> Result<Client> {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| BenchError::Failed(format!("read the kubeconfig: {e}")))?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .map_err(|e| BenchError::Failed(format!("load the kubeconfig: {e}")))?;
        Client::try_from(config).map_err(crate::error::kube("create a client"))
    }

    /// Stops the control plane.
    pub fn stop(&self, root: &Path) {
        if let Err(error) = script(root, "cluster-down.sh", &self.state_dir, None) {
            eprintln!("bto-bench: {error}");
        }
    }
}
