//! Build facts for `bitbucket-token-operator version`: the git commit the binary was built from
//! and the Kubernetes API version selected on k8s-openapi.
//!
//! - `BTO_BUILD_COMMIT`: `$BTO_BUILD_COMMIT` when set (a build without a checkout, e.g. a container
//!   build given the commit as an argument), else `git rev-parse --short=12 HEAD`, else `unknown`.
//! - `BTO_K8S_OPENAPI`: `<crate version> <major>.<minor>`, read from the `version` metadata
//!   k8s-openapi's build script publishes to its dependents (`DEP_K8S_OPENAPI_<ver>_VERSION`,
//!   `0x00MMmm00`), or `unknown`.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=BTO_BUILD_COMMIT");
    println!("cargo::rustc-env=BTO_BUILD_COMMIT={}", commit());
    println!("cargo::rustc-env=BTO_K8S_OPENAPI={}", k8s_openapi());
}

fn commit() -> String {
    if let Ok(commit) = std::env::var("BTO_BUILD_COMMIT")
        && !commit.trim().is_empty()
    {
        return commit.trim().to_string();
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it names, and packed refs. `--git-path`
    // resolves them in a linked worktree too.
    for path in ["HEAD", "packed-refs"] {
        if let Some(file) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo::rerun-if-changed={file}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(file) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo::rerun-if-changed={file}");
    }
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_string())
}

/// Runs git in the package directory; `None` when git is missing or fails (no checkout).
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(std::env::var_os("CARGO_MANIFEST_DIR")?)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

fn k8s_openapi() -> String {
    std::env::vars()
        .find_map(|(name, value)| {
            let crate_version = name
                .strip_prefix("DEP_K8S_OPENAPI_")?
                .strip_suffix("_VERSION")?
                .to_string();
            let encoded: u32 = value.trim().parse().ok()?;
            Some(format!(
                "{crate_version} {}.{}",
                (encoded >> 16) & 0xff,
                (encoded >> 8) & 0xff
            ))
        })
        .unwrap_or_else(|| "unknown unknown".to_string())
}
