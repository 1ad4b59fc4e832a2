//! Runs the real operator binary against the test control plane, watching one namespace and
//! talking to an in-process Bitbucket simulator; its log is kept for leak checks.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use bitbucket_simulator::Simulator;

use super::cluster::kubeconfig_path;

pub struct Operator {
    child: Child,
    pub log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Operator {
    /// Starts `bitbucket-token-operator run` for `namespace`, trusting the simulator's CA and
    /// allowing its host as a Data Center host. `extra` adds or overrides flags.
    pub fn start(namespace: &str, sim: &Simulator, extra: &[&str]) -> Self {
        Self::start_as(kubeconfig_path(), namespace, sim, extra, &[])
    }

    /// Like [`Operator::start`], with the credentials of `kubeconfig` and extra environment
    /// variables (e.g. `POD_NAME`).
    pub fn start_as(
        kubeconfig: &Path,
        namespace: &str,
        sim: &Simulator,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        Self::spawn(Some(kubeconfig), namespace, sim, extra, env)
    }

    /// Like [`Operator::start_as`] without `--kubeconfig`: the operator finds the cluster as
    /// kubectl does, from `env` (e.g. `KUBECONFIG`) and the flags in `extra` (e.g. `--context`).
    pub fn start_from_env(
        namespace: &str,
        sim: &Simulator,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        Self::spawn(None, namespace, sim, extra, env)
    }

    fn spawn(
        kubeconfig: Option<&Path>,
        namespace: &str,
        sim: &Simulator,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = dir.path().join("simulator-ca.pem");
        std::fs::write(&ca, sim.ca_pem()).expect("write CA");
        let log_path = dir.path().join("operator.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let git_url = format!("https://localhost:{}", sim.port());
        let allowed = format!("localhost:{}", sim.port());
        let mut args: Vec<String> = vec!["run".into()];
        if let Some(path) = kubeconfig {
            args.extend(["--kubeconfig".into(), path.display().to_string()]);
        }
        args.extend([
            "--namespaces".into(),
            namespace.into(),
            "--cloud-api-url".into(),
            sim.cloud_api_url(),
            "--cloud-git-url".into(),
            git_url,
            "--extra-ca-file".into(),
            ca.display().to_string(),
            "--log-level".into(),
            "bitbucket_token_operator=debug,info".into(),
            "--metrics-addr".into(),
            "127.0.0.1:0".into(),
        ]);
        if !extra.iter().any(|a| a.starts_with("--allowed-dc-host")) {
            args.extend(["--allowed-dc-host".into(), allowed]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let child = Command::new(env!("CARGO_BIN_EXE_bitbucket-token-operator"))
            .args(&args)
            .env_remove("POD_NAMESPACE")
            .env_remove("KUBECONFIG")
            .envs(env.iter().copied())
            .stdout(Stdio::from(log.try_clone().expect("clone log handle")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the operator");
        Self {
            child,
            log_path,
            _dir: dir,
        }
    }

    /// Everything the operator has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The address of its /metrics, /healthz and /readyz server, once it has logged it.
    pub fn http_addr(&self) -> Option<String> {
        self.logs().lines().find_map(|line| {
            line.contains("serving /metrics")
                .then(|| line.split("addr=").nth(1))
                .flatten()
                .map(|rest| {
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
        })
    }

    /// The process id (e.g. to pause it with SIGSTOP).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Stops it with SIGTERM, as Kubernetes would, and returns its exit status.
    /// Waits up to `timeout` for the operator to exit on its own.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }

    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("wait for the operator")
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
