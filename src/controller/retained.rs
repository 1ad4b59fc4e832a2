//! Rendered Secrets kept under `deletionPolicy: Retain`, by name, so the Secret watch can wake
//! their BitbucketToken when someone edits or deletes one. Such a Secret carries no owner reference
//! (that is what Retain means: the garbage collector must not remove it), so the watch cannot map
//! it back the way it maps the Secrets of `Delete`; each reconcile records its target here instead.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use kube::runtime::reflector::ObjectRef;

use crate::api::BitbucketToken;

/// `(namespace, Secret name)` to the name of the BitbucketToken that renders it.
#[derive(Clone, Default)]
pub struct RetainedSecrets {
    owners: Arc<RwLock<HashMap<(String, String), String>>>,
}

impl RetainedSecrets {
    /// Records that `owner` renders Secret `secret` in `namespace`, with `retained` saying whether
    /// that Secret lacks an owner reference (`deletionPolicy: Retain`); other entries are dropped.
    pub fn record(&self, namespace: &str, secret: &str, owner: &str, retained: bool) {
        let key = (namespace.to_string(), secret.to_string());
        let mut owners = self.owners.write().unwrap_or_else(|p| p.into_inner());
        if !retained {
            owners.remove(&key);
        } else if owners.get(&key).map(String::as_str) != Some(owner) {
            owners.insert(key, owner.to_string());
        }
    }

    /// The BitbucketToken that renders retained Secret `name` in `namespace`, if one does.
    pub fn owner(&self, namespace: &str, name: &str) -> Option<ObjectRef<BitbucketToken>> {
        self.owners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(namespace.to_string(), name.to_string()))
            .map(|owner| ObjectRef::new(owner).within(namespace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_retained_secrets_to_their_owner_only() {
        let retained = RetainedSecrets::default();
        retained.record("ci", "a-git", "a", true);
        retained.record("ci", "b-git", "b", false);
        assert_eq!(
            retained.owner("ci", "a-git"),
            Some(ObjectRef::new("a").within("ci"))
        );
        assert_eq!(
            retained.owner("ci", "b-git"),
            None,
            "Delete: owner reference"
        );
        assert_eq!(retained.owner("other", "a-git"), None);
        retained.record("ci", "a-git", "a", false);
        assert_eq!(
            retained.owner("ci", "a-git"),
            None,
            "policy switched to Delete"
        );
    }
}
