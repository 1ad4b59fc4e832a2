//! Options of `bitbucket-token-operator run`.

use std::{net::SocketAddr, path::PathBuf};

use clap::Args;
use url::Url;

use crate::{api::GoDuration, leader::LeaderElectionArgs, telemetry::LogFormat};

/// `run` options. Every flag also reads an environment variable, as a Deployment would set it.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The cluster, as kubectl chooses it: --kubeconfig (one file), else every file of
    /// $KUBECONFIG merged, else ~/.kube/config, else the in-cluster ServiceAccount; --context,
    /// --cluster and --user pick from it.
    #[command(flatten)]
    pub cluster: crate::kubectl::kubeconfig::KubeconfigArgs,

    /// Namespaces to watch, comma-separated. Empty: all namespaces.
    #[arg(long, env = "BTO_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,

    /// Bitbucket Data Center hosts (host or host:port) the operator may send tokens to. Comma-separated.
    #[arg(
        long = "allowed-dc-host",
        env = "BTO_ALLOWED_DC_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_dc_hosts: Vec<String>,

    /// Validation interval for BitbucketTokens that do not set spec.validation.interval.
    #[arg(long, env = "BTO_DEFAULT_VALIDATION_INTERVAL", default_value = "1h")]
    pub default_validation_interval: GoDuration,

    /// Expiry warning window for BitbucketTokens that do not set spec.expiryWarning.
    #[arg(long, env = "BTO_DEFAULT_EXPIRY_WARNING", default_value = "336h")]
    pub default_expiry_warning: GoDuration,

    /// Restart the workloads `spec.target.restartOnRotation` selects (needs list and patch on
    /// Deployments, StatefulSets and DaemonSets). Off: no workload is touched and a
    /// BitbucketToken asking for restarts gets a WorkloadRestartNotPermitted Event.
    #[arg(long, env = "BTO_RESTART_WORKLOADS", default_value_t = false)]
    pub restart_workloads: bool,

    /// With --restart-workloads: restart workloads only in these namespaces (comma-separated).
    /// Empty: every watched namespace.
    #[arg(
        long,
        env = "BTO_RESTART_WORKLOADS_NAMESPACES",
        value_delimiter = ',',
        requires = "restart_workloads"
    )]
    pub restart_workloads_namespaces: Vec<String>,

    /// Requests per second the operator sends to each Bitbucket host.
    #[arg(long, env = "BTO_BITBUCKET_RPS", default_value_t = 5)]
    pub bitbucket_rps: u32,

    /// BitbucketTokens reconciled at the same time (per watched namespace); bounds memory and the
    /// burst on the API server when thousands change at once.
    #[arg(long, env = "BTO_CONCURRENCY", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// Log level or tracing filter (e.g. info, debug, bitbucket_token_operator=debug).
    #[arg(long, env = "BTO_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log format.
    #[arg(long, env = "BTO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address of the /metrics, /healthz and /readyz server.
    #[arg(long, env = "BTO_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Additional PEM CA bundle trusted for every Bitbucket host (e.g. a corporate proxy's CA).
    #[arg(long, env = "BTO_EXTRA_CA_FILE")]
    pub extra_ca_file: Option<PathBuf>,

    /// Bitbucket Cloud REST API base URL (tests point it at a simulator).
    #[arg(
        long,
        env = "BTO_CLOUD_API_URL",
        default_value = "https://api.bitbucket.org/2.0",
        hide = true
    )]
    pub cloud_api_url: Url,

    /// Bitbucket Cloud git base URL written into rendered Secrets (tests point it at a local server).
    #[arg(
        long,
        env = "BTO_CLOUD_GIT_URL",
        default_value = "https://bitbucket.org",
        hide = true
    )]
    pub cloud_git_url: Url,

    #[command(flatten)]
    pub leader: LeaderElectionArgs,
}
