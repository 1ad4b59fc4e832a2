//! Choosing the cluster, user and namespace the way kubectl does: `--kubeconfig` (one file), else
//! every file of `$KUBECONFIG` merged (the first to set a value wins), else `~/.kube/config`, else
//! the in-cluster ServiceAccount; `--context`, `--cluster` and `--user` pick from it, and the
//! namespace is `-n`, else the context's, else `default`.
//!
//! Loading and merging are kube's own ([`Kubeconfig::read_from`], [`Kubeconfig::from_env`],
//! [`Config::from_custom_kubeconfig`]), which follow
//! <https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/#merging-kubeconfig-files>.

use std::path::PathBuf;

use clap::Args;
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig, KubeconfigError},
};

/// The kubectl flags that choose a cluster, a user and a namespace.
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct ClusterArgs {
    /// Namespace of the BitbucketToken (default: the context's namespace, else `default`).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub config: KubeconfigArgs,
}

/// The kubectl flags that choose a cluster and a user: the plugin's and the operator's (`run`).
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct KubeconfigArgs {
    /// Path to one kubeconfig file; overrides $KUBECONFIG (which may list several files, merged).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current-context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig cluster to use instead of the context's.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The kubeconfig user to use instead of the context's.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

/// Why no client for the cluster could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read the kubeconfig {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: KubeconfigError,
    },
    #[error("cannot merge the kubeconfig files of $KUBECONFIG: {0}")]
    Merge(#[source] KubeconfigError),
    #[error("none of the files listed in $KUBECONFIG exists")]
    NoneOfEnv,
    #[error(
        "no kubeconfig: $KUBECONFIG is unset, {home} does not exist and this is not a pod \
         (give --kubeconfig PATH or set KUBECONFIG)"
    )]
    Missing { home: String },
    #[error("the kubeconfig cannot be used: {0}")]
    Load(#[source] KubeconfigError),
    #[error("cannot use the in-cluster ServiceAccount: {0}")]
    InCluster(#[source] kube::config::InClusterError),
    #[error("cannot build a client for the cluster: {0}")]
    Client(#[source] kube::Error),
}

/// A client and the namespace the command works in.
pub struct Connection {
    pub client: Client,
    pub namespace: String,
}

/// Where the kubeconfig comes from, decided from the flags and the environment.
#[derive(Debug, PartialEq)]
enum Source {
    File(PathBuf),
    /// The files of `$KUBECONFIG` that exist, in order.
    Env(Vec<PathBuf>),
    Home(PathBuf),
    InCluster,
}

impl ClusterArgs {
    /// Connects as kubectl would with the same flags and environment.
    pub async fn connect(&self) -> Result<Connection, ConnectError> {
        let config = self.config.config().await?;
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).map_err(ConnectError::Client)?;
        Ok(Connection { client, namespace })
    }
}

impl KubeconfigArgs {
    /// A client for the cluster kubectl would use with the same flags and environment.
    pub async fn client(&self) -> Result<Client, ConnectError> {
        Client::try_from(self.config().await?).map_err(ConnectError::Client)
    }

    /// The client configuration kubectl would use with the same flags and environment.
    pub async fn config(&self) -> Result<Config, ConnectError> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            cluster: self.cluster.clone(),
            user: self.user.clone(),
        };
        let kubeconfig = match self.source()? {
            Source::File(path) | Source::Home(path) => {
                Kubeconfig::read_from(&path).map_err(|source| ConnectError::Read {
                    path: path.display().to_string(),
                    source,
                })?
            }
            Source::Env(paths) => merged(&paths)?,
            Source::InCluster => return Config::incluster().map_err(ConnectError::InCluster),
        };
        Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(ConnectError::Load)
    }

    fn source(&self) -> Result<Source, ConnectError> {
        if let Some(path) = &self.kubeconfig {
            return Ok(Source::File(path.clone()));
        }
        let listed: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
            .map(|value| std::env::split_paths(&value).collect())
            .unwrap_or_default();
        if listed.iter().any(|p| !p.as_os_str().is_empty()) {
            // kubectl skips listed files that do not exist (client-go's loading rules).
            let existing: Vec<PathBuf> = listed.into_iter().filter(|p| p.is_file()).collect();
            if existing.is_empty() {
                return Err(ConnectError::NoneOfEnv);
            }
            return Ok(Source::Env(existing));
        }
        let home = std::env::home_dir().map(|h| h.join(".kube").join("config"));
        match home {
            Some(path) if path.exists() => Ok(Source::Home(path)),
            _ if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => Ok(Source::InCluster),
            home => Err(ConnectError::Missing {
                home: home.map_or("~/.kube/config".into(), |p| p.display().to_string()),
            }),
        }
    }
}

/// The files merged in order with kube's rules (the first file to set a value wins).
fn merged(paths: &[PathBuf]) -> Result<Kubeconfig, ConnectError> {
    paths
        .iter()
        .try_fold(Kubeconfig::default(), |merged, path| {
            let next = Kubeconfig::read_from(path).map_err(|source| ConnectError::Read {
                path: path.display().to_string(),
                source,
            })?;
            merged.merge(next).map_err(ConnectError::Merge)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_kubeconfig_wins_over_the_environment() {
        let args = KubeconfigArgs {
            kubeconfig: Some("/somewhere/config".into()),
            ..KubeconfigArgs::default()
        };
        assert_eq!(
            args.source().unwrap(),
            Source::File("/somewhere/config".into())
        );
    }
}
