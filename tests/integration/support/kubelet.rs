//! A Secret as a pod sees it: laid out like kubelet's Secret volume (each key a file behind the
//! `..data` symlink of an atomic-writer directory, with the volume's file mode), or as the
//! environment variables `envFrom: secretRef` would set.

use std::{
    collections::BTreeMap,
    os::unix::fs::{PermissionsExt, symlink},
    path::Path,
};

use k8s_openapi::{ByteString, api::core::v1::Secret};

/// The Secret's data, decoded (the API server returns it base64-decoded into bytes already).
pub fn secret_data(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, ByteString(v))| (k, String::from_utf8(v).expect("utf-8 Secret value")))
        .collect()
}

/// Writes every key into `dir` as kubelet does for a Secret volume: the files live in a
/// timestamped directory, `..data` points at it and each key is a symlink `key -> ..data/key`.
/// `mode` is the volume's `defaultMode` (0644 unless set; 0400 is common for credentials).
pub fn mount_secret(secret: &Secret, dir: &Path, mode: u32) {
    mount_secret_for(secret, dir, mode, None)
}

/// Like [`mount_secret`] for a pod with `securityContext.fsGroup`: kubelet then gives every file
/// that group and adds group read (`mode | 0440`, the volume is read-only), so a non-root
/// `runAsUser` in that group can read it. Without `fsGroup` the files stay root-owned with
/// `mode` exactly (Kubernetes `SetVolumeOwnership`). Files are owned by root either way.
pub fn mount_secret_for(secret: &Secret, dir: &Path, mode: u32, fs_group: Option<u32>) {
    let mode = if fs_group.is_some() {
        mode | 0o440
    } else {
        mode
    };
    let payload = dir.join("..2026_01_01_00_00_00.000000001");
    std::fs::create_dir_all(&payload).expect("create the payload directory");
    for (key, value) in secret_data(secret) {
        let file = payload.join(&key);
        std::fs::write(&file, value).expect("write a Secret key");
        std::os::unix::fs::chown(&file, Some(0), fs_group.or(Some(0))).expect("chown a key");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
            .expect("set the file mode");
        symlink(Path::new("..data").join(&key), dir.join(&key)).expect("link the key");
    }
    symlink(payload.file_name().expect("name"), dir.join("..data")).expect("link ..data");
    std::fs::set_permissions(&payload, std::fs::Permissions::from_mode(0o555))
        .expect("make the payload read-only");
}

/// The variables `envFrom: [{secretRef: {name}}]` sets: every key that is a valid variable name.
pub fn env_from_secret(secret: &Secret) -> Vec<(String, String)> {
    secret_data(secret)
        .into_iter()
        .filter(|(k, _)| {
            !k.is_empty()
                && !k.starts_with(|c: char| c.is_ascii_digit())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect()
}
