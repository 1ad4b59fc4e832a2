//! Finding (or starting) the test control plane and talking to it.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
    time::Duration,
};

use bitbucket_token_operator::api::BitbucketToken;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client, Config, CustomResourceExt, ResourceExt,
    api::{Patch, PatchParams},
    config::{KubeConfigOptions, Kubeconfig},
    runtime::{conditions, wait::await_condition},
};
use tokio::sync::OnceCell;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The kubeconfig of the running control plane, starting one if needed (once per test binary).
pub fn kubeconfig_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Ok(path) = std::env::var("BTO_KUBECONFIG") {
            return PathBuf::from(path);
        }
        let output = Command::new("bash")
            .arg(repo_root().join("scripts/cluster-up.sh"))
            .output()
            .expect("run scripts/cluster-up.sh");
        assert!(
            output.status.success(),
            "scripts/cluster-up.sh failed (run `make tools` first?):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env = String::from_utf8_lossy(&output.stdout);
        let line = env
            .lines()
            .find_map(|l| l.strip_prefix("export BTO_KUBECONFIG="))
            .expect("cluster-up.sh prints BTO_KUBECONFIG");
        PathBuf::from(line.trim_matches('"'))
    })
}

/// The folder holding kubectl and helm, next to the control-plane binaries.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BTO_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let kubeconfig = kubeconfig_path();
    let env = std::fs::read_to_string(kubeconfig.with_file_name("env"))
        .expect("read the cluster env file");
    let line = env
        .lines()
        .find_map(|l| l.strip_prefix("export BTO_BIN_DIR="))
        .expect("env file names BTO_BIN_DIR");
    PathBuf::from(line.trim_matches('"'))
}

/// A client for the test control plane (admin credentials).
pub async fn client() -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig_path()).expect("read kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig is valid");
    Client::try_from(config).expect("build kube client")
}

/// Installs (server-side apply) the BitbucketToken CRD once per test binary and waits until it is
/// Established.
pub async fn ensure_crd(client: &Client) {
    static INSTALLED: OnceCell<()> = OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
            let crd = BitbucketToken::crd();
            let name = crd.name_any();
            crds.patch(
                &name,
                &PatchParams::apply("bto-tests").force(),
                &Patch::Apply(&crd),
            )
            .await
            .expect("apply CRD");
            tokio::time::timeout(
                Duration::from_secs(30),
                await_condition(crds, &name, conditions::is_crd_established()),
            )
            .await
            .expect("CRD Established within 30s")
            .expect("watch CRD");
        })
        .await;
}

/// Runs kubectl against the test control plane.
pub fn kubectl(args: &[&str]) -> Output {
    Command::new(bin_dir().join("kubectl"))
        .arg("--kubeconfig")
        .arg(kubeconfig_path())
        .args(args)
        .output()
        .expect("run kubectl")
}
