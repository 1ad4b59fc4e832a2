//! Reading one BitbucketToken as the API server holds it: typed, plus the raw JSON for status
//! fields a newer operator may write that this build's type does not know yet.

use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject},
};
use serde_json::Value;

use super::error::ClusterError;
use crate::api::BitbucketToken;

/// One BitbucketToken, typed and raw.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub token: BitbucketToken,
    /// The object as JSON (`status` included).
    pub raw: Value,
}

impl Fetched {
    /// `status.<field>` from the raw object.
    pub fn raw_status(&self, field: &str) -> Option<&Value> {
        self.raw.get("status").and_then(|status| status.get(field))
    }
}

/// The dynamic Api for BitbucketTokens in `namespace`, at the version this build serves.
pub fn dynamic_api(client: &Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        namespace,
        &ApiResource::erase::<BitbucketToken>(&()),
    )
}

/// Reads BitbucketToken `name`; [`ClusterError::NotFound`] when it does not exist.
pub async fn get(client: &Client, namespace: &str, name: &str) -> Result<Fetched, ClusterError> {
    let what = || format!("BitbucketToken {name:?}");
    let object = dynamic_api(client, namespace)
        .get_opt(name)
        .await
        .map_err(|source| ClusterError::api("get", what(), namespace, source))?
        .ok_or_else(|| ClusterError::NotFound {
            name: name.to_string(),
            namespace: namespace.to_string(),
        })?;
    from_dynamic(&object).map_err(|source| ClusterError::Api {
        verb: "read",
        what: what(),
        namespace: namespace.to_string(),
        source: kube::Error::SerdeError(source),
    })
}

/// Converts a dynamic object into [`Fetched`].
pub fn from_dynamic(object: &DynamicObject) -> Result<Fetched, serde_json::Error> {
    let raw = serde_json::to_value(object)?;
    let token = serde_json::from_value(raw.clone())?;
    Ok(Fetched { token, raw })
}
