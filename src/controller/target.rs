//! Writing the rendered Secret: create it, or update it by server-side apply when its content
//! changed; never touch a Secret that belongs to someone else.

use std::collections::BTreeMap;

use k8s_openapi::{
    ByteString,
    api::core::v1::Secret,
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};

use super::{context::FIELD_MANAGER, error::Error, events::SecretChange, own_writes::OwnWrites};
use crate::{
    api::{BitbucketToken, DeletionPolicy},
    render::RenderedSecret,
};

/// Label on every rendered Secret.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY: &str = "bitbucket-token-operator";
/// Annotation naming the BitbucketToken (uid) a rendered Secret belongs to; kept also under
/// `deletionPolicy: Retain`, where there is no owner reference.
pub const OWNER_UID_ANNOTATION: &str = "bitbucket-token-operator.io/owner-uid";
/// Annotation with the token fingerprint the Secret was rendered from.
pub const FINGERPRINT_ANNOTATION: &str = "bitbucket-token-operator.io/token-fingerprint";
/// Annotation with the hash of everything the operator writes, to skip unchanged writes.
pub const CONTENT_HASH_ANNOTATION: &str = "bitbucket-token-operator.io/content-hash";

/// What happened to the target Secret.
pub enum TargetOutcome {
    /// The Secret holds the current content; `replaced` is the token fingerprint it held before
    /// this write when that differs (a rotation as the pods see it).
    Written {
        change: SecretChange,
        replaced: Option<String>,
    },
    /// A Secret with that name exists and is not this BitbucketToken's.
    Conflict,
}

impl TargetOutcome {
    fn written(replaced: Option<String>) -> Self {
        TargetOutcome::Written {
            change: SecretChange::Written,
            replaced,
        }
    }
}

/// Writes `rendered` as Secret `name` for `owner`, only when something changed.
pub async fn write(
    api: &Api<Secret>,
    owner: &BitbucketToken,
    name: &str,
    rendered: RenderedSecret,
    fingerprint: &str,
    own_writes: &OwnWrites,
) -> Result<TargetOutcome, Error> {
    let uid = owner.uid().ok_or(Error::NoUid)?;
    let namespace = owner.namespace().unwrap_or_default();
    let record = |written: &Secret| own_writes.record(&namespace, name, written.resource_version());
    let mut desired = desired_secret(owner, &uid, name, rendered, fingerprint);
    let hash = content_hash(&desired);
    desired
        .annotations_mut()
        .insert(CONTENT_HASH_ANNOTATION.into(), hash.clone());
    let existing = match read_or_create(api, owner, name, &desired).await? {
        Existing::Created(created) => {
            record(&created);
            return Ok(TargetOutcome::written(None));
        }
        Existing::Taken => return Ok(TargetOutcome::Conflict),
        Existing::Found(existing) => existing,
    };
    if !belongs_to(&existing, &uid) {
        return Ok(TargetOutcome::Conflict);
    }
    // The annotation says what this operator last wrote; the data says what is there now (an
    // edit of the data leaves the annotation alone, and must be repaired).
    if existing.annotations().get(CONTENT_HASH_ANNOTATION) == Some(&hash)
        && holds(&existing, &desired)
    {
        return Ok(TargetOutcome::Written {
            change: SecretChange::Unchanged,
            replaced: None,
        });
    }
    let replaced = existing
        .annotations()
        .get(FINGERPRINT_ANNOTATION)
        .filter(|before| before.as_str() != fingerprint)
        .cloned();
    record(&update(api, name, &existing, &desired).await?);
    Ok(TargetOutcome::written(replaced))
}

/// The target Secret as found, or as this reconcile created it.
enum Existing {
    Created(Secret),
    Found(Secret),
    /// Someone else created it between our read and our write: theirs, not ours.
    Taken,
}

/// Reads the Secret `name`, creating `desired` when there is none. A BitbucketToken that never
/// rendered a Secret most likely has none: it creates first and reads only when that fails (saves
/// a read per new object; a Secret that exists answers 409 and is read).
async fn read_or_create(
    api: &Api<Secret>,
    owner: &BitbucketToken,
    name: &str,
    desired: &Secret,
) -> Result<Existing, Error> {
    if never_rendered(owner)
        && let Some(created) = create(api, desired).await?
    {
        return Ok(Existing::Created(created));
    }
    Ok(match api.get_opt(name).await.map_err(Error::ReadTarget)? {
        Some(existing) => Existing::Found(existing),
        None => match create(api, desired).await? {
            Some(created) => Existing::Created(created),
            None => Existing::Taken,
        },
    })
}

/// Brings our own `existing` Secret to `desired`: server-side apply, or delete and create when
/// the type changes (a Secret's type is immutable).
async fn update(
    api: &Api<Secret>,
    name: &str,
    existing: &Secret,
    desired: &Secret,
) -> Result<Secret, Error> {
    if existing.type_ != desired.type_ {
        api.delete(name, &DeleteParams::default())
            .await
            .map_err(Error::WriteTarget)?;
        return api
            .create(&create_params(), desired)
            .await
            .map_err(Error::WriteTarget);
    }
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(desired),
    )
    .await
    .map_err(Error::WriteTarget)
}

