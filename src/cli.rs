//! Command-line interface: `run`, `crd` and `check`.

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
    /// Check one token with Bitbucket from a terminal and print a verdict.
    #[command(after_help = crate::check::EXIT_CODES_HELP)]
    Check(Box<crate::check::CheckArgs>),
}
