//! The rendered Secrets this process wrote, by the resourceVersion its write returned, so the
//! watch event of its own write does not wake the owner for a second, pointless reconcile. Any
//! later change (someone edits or deletes the Secret) has another resourceVersion and still does.
//! When the watch event outruns the write's own response, the owner is woken once more: harmless,
//! that reconcile finds nothing to do.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

#[derive(Clone, Default)]
pub struct OwnWrites {
    versions: Arc<Mutex<HashMap<(String, String), String>>>,
}

impl OwnWrites {
    /// Records that this process's write left Secret `namespace/name` at `resource_version`.
    pub fn record(&self, namespace: &str, name: &str, resource_version: Option<String>) {
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        let key = (namespace.to_string(), name.to_string());
        match resource_version {
            Some(version) => {
                versions.insert(key, version);
            }
            None => {
                versions.remove(&key);
            }
        }
    }

    /// True when `namespace/name` at `resource_version` is exactly what this process wrote.
    pub fn is_own(&self, namespace: &str, name: &str, resource_version: Option<&str>) -> bool {
        let Some(version) = resource_version else {
            return false;
        };
        self.versions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(namespace.to_string(), name.to_string()))
            .is_some_and(|own| own == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_version_written_is_own() {
        let writes = OwnWrites::default();
        assert!(!writes.is_own("ci", "a-git", Some("10")));
        writes.record("ci", "a-git", Some("10".into()));
        assert!(writes.is_own("ci", "a-git", Some("10")));
        assert!(
            !writes.is_own("ci", "a-git", Some("11")),
            "someone else's edit"
        );
        assert!(!writes.is_own("ci", "b-git", Some("10")));
        assert!(!writes.is_own("ci", "a-git", None));
        writes.record("ci", "a-git", None);
        assert!(!writes.is_own("ci", "a-git", Some("10")));
    }
}
