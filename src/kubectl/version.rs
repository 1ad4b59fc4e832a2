//! `version`: the build and the APIs it speaks.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use kube::Resource;
use serde::Serialize;

use crate::api::BitbucketToken;

/// How `version` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum VersionOutput {
    #[default]
    Text,
    Json,
}

/// Print the version, the git commit of the build, and the Kubernetes and Bitbucket API versions
/// this build targets.
#[derive(Args, Debug, Clone)]
pub struct VersionArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = VersionOutput::Text)]
    pub output: VersionOutput,
}

/// What this build is and speaks.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: &'static str,
    /// Short git commit, or `unknown` for a build outside a git checkout.
    pub commit: &'static str,
    /// The Kubernetes minor version of the k8s-openapi API types compiled in (the oldest API
    /// server this build is made for).
    pub kubernetes_api: &'static str,
    pub k8s_openapi: &'static str,
    /// The BitbucketToken API version this build serves and reads.
    pub crd_api_version: String,
    /// Bitbucket Cloud REST API version.
    pub bitbucket_cloud_api: &'static str,
    /// Bitbucket Data Center REST API version and the release whose documentation it follows.
    pub bitbucket_data_center_api: &'static str,
}

/// The facts of this build (`BTO_BUILD_COMMIT` and `BTO_K8S_OPENAPI` come from build.rs).
pub fn build_info() -> BuildInfo {
    let (k8s_openapi, kubernetes_api) = env!("BTO_K8S_OPENAPI")
        .split_once(' ')
        .unwrap_or(("unknown", "unknown"));
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("BTO_BUILD_COMMIT"),
        kubernetes_api,
        k8s_openapi,
        crd_api_version: BitbucketToken::api_version(&()).into_owned(),
        bitbucket_cloud_api: "2.0",
        bitbucket_data_center_api: "1.0 (Bitbucket Data Center 9.2 REST API documentation)",
    }
}

/// The facts as text, ending with a newline.
pub fn text(info: &BuildInfo) -> String {
    format!(
        "bitbucket-token-operator {}\n\
         commit:                {}\n\
         Kubernetes API:        {} (k8s-openapi {})\n\
         BitbucketToken API:    {}\n\
         Bitbucket Cloud:       REST API {}\n\
         Bitbucket Data Center: REST API {}\n",
        info.version,
        info.commit,
        info.kubernetes_api,
        info.k8s_openapi,
        info.crd_api_version,
        info.bitbucket_cloud_api,
        info.bitbucket_data_center_api,
    )
}

/// Prints the facts.
pub fn run(args: &VersionArgs) -> ExitCode {
    let info = build_info();
    match args.output {
        VersionOutput::Text => print!("{}", text(&info)),
        VersionOutput::Json => match serde_json::to_string_pretty(&info) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        },
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_names_its_commit_and_apis() {
        let info = build_info();
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(!info.commit.is_empty());
        let (major, minor) = info.kubernetes_api.split_once('.').expect("1.x");
        assert_eq!(major, "1");
        assert!(minor.parse::<u32>().unwrap() >= 30, "{info:?}");
        assert!(
            info.crd_api_version
                .starts_with("bitbucket-token-operator.io/")
        );
        assert!(text(&info).contains("REST API 2.0"));
    }
}
