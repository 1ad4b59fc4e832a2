//! Reading one BitbucketToken as the API server holds it.

use kube::{Api, Client};

use super::error::ClusterError;
use crate::api::BitbucketToken;

/// The Api for BitbucketTokens in `namespace`, at the version this build serves.
pub fn api(client: &Client, namespace: &str) -> Api<BitbucketToken> {
    Api::namespaced(client.clone(), namespace)
}

/// Reads BitbucketToken `name`; [`ClusterError::NotFound`] when it does not exist.
pub async fn get(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<BitbucketToken, ClusterError> {
    api(client, namespace)
        .get_opt(name)
        .await
        .map_err(|source| {
            ClusterError::api("get", format!("BitbucketToken {name:?}"), namespace, source)
        })?
        .ok_or_else(|| ClusterError::NotFound {
            name: name.to_string(),
            namespace: namespace.to_string(),
        })
}
