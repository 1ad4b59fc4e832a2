//! Which BitbucketTokens read which Secret, so a change to a token Secret (seen through a
//! metadata-only watch) wakes exactly the BitbucketTokens that use it.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
};

use kube::runtime::reflector::ObjectRef;

use crate::api::BitbucketToken;

/// `(namespace, secret name)`.
type SecretKey = (String, String);

/// The map from source Secrets to the BitbucketTokens reading them. Each reconcile records the
/// Secrets its object references now, replacing what it referenced before.
#[derive(Clone, Default)]
pub struct SecretIndex {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    readers: HashMap<SecretKey, HashSet<ObjectRef<BitbucketToken>>>,
    references: HashMap<ObjectRef<BitbucketToken>, Vec<SecretKey>>,
}

impl SecretIndex {
    /// Records that `token` reads the Secrets named in `secrets` (in its own namespace).
    pub fn record(&self, token: ObjectRef<BitbucketToken>, namespace: &str, secrets: &[&str]) {
        let keys: Vec<SecretKey> = secrets
            .iter()
            .map(|name| (namespace.to_string(), name.to_string()))
            .collect();
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.references.get(&token) == Some(&keys) {
            return;
        }
        inner.forget(&token);
        for key in &keys {
            inner
                .readers
                .entry(key.clone())
                .or_default()
                .insert(token.clone());
        }
        inner.references.insert(token, keys);
    }

    /// Drops everything recorded for `token`.
    pub fn forget(&self, token: &ObjectRef<BitbucketToken>) {
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .forget(token);
    }

    /// The BitbucketTokens reading Secret `name` in `namespace`.
    pub fn readers(&self, namespace: &str, name: &str) -> Vec<ObjectRef<BitbucketToken>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner
            .readers
            .get(&(namespace.to_string(), name.to_string()))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Inner {
    fn forget(&mut self, token: &ObjectRef<BitbucketToken>) {
        for key in self.references.remove(token).unwrap_or_default() {
            if let Some(set) = self.readers.get_mut(&key) {
                set.remove(token);
                if set.is_empty() {
                    self.readers.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str) -> ObjectRef<BitbucketToken> {
        ObjectRef::new(name).within("ci")
    }

    #[test]
    fn maps_secrets_to_readers_and_follows_changes() {
        let index = SecretIndex::default();
        index.record(token("a"), "ci", &["shared"]);
        index.record(token("b"), "ci", &["shared", "corp-ca"]);
        let mut readers = index.readers("ci", "shared");
        readers.sort_by_key(|r| r.name.clone());
        assert_eq!(readers, vec![token("a"), token("b")]);
        assert!(
            index.readers("other", "shared").is_empty(),
            "namespaces are separate"
        );
        index.record(token("a"), "ci", &["rotated"]);
        assert_eq!(index.readers("ci", "shared"), vec![token("b")]);
        assert_eq!(index.readers("ci", "rotated"), vec![token("a")]);
        index.forget(&token("b"));
        assert!(index.readers("ci", "corp-ca").is_empty());
    }
}