fn create_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    }
}

fn never_rendered(owner: &BitbucketToken) -> bool {
    owner
        .status
        .as_ref()
        .is_none_or(|status| status.secret_name.is_none())
}

/// Creates `desired`; `None` when a Secret of that name already exists.
async fn create(api: &Api<Secret>, desired: &Secret) -> Result<Option<Secret>, Error> {
    match api.create(&create_params(), desired).await {
        Ok(created) => Ok(Some(created)),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(None),
        Err(error) => Err(Error::WriteTarget(error)),
    }
}

/// True when `existing` has `desired`'s type and every key of its data with the same value (keys
/// someone else added are theirs to keep).
fn holds(existing: &Secret, desired: &Secret) -> bool {
    let have = existing.data.clone().unwrap_or_default();
    existing.type_ == desired.type_
        && desired
            .data
            .iter()
            .flatten()
            .all(|(key, value)| have.get(key) == Some(value))
}

/// True when `secret` was written for the BitbucketToken with `uid`.
pub fn belongs_to(secret: &Secret, uid: &str) -> bool {
    let by_annotation = secret
        .annotations()
        .get(OWNER_UID_ANNOTATION)
        .map(String::as_str)
        == Some(uid);
    let by_owner = secret
        .owner_references()
        .iter()
        .any(|r| r.uid == uid && r.controller == Some(true));
    by_annotation || by_owner
}

fn desired_secret(
    owner: &BitbucketToken,
    uid: &str,
    name: &str,
    rendered: RenderedSecret,
    fingerprint: &str,
) -> Secret {
    let target = owner.spec.target.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = target.labels.clone();
    labels.extend(rendered.labels);
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    let mut annotations: BTreeMap<String, String> = target.annotations.clone();
    annotations.extend(rendered.annotations);
    annotations.insert(OWNER_UID_ANNOTATION.into(), uid.to_string());
    annotations.insert(FINGERPRINT_ANNOTATION.into(), fingerprint.to_string());
    let owner_references = match target.deletion_policy {
        DeletionPolicy::Delete => owner_reference(owner).map(|r| vec![r]),
        DeletionPolicy::Retain => None,
    };
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: owner.namespace(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references,
            ..ObjectMeta::default()
        },
        type_: Some(rendered.type_),
        data: Some(
            rendered
                .data
                .into_iter()
                .map(|(key, value)| (key, ByteString(value.into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    }
}

fn owner_reference(owner: &BitbucketToken) -> Option<OwnerReference> {
    owner.controller_owner_ref(&())
}

/// A hash over everything written (type, data, labels, annotations, owner references).
/// JSON encodes each part unambiguously (text cannot move between a key and a value, or from
/// labels to annotations, without changing the encoding): 32 hex digits of its SHA-256.
fn content_hash(secret: &Secret) -> String {
    // Serializing a Secret into JSON cannot fail (string maps and byte strings only).
    let encoded = serde_json::to_vec(&(
        &secret.type_,
        &secret.data,
        &secret.metadata.labels,
        &secret.metadata.annotations,
        &secret.metadata.owner_references,
    ))
    .unwrap_or_default();
    crate::digest::sha256_hex(&encoded)[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_by_annotation_or_controller_reference() {
        let mut secret = Secret::default();
        assert!(!belongs_to(&secret, "u1"));
        secret
            .annotations_mut()
            .insert(OWNER_UID_ANNOTATION.into(), "u1".into());
        assert!(belongs_to(&secret, "u1"));
        assert!(!belongs_to(&secret, "u2"));
        let mut other = Secret::default();
        other.metadata.owner_references = Some(vec![OwnerReference {
            uid: "u2".into(),
            controller: Some(true),
            ..OwnerReference::default()
        }]);
        assert!(belongs_to(&other, "u2"));
    }

    #[test]
    fn content_hash_covers_every_written_part() {
        let pairs = |entries: &[(&str, &str)]| -> Option<BTreeMap<String, String>> {
            Some(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let base = Secret {
            type_: Some("Opaque".into()),
            data: Some([("username".to_string(), ByteString(b"x-token-auth".to_vec()))].into()),
            ..Secret::default()
        };
        let hash = content_hash(&base);
        assert_eq!(hash.len(), 32);
        assert_eq!(hash, content_hash(&base.clone()));

        let mut changed = Vec::new();
        let mut s = base.clone();
        s.type_ = Some("kubernetes.io/basic-auth".into());
        changed.push(s);
        let mut s = base.clone();
        s.data = Some([("usernamex".to_string(), ByteString(b"-token-auth".to_vec()))].into());
        changed.push(s);
        let mut s = base.clone();
        s.metadata.labels = pairs(&[("k", "v")]);
        changed.push(s.clone());
        let mut t = base.clone();
        t.metadata.annotations = pairs(&[("k", "v")]);
        assert_ne!(content_hash(&s), content_hash(&t), "labels vs annotations");
        changed.push(t);
        let mut s = base.clone();
        s.metadata.owner_references = Some(vec![OwnerReference::default()]);
        changed.push(s);
        for other in changed {
            assert_ne!(content_hash(&other), hash, "{other:?}");
        }
    }
}
