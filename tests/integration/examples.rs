//! The samples in `examples/` stay honest: every file parses, every BitbucketToken and every core
//! object is accepted by the real API server (server-side dry run), and each consumer reads a
//! Secret that one of the sample BitbucketTokens renders, at the path it renders it for.

use crate::support;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use bitbucket_token_operator::api::BitbucketToken;
use serde_json::Value;
use support::{TestNamespace, client, ensure_crd, helm::parse_objects, kubectl};

fn example_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files = Vec::new();
    for dir in ["tokens", "consumers"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("examples dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every document of every example: its file, its YAML text (as kubectl will read it, octal
/// modes included) and its parsed form.
fn objects() -> Vec<(PathBuf, String, Value)> {
    example_files()
        .into_iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(&path).expect("read example");
            text.split("\n---\n")
                .filter_map(|doc| {
                    let object = parse_objects(doc).into_iter().next()?;
                    Some((path.clone(), doc.to_string(), object))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Secret names a consumer reads.
fn secrets_read(object: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let pod_spec = match object["kind"].as_str() {
        Some("Pod") => &object["spec"],
        Some("Job") => &object["spec"]["template"]["spec"],
        _ => &Value::Null,
    };
    for volume in pod_spec["volumes"].as_array().into_iter().flatten() {
        names.extend(volume["secret"]["secretName"].as_str().map(String::from));
    }
    for container in pod_spec["containers"].as_array().into_iter().flatten() {
        for source in container["envFrom"].as_array().into_iter().flatten() {
            names.extend(source["secretRef"]["name"].as_str().map(String::from));
        }
    }
    names.extend(
        object["spec"]["secretRef"]["name"]
            .as_str()
            .map(String::from),
    );
    if object["kind"] == "ServiceAccount" {
        for secret in object["secrets"].as_array().into_iter().flatten() {
            names.extend(secret["name"].as_str().map(String::from));
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn every_example_is_valid_and_consumers_read_rendered_secrets() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "examples").await;
    let objects = objects();
    assert!(objects.len() >= 10, "{} objects", objects.len());

    let mut tokens = Vec::new();
    for (path, yaml, object) in &objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        if kind == "BitbucketToken" {
            let token: BitbucketToken = serde_json::from_value(object.clone())
                .unwrap_or_else(|e| panic!("{}: not a BitbucketToken: {e}", path.display()));
            tokens.push(token);
        }
        // Core objects and BitbucketTokens go through the real API server's validation (the CEL
        // rules included); Flux, Argo CD and Tekton CRDs are not installed here.
        if ["BitbucketToken", "Pod", "Job", "ServiceAccount"].contains(&kind) {
            let dir = tempfile::tempdir().expect("temp dir");
            let file = dir.path().join("object.yaml");
            std::fs::write(&file, yaml).expect("write object");
            let output = kubectl(&[
                "apply",
                "--dry-run=server",
                "-n",
                &ns.name,
                "-f",
                file.to_str().expect("utf-8"),
            ]);
            assert!(
                output.status.success(),
                "{} ({kind}) rejected: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    let kinds: BTreeSet<String> = tokens
        .iter()
        .map(|t| t.spec.token.kind.as_str().to_string())
        .collect();
    for kind in [
        "RepositoryAccessToken",
        "ProjectAccessToken",
        "WorkspaceAccessToken",
        "APIToken",
        "AppPassword",
        "HTTPAccessToken",
    ] {
        assert!(kinds.contains(kind), "no example of {kind}: {kinds:?}");
    }

    let rendered: BTreeSet<String> = tokens
        .iter()
        .map(|t| {
            t.spec
                .target
                .as_ref()
                .and_then(|target| target.name.clone())
                .unwrap_or_else(|| format!("{}-git", t.metadata.name.as_deref().unwrap_or("")))
        })
        .collect();
    let mut consumers = 0;
    for (path, _, object) in &objects {
        for name in secrets_read(object) {
            consumers += 1;
            assert!(
                rendered.contains(&name),
                "{} reads Secret {name}, which no example BitbucketToken renders ({rendered:?})",
                path.display()
            );
        }
    }
    assert!(consumers >= 4, "{consumers} consumers found");

    // The Pod mounts the gitCredentials Secret where its BitbucketToken says it will be mounted.
    let mount_paths: BTreeSet<String> = tokens
        .iter()
        .filter_map(|t| t.spec.target.as_ref()?.mount_path.clone())
        .collect();
    let pod = objects
        .iter()
        .find(|(_, _, o)| o["kind"] == "Pod")
        .map(|(_, _, o)| o)
        .expect("a Pod example");
    let mounts: Vec<&str> = pod["spec"]["containers"][0]["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter_map(|m| m["mountPath"].as_str())
        .collect();
    assert!(
        mounts.iter().any(|m| mount_paths.contains(*m)),
        "{mounts:?} vs {mount_paths:?}"
    );
    ns.delete().await;
}
