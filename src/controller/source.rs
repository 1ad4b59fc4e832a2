//! Reading the token (and a Data Center CA bundle) from Secrets in the BitbucketToken's namespace.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use super::{error::Error, verdict::TokenVerdict};
use crate::{
    api::{Reason, SecretKeyRef},
    token::{MalformedToken, SecretToken},
};

/// Reads `reference` from `namespace`. A missing Secret or key, or bytes that are not a usable
/// token, become a definitive verdict; an apiserver failure is an [`Error`] (retried).
pub async fn read_token(
    client: &Client,
    namespace: &str,
    reference: &SecretKeyRef,
) -> Result<Result<SecretToken, TokenVerdict>, Error> {
    let bytes = match read_key(client, namespace, reference, "token").await? {
        Ok(bytes) => bytes,
        Err(verdict) => return Ok(Err(verdict)),
    };
    Ok(SecretToken::from_bytes(&bytes).map_err(|problem| {
        let hint = match problem {
            MalformedToken::Empty => "put the token into it",
            MalformedToken::NotUtf8 => "store the token as text",
            MalformedToken::InnerWhitespaceOrControl(_) => {
                "store only the token, without spaces or line breaks inside it"
            }
        };
        TokenVerdict::invalid(
            Reason::MalformedToken,
            format!(
                "Key {:?} of Secret {}: {problem}; {hint}.",
                reference.key, reference.name
            ),
        )
    }))
}

/// Reads a PEM CA bundle for a Data Center server.
pub async fn read_ca_bundle(
    client: &Client,
    namespace: &str,
    reference: &SecretKeyRef,
) -> Result<Result<Vec<u8>, TokenVerdict>, Error> {
    read_key(client, namespace, reference, "CA bundle").await
}

async fn read_key(
    client: &Client,
    namespace: &str,
    reference: &SecretKeyRef,
    what: &str,
) -> Result<Result<Vec<u8>, TokenVerdict>, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let Some(secret) = secrets
        .get_opt(&reference.name)
        .await
        .map_err(Error::ReadSource)?
    else {
        return Ok(Err(TokenVerdict::invalid(
            Reason::SourceSecretNotFound,
            format!(
                "Secret {} (the {what}) does not exist in namespace {namespace}; create it with the {what} under key {:?}.",
                reference.name, reference.key
            ),
        )));
    };
    match secret
        .data
        .as_ref()
        .and_then(|data| data.get(&reference.key))
    {
        Some(value) => Ok(Ok(value.0.clone())),
        None => {
            let mut keys: Vec<&str> = secret
                .data
                .iter()
                .flat_map(|d| d.keys().map(String::as_str))
                .collect();
            keys.sort_unstable();
            Ok(Err(TokenVerdict::invalid(
                Reason::SourceKeyMissing,
                format!(
                    "Secret {} has no key {:?} (it has: {}); put the {what} under that key or fix the reference.",
                    reference.name,
                    reference.key,
                    if keys.is_empty() {
                        "no keys".to_string()
                    } else {
                        keys.join(", ")
                    }
                ),
            )))
        }
    }
}
