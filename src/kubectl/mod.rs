//! The commands for a person at a terminal: `status`, `revalidate`, `check`, `completion` and
//! `version`. They are subcommands of `bitbucket-token-operator`, and the top-level commands when
//! the binary runs as the kubectl plugin `kubectl-bbt` (`kubectl bbt status NAME`): kubectl runs
//! any executable named `kubectl-<name>` on PATH for `kubectl <name>`.

pub(crate) mod check;
pub(crate) mod check_command;
pub(crate) mod check_report;
pub(crate) mod completion;
pub(crate) mod consumers;
pub(crate) mod error;
pub(crate) mod exit;
pub(crate) mod human_time;
pub(crate) mod kubeconfig;
pub(crate) mod object;
pub mod plugin_completion;
pub(crate) mod revalidate;
pub(crate) mod status;
pub(crate) mod status_report;
pub(crate) mod status_text;
pub(crate) mod version;

use std::{ffi::OsStr, path::Path, process::ExitCode};

use clap::{Parser, Subcommand};

pub use check_command::CheckCommand;

/// The executable name kubectl looks for to run `kubectl bbt`.
pub const PLUGIN_NAME: &str = "kubectl-bbt";

/// `kubectl bbt`: the BitbucketToken operator's commands for people.
#[derive(Parser, Debug)]
#[command(
    name = PLUGIN_NAME,
    bin_name = "kubectl bbt",
    version,
    about = "BitbucketTokens from a terminal: status, revalidate and check against the cluster"
)]
pub struct PluginCli {
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The commands for a person at a terminal.
#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Show a BitbucketToken as the cluster sees it: conditions, identity, scopes, expiry,
    /// validations and failures, the rendered Secret's keys and their consumers, recent Events.
    #[command(after_help = exit::STATUS_HELP)]
    Status(status::StatusArgs),
    /// Ask the operator to check a BitbucketToken with Bitbucket now; --wait prints its verdict.
    #[command(after_help = exit::REVALIDATE_HELP)]
    Revalidate(revalidate::RevalidateArgs),
    /// Check a token with Bitbucket from this machine and print a verdict: a BitbucketToken of
    /// the cluster (NAME), or a spec typed out as flags.
    #[command(after_help = exit::CHECK_HELP)]
    Check(Box<CheckCommand>),
    /// Print a shell completion script (bash, zsh or fish).
    Completion(completion::CompletionArgs),
    /// Print the version, the git commit, and the Kubernetes and Bitbucket API versions.
    Version(version::VersionArgs),
}

/// True when the program was started under the plugin's name (`kubectl-bbt`, also through a
/// symlink).
pub fn invoked_as_plugin(argv0: Option<&OsStr>) -> bool {
    argv0
        .and_then(|arg| Path::new(arg).file_name())
        .is_some_and(|name| name == PLUGIN_NAME)
}

/// Runs one command. `app` is the clap command it was parsed with and `bin_name` the name to
/// complete, for `completion`.
pub fn run(command: PluginCommand, app: clap::Command, bin_name: &str) -> ExitCode {
    match command {
        PluginCommand::Completion(args) => completion::run(&args, app, bin_name),
        PluginCommand::Version(args) => version::run(&args),
        PluginCommand::Check(args) => match *args {
            CheckCommand::Flags(args) => block_on(crate::check::run(*args)),
            CheckCommand::Cluster(args) => block_on(check::run(*args)),
        },
        PluginCommand::Status(args) => block_on(status::run(args)),
        PluginCommand::Revalidate(args) => block_on(revalidate::run(args)),
    }
}

fn block_on(future: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(future),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_plugin_name_is_recognised_through_any_path() {
        assert!(invoked_as_plugin(Some(OsStr::new("kubectl-bbt"))));
        assert!(invoked_as_plugin(Some(OsStr::new(
            "/usr/local/bin/kubectl-bbt"
        ))));
        assert!(!invoked_as_plugin(Some(OsStr::new(
            "bitbucket-token-operator"
        ))));
        assert!(!invoked_as_plugin(None));
    }

    #[test]
    fn every_cluster_command_names_its_exit_codes() {
        let mut app = PluginCli::command();
        for name in ["status", "revalidate", "check"] {
            let help = app
                .find_subcommand_mut(name)
                .unwrap()
                .render_long_help()
                .to_string();
            for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "64 "] {
                assert!(
                    help.contains(&format!("\n  {code}")),
                    "{name} --help lacks exit code {code}:\n{help}"
                );
            }
        }
        app.debug_assert();
    }
}
