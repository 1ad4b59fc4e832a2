//! The command line of `check`: either `check NAME` (a BitbucketToken in the cluster, the token
//! read with the caller's own kubeconfig) or the flags of [`CheckArgs`] (the spec typed out).
//!
//! One clap command serves both: [`CheckArgs`]' own flags, plus NAME and the kubeconfig flags.
//! With NAME, `--kind` and `--token-file` are not required and the spec flags are refused.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::kubeconfig::ClusterArgs;
use crate::check::{CheckArgs, OutputFormat};

/// Flags of [`CheckArgs`] that describe the token; with NAME the cluster's spec says these.
const SPEC_FLAGS: [&str; 10] = [
    "kind",
    "server_url",
    "workspace",
    "project",
    "repositories",
    "permission",
    "email",
    "username",
    "token_file",
    "expires_at",
];

/// Flags that only make sense with NAME.
const CLUSTER_FLAGS: [&str; 6] = [
    "namespace",
    "kubeconfig",
    "context",
    "cluster",
    "user",
    "allowed_dc_hosts",
];

/// `check NAME`: check a BitbucketToken of the cluster from this machine.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterCheckArgs {
    /// Name of the BitbucketToken.
    pub name: String,
    pub cluster: ClusterArgs,
    pub output: OutputFormat,
    pub timeout_seconds: u64,
    pub cloud_api_url: String,
    /// PEM roots trusted besides the system's (a proxy's CA for Cloud; the Data Center CA when
    /// the spec names no `caBundleSecretRef`).
    pub ca_file: Option<PathBuf>,
    /// Data Center hosts the caller allows the token to be sent to, besides the one the operator
    /// already accepted for this spec.
    pub allowed_dc_hosts: Vec<String>,
}

/// Either form of `check`.
#[derive(Debug, Clone)]
pub enum CheckCommand {
    /// `check NAME`.
    Cluster(Box<ClusterCheckArgs>),
    /// `check --kind ... --token-file ...`.
    Flags(Box<CheckArgs>),
}

impl Args for CheckCommand {
    fn augment_args(cmd: Command) -> Command {
        let cmd = ClusterArgs::augment_args(CheckArgs::augment_args(cmd));
        let cmd = cmd
            .arg(
                Arg::new("name")
                    .value_name("NAME")
                    .help("A BitbucketToken in the cluster: check it with its own spec and token Secret, read with your kubeconfig's permissions (instead of the flags below)")
                    .conflicts_with_all(SPEC_FLAGS),
            )
            .arg(
                Arg::new("allowed_dc_hosts")
                    .long("allowed-dc-host")
                    .value_name("HOST[:PORT]")
                    .action(ArgAction::Append)
                    .help("With NAME: a Data Center host you allow the token to be sent to although the operator has not accepted it for this spec (repeatable)"),
            )
            .mut_arg("kind", |a| a.required(false).required_unless_present("name"))
            .mut_arg("token_file", |a| {
                a.required(false).required_unless_present("name")
            })
            .mut_arg("output", |a| a.short('o'));
        let cmd = SPEC_FLAGS.iter().fold(cmd, |cmd, id| {
            cmd.mut_arg(*id, |a| a.help_heading("Token spec (without NAME)"))
        });
        CLUSTER_FLAGS.iter().fold(cmd, |cmd, id| {
            cmd.mut_arg(*id, |a| {
                a.conflicts_with_all(SPEC_FLAGS)
                    .help_heading("The BitbucketToken in the cluster (with NAME)")
            })
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for CheckCommand {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let Some(name) = matches.get_one::<String>("name") else {
            return Ok(CheckCommand::Flags(Box::new(CheckArgs::from_arg_matches(
                matches,
            )?)));
        };
        Ok(CheckCommand::Cluster(Box::new(ClusterCheckArgs {
            name: name.clone(),
            cluster: ClusterArgs::from_arg_matches(matches)?,
            output: matches
                .get_one::<OutputFormat>("output")
                .copied()
                .unwrap_or(OutputFormat::Text),
            timeout_seconds: matches
                .get_one::<u64>("timeout_seconds")
                .copied()
                .unwrap_or(15),
            cloud_api_url: matches
                .get_one::<String>("cloud_api_url")
                .cloned()
                .unwrap_or_else(|| crate::bitbucket::CLOUD_API_URL.to_string()),
            ca_file: matches.get_one::<PathBuf>("ca_file").cloned(),
            allowed_dc_hosts: matches
                .get_many::<String>("allowed_dc_hosts")
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        })))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Test {
        #[command(flatten)]
        check: CheckCommand,
    }

    fn parse(args: &[&str]) -> Result<CheckCommand, clap::Error> {
        Test::try_parse_from(std::iter::once("check").chain(args.iter().copied())).map(|t| t.check)
    }

    #[test]
    fn a_name_reads_the_cluster() {
        let Ok(CheckCommand::Cluster(args)) = parse(&[
            "payments",
            "-n",
            "ci",
            "--context",
            "prod",
            "-o",
            "json",
            "--allowed-dc-host",
            "git.example.com",
        ]) else {
            panic!("not the cluster form");
        };
        assert_eq!(args.name, "payments");
        assert_eq!(args.cluster.namespace.as_deref(), Some("ci"));
        assert_eq!(args.cluster.config.context.as_deref(), Some("prod"));
        assert_eq!(args.output, OutputFormat::Json);
        assert_eq!(args.allowed_dc_hosts, ["git.example.com"]);
        assert_eq!(args.timeout_seconds, 15);
    }

    #[test]
    fn flags_still_check_a_typed_spec() {
        let parsed = parse(&[
            "--kind",
            "RepositoryAccessToken",
            "--workspace",
            "acme",
            "--repository",
            "payments",
            "--token-file",
            "-",
        ]);
        assert!(matches!(parsed, Ok(CheckCommand::Flags(_))), "{parsed:?}");
    }

    #[test]
    fn a_name_and_spec_flags_or_cluster_flags_alone_are_refused() {
        let both = parse(&["payments", "--kind", "RepositoryAccessToken"]).unwrap_err();
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
        let namespace_alone = parse(&[
            "-n",
            "ci",
            "--kind",
            "RepositoryAccessToken",
            "--token-file",
            "-",
        ])
        .unwrap_err();
        assert_eq!(
            namespace_alone.kind(),
            clap::error::ErrorKind::ArgumentConflict
        );
        let nothing = parse(&[]).unwrap_err();
        assert_eq!(
            nothing.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }
}
