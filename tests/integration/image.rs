//! The operator image the node runs (scripts/node-images.sh, no Docker) and the one the
//! Dockerfile builds must be the same image: user, entrypoint, command, port, OCI labels and
//! files. This reads what the Dockerfile declares and compares it with the OCI layout the script
//! writes. Needs umoci (scripts/install-node-packages.sh); no cluster.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The final stage of the Dockerfile: its instructions (keyword, arguments), line continuations
/// joined; plus every ARG default of the file.
struct Dockerfile {
    stages: Vec<Vec<(String, String)>>,
    args: BTreeMap<String, String>,
}

impl Dockerfile {
    fn read() -> Self {
        let text = std::fs::read_to_string(root().join("Dockerfile")).expect("read the Dockerfile");
        let joined = text.replace("\\\n", " ");
        let mut stages: Vec<Vec<(String, String)>> = Vec::new();
        let mut args = BTreeMap::new();
        for line in joined.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
            let keyword = keyword.to_uppercase();
            if keyword == "FROM" {
                stages.push(Vec::new());
            }
            if keyword == "ARG" {
                if let Some((name, value)) = rest.trim().split_once('=') {
                    args.insert(name.to_string(), value.to_string());
                } else {
                    args.entry(rest.trim().to_string()).or_default();
                }
            }
            if let Some(stage) = stages.last_mut() {
                stage.push((keyword, rest.trim().to_string()));
            }
        }
        Self { stages, args }
    }

    fn last(&self, keyword: &str) -> Option<String> {
        self.stages
            .last()?
            .iter()
            .rev()
            .find(|(k, _)| k == keyword)
            .map(|(_, v)| v.clone())
    }

    fn all(&self, keyword: &str) -> Vec<String> {
        self.stages
            .last()
            .map(|s| {
                s.iter()
                    .filter(|(k, _)| k == keyword)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `LABEL k="v" k2="v2"` pairs of the final stage, `${VERSION}` resolved from the ARG defaults.
    fn labels(&self) -> BTreeMap<String, String> {
        let re = regex_lite::Regex::new(r#"([A-Za-z0-9._-]+)="([^"]*)""#).expect("regex");
        let mut labels = BTreeMap::new();
        for line in self.all("LABEL") {
            for c in re.captures_iter(&line) {
                let mut value = c[2].to_string();
                for (name, default) in &self.args {
                    value = value.replace(&format!("${{{name}}}"), default);
                }
                labels.insert(c[1].to_string(), value);
            }
        }
        labels
    }
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).expect("exec-form JSON array")
}

/// Builds the operator image with the project's script from the test binary's operator build
/// into an OCI layout; returns the layout folder (kept in a temp dir).
fn build_layout(dir: &Path) -> PathBuf {
    let layout = dir.join("oci");
    let output = Command::new("bash")
        .arg(root().join("scripts/node-images.sh"))
        .args([
            "operator",
            env!("CARGO_BIN_EXE_bitbucket-token-operator"),
            "compare",
        ])
        .arg(&layout)
        // no node here: nothing to import into
        .env("BTO_STATE_DIR", dir.join("no-cluster"))
        .output()
        .expect("run scripts/node-images.sh");
    assert!(
        output.status.success(),
        "node-images.sh operator failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    layout
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    let (algorithm, hex) = digest.split_once(':').expect("algorithm:hex");
    layout.join("blobs").join(algorithm).join(hex)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read blob")).expect("JSON")
}

/// (image config, files of the single layer) of the layout's one image.
fn image(layout: &Path) -> (Value, BTreeSet<String>) {
    let index = read_json(&layout.join("index.json"));
    let manifest = read_json(&blob(
        layout,
        index["manifests"][0]["digest"].as_str().expect("digest"),
    ));
    let config = read_json(&blob(
        layout,
        manifest["config"]["digest"].as_str().expect("digest"),
    ));
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "one layer, like a COPY onto distroless");
    let listing = Command::new("tar")
        .arg("-tzvf")
        .arg(blob(layout, layers[0]["digest"].as_str().expect("digest")))
        .output()
        .expect("run tar");
    assert!(listing.status.success());
    let files = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches("./").to_string())
        .collect();
    (config, files)
}

#[test]
fn dockerfile_builds_on_debian_13_for_the_target_architecture() {
    let dockerfile = Dockerfile::read();
    assert_eq!(
        dockerfile.args.get("DEBIAN_RELEASE").map(String::as_str),
        Some("trixie")
    );
    let froms: Vec<String> = dockerfile.stages.iter().map(|s| s[0].1.clone()).collect();
    assert!(
        froms[0].contains("rust:${RUST_VERSION}-${DEBIAN_RELEASE}"),
        "{froms:?}"
    );
    assert!(
        froms[0].contains("--platform=$BUILDPLATFORM"),
        "the builder cross-compiles: {froms:?}"
    );
    assert_eq!(
        froms.last().map(String::as_str),
        Some("gcr.io/distroless/cc-debian13:nonroot")
    );
    assert!(
        dockerfile.args.contains_key("TARGETARCH"),
        "multi-arch build argument"
    );
    let version = std::fs::read_to_string(root().join("Cargo.toml"))
        .expect("Cargo.toml")
        .lines()
        .find_map(|l| {
            l.strip_prefix("version = \"")
                .map(|v| v.trim_end_matches('"').to_string())
        })
        .expect("crate version");
    assert_eq!(
        dockerfile.args.get("VERSION"),
        Some(&version),
        "the image version label follows the crate"
    );
}

#[test]
fn the_script_built_image_matches_the_dockerfile() {
    let dockerfile = Dockerfile::read();
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, files) = image(&build_layout(dir.path()));
    let c = &config["config"];

    assert_eq!(c["User"], dockerfile.last("USER").expect("USER").as_str());
    let entrypoint = json_list(&dockerfile.last("ENTRYPOINT").expect("ENTRYPOINT"));
    assert_eq!(c["Entrypoint"], serde_json::json!(entrypoint));
    let cmd = json_list(&dockerfile.last("CMD").expect("CMD"));
    assert_eq!(c["Cmd"], serde_json::json!(cmd));
    let port = format!("{}/tcp", dockerfile.last("EXPOSE").expect("EXPOSE"));
    assert!(
        c["ExposedPorts"].get(&port).is_some(),
        "{port} in {}",
        c["ExposedPorts"]
    );
    let labels: BTreeMap<String, String> =
        serde_json::from_value(c["Labels"].clone()).expect("labels");
    assert_eq!(labels, dockerfile.labels(), "OCI labels");
    assert_eq!(
        config["architecture"],
        std::env::consts::ARCH
            .replace("x86_64", "amd64")
            .replace("aarch64", "arm64")
    );

    // The binary where the Dockerfile copies it, and what distroless/cc:nonroot provides.
    let copy = dockerfile.last("COPY").expect("COPY");
    let target = copy
        .split_whitespace()
        .last()
        .expect("destination")
        .trim_start_matches('/');
    assert_eq!(target, entrypoint[0].trim_start_matches('/'));
    for file in [
        target,
        "etc/ssl/certs/ca-certificates.crt",
        "etc/passwd",
        "etc/group",
    ] {
        assert!(files.contains(file), "{file} missing: {files:?}");
    }
    // Nothing else: only the C runtime the binary links (libc, libm, libgcc_s, the loader).
    let extra: Vec<&String> = files
        .iter()
        .filter(|f| {
            ![
                target,
                "etc/ssl/certs/ca-certificates.crt",
                "etc/passwd",
                "etc/group",
            ]
            .contains(&f.as_str())
        })
        .filter(|f| !(f.starts_with("lib") && f.contains(".so")))
        .collect();
    assert!(
        extra.is_empty(),
        "files distroless would not have: {extra:?}"
    );
}

#[test]
fn the_script_built_image_runs_as_nonroot_65532() {
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = build_layout(dir.path());
    let (_, files) = image(&layout);
    assert!(files.contains("etc/passwd"));
    // Unpack the layer and read the user database the runtime resolves the user against.
    let index = read_json(&layout.join("index.json"));
    let manifest = read_json(&blob(
        &layout,
        index["manifests"][0]["digest"].as_str().expect("digest"),
    ));
    let out = dir.path().join("rootfs");
    std::fs::create_dir_all(&out).expect("mkdir");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(blob(
            &layout,
            manifest["layers"][0]["digest"].as_str().expect("digest"),
        ))
        .arg("-C")
        .arg(&out)
        .args(["--wildcards", "*etc/passwd"])
        .status()
        .expect("tar");
    assert!(status.success());
    let passwd = std::fs::read_to_string(out.join("etc/passwd")).expect("passwd");
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:")),
        "{passwd}"
    );
}
