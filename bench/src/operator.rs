//! The operator under test: the release binary, as its own ServiceAccount, against the simulator.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
};

use bitbucket_simulator::Simulator;

use crate::{Result, cluster::Cluster, error::io};

/// A running operator process (killed on drop).
pub struct Operator {
    child: Child,
    _scratch: tempfile::TempDir,
}

impl Operator {
    pub fn start(
        binary: &Path,
        cluster: &Cluster,
        sim: &Simulator,
        namespace: &str,
        port: u16,
        log_level: &str,
    ) -> Result<Self> {
        let scratch = tempfile::tempdir().map_err(io("temp dir"))?;
        let ca = scratch.path().join("ca.pem");
        std::fs::write(&ca, sim.ca_pem()).map_err(io("write the simulator CA"))?;
        // Kept after the run for a look at what the operator did.
        let log_path = std::env::temp_dir().join(format!("bto-bench-operator-{namespace}.log"));
        let log = std::fs::File::create(&log_path).map_err(io("operator log"))?;
        let child = Command::new(binary)
            .arg("run")
            .arg("--kubeconfig")
            .arg(&cluster.operator_kubeconfig)
            .args(["--namespaces", namespace])
            .args(["--cloud-api-url", &sim.cloud_api_url()])
            .args([
                "--cloud-git-url",
                &format!("https://localhost:{}", sim.port()),
            ])
            .arg("--extra-ca-file")
            .arg(&ca)
            // Bitbucket is local and unlimited here: measure the operator, not the pacing.
            .args(["--bitbucket-rps", "100000"])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .args(["--log-level", log_level])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(io(format!("start {}", binary.display())))?;
        Ok(Self {
            child,
            _scratch: scratch,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
