//! Command-line interface: `run`, `crd`, and the commands for people of [`crate::kubectl`]
//! (`status`, `revalidate`, `check`, `completion`, `version`).

use clap::{Parser, Subcommand};

/// Kubernetes operator that checks Bitbucket tokens and renders git-credential Secrets.
#[derive(Parser, Debug)]
#[command(name = "bitbucket-token-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the operator against the cluster in the current kubeconfig or in-cluster config.
    Run(Box<crate::controller::RunArgs>),
    /// Print the BitbucketToken CustomResourceDefinition as YAML.
    Crd,
    #[command(flatten)]
    Person(crate::kubectl::PluginCommand),
}
