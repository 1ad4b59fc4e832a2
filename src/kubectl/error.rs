//! What can go wrong between a person's terminal and the cluster, and the exit code each means.

use super::{exit, kubeconfig::ConnectError};

/// A failure to read or change something in the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Connect(Box<ConnectError>),
    #[error(
        "BitbucketToken {name:?} not found in namespace {namespace} (kubectl get bitbuckettokens -n {namespace} lists them; is -n or --context right?)"
    )]
    NotFound { name: String, namespace: String },
    #[error("you may not {verb} {what} in namespace {namespace}: {message}")]
    Forbidden {
        verb: &'static str,
        what: String,
        namespace: String,
        /// The API server's message (names the user and the missing permission).
        message: String,
    },
    #[error(
        "the API server does not accept your credentials (401 Unauthorized): log in again or check the kubeconfig user"
    )]
    Unauthorized,
    #[error("cannot {verb} {what} in namespace {namespace}: {source}")]
    Api {
        verb: &'static str,
        what: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

impl From<ConnectError> for ClusterError {
    fn from(error: ConnectError) -> Self {
        ClusterError::Connect(Box::new(error))
    }
}

impl ClusterError {
    /// The process exit code for this failure: [`exit::NOT_FOUND`] or [`exit::CLUSTER`].
    pub fn exit_code(&self) -> u8 {
        match self {
            ClusterError::NotFound { .. } => exit::NOT_FOUND,
            _ => exit::CLUSTER,
        }
    }

    /// Classifies an API error of `verb` on `what`: 403 and 401 get their own messages.
    pub fn api(verb: &'static str, what: String, namespace: &str, source: kube::Error) -> Self {
        match &source {
            kube::Error::Api(status) if status.code == 403 => ClusterError::Forbidden {
                verb,
                what,
                namespace: namespace.to_string(),
                message: status.message.clone(),
            },
            kube::Error::Api(status) if status.code == 401 => ClusterError::Unauthorized,
            _ => ClusterError::Api {
                verb,
                what,
                namespace: namespace.to_string(),
                source,
            },
        }
    }
}
