//! Completion after `kubectl bbt ` in kubectl's own shell completion. kubectl (1.26+) runs an
//! executable named `kubectl_complete-bbt` with the words typed after `kubectl bbt` (the last one
//! being completed, possibly empty) and reads Cobra's answer: one candidate per line, then
//! `:<directive>` (Cobra's `ShellCompDirective`; 4 = no file completion, 0 = the shell's default).
//! This binary answers when started under that name: commands, flags, flag values, and the names
//! of BitbucketTokens, namespaces and contexts from the cluster.

use std::{ffi::OsStr, path::Path, process::ExitCode};

use clap::CommandFactory;
use kube::{
    Api,
    api::{ListParams, PartialObjectMeta},
    config::Kubeconfig,
};

use super::{PluginCli, kubeconfig::ClusterArgs, object};

/// The executable name kubectl asks to complete `kubectl bbt`.
pub const COMPLETER_NAME: &str = "kubectl_complete-bbt";

/// Cobra's `ShellCompDirectiveNoFileComp`.
const NO_FILES: u8 = 4;
/// Cobra's `ShellCompDirectiveDefault` (the shell may complete file names).
const DEFAULT: u8 = 0;

/// True when the program was started as [`COMPLETER_NAME`].
pub fn invoked_as_completer(argv0: Option<&OsStr>) -> bool {
    argv0
        .and_then(|arg| Path::new(arg).file_name())
        .is_some_and(|name| name == COMPLETER_NAME)
}

/// What to offer for the last of `words`.
#[derive(Debug, PartialEq)]
enum Want {
    Candidates(Vec<String>),
    Tokens,
    Namespaces,
    Contexts,
    Files,
}

/// Prints the candidates for `words` in Cobra's format and exits 0.
pub fn run(words: &[String]) -> ExitCode {
    let current = words.last().map(String::as_str).unwrap_or_default();
    let (candidates, directive) = match want(words) {
        Want::Candidates(list) => (list, NO_FILES),
        Want::Files => (Vec::new(), DEFAULT),
        Want::Contexts => (contexts(words), NO_FILES),
        wanted => (from_cluster(words, &wanted), NO_FILES),
    };
    for candidate in candidates.iter().filter(|c| c.starts_with(current)) {
        println!("{candidate}");
    }
    println!(":{directive}");
    ExitCode::SUCCESS
}

fn want(words: &[String]) -> Want {
    let app = PluginCli::command();
    let current = words.last().map(String::as_str).unwrap_or_default();
    let Some(command) = words
        .first()
        .filter(|_| words.len() > 1)
        .and_then(|name| app.find_subcommand(name))
    else {
        return Want::Candidates(
            app.get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect(),
        );
    };
    if current.starts_with('-') {
        return Want::Candidates(
            command
                .get_arguments()
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .chain(["--help".to_string()])
                .collect(),
        );
    }
    let previous = words[words.len() - 2].as_str();
    if let Some(flag) = command.get_arguments().find(|a| {
        a.get_action().takes_values()
            && (a.get_long().is_some_and(|l| previous == format!("--{l}"))
                || a.get_short().is_some_and(|s| previous == format!("-{s}")))
    }) {
        return match flag.get_id().as_str() {
            "namespace" => Want::Namespaces,
            "context" => Want::Contexts,
            _ => match flag.get_possible_values() {
                values if values.is_empty() => Want::Files,
                values => Want::Candidates(values.iter().map(|v| v.get_name().into()).collect()),
            },
        };
    }
    let positionals = positionals(command, &words[1..words.len() - 1]);
    match command.get_name() {
        "status" | "revalidate" | "check" if positionals == 0 => Want::Tokens,
        "completion" if positionals == 0 => {
            Want::Candidates(["bash", "zsh", "fish"].map(String::from).to_vec())
        }
        _ => Want::Candidates(Vec::new()),
    }
}

/// How many positional arguments `words` (between the command and the word being completed)
/// hold: words that are neither flags nor the value of a flag.
fn positionals(command: &clap::Command, words: &[String]) -> usize {
    let takes_value = |word: &str| {
        command.get_arguments().any(|a| {
            a.get_action().takes_values()
                && (a.get_long().is_some_and(|l| word == format!("--{l}"))
                    || a.get_short().is_some_and(|s| word == format!("-{s}")))
        })
    };
    let mut count = 0;
    let mut skip = false;
    for word in words {
        if std::mem::take(&mut skip) {
            continue;
        }
        if word.starts_with('-') {
            skip = takes_value(word);
        } else {
            count += 1;
        }
    }
    count
}

/// The kubectl flags among `words` (`-n NS`, `--context=NAME`, ...).
fn cluster_args(words: &[String]) -> ClusterArgs {
    let mut args = ClusterArgs::default();
    let mut iter = words.iter().peekable();
    while let Some(word) = iter.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (word.as_str(), None),
        };
        let slot = match flag {
            "-n" | "--namespace" => &mut args.namespace,
            "--context" => &mut args.config.context,
            "--cluster" => &mut args.config.cluster,
            "--user" => &mut args.config.user,
            "--kubeconfig" => {
                let value = inline.or_else(|| iter.next().cloned());
                args.config.kubeconfig = value.map(Into::into);
                continue;
            }
            _ => continue,
        };
        *slot = inline.or_else(|| iter.next().cloned());
    }
    args
}

/// Context names of the kubeconfig the flags choose (the files of `$KUBECONFIG` merged).
fn contexts(words: &[String]) -> Vec<String> {
    let args = cluster_args(words);
    let kubeconfig = match &args.config.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok(),
        None => Kubeconfig::read().ok(),
    };
    kubeconfig
        .map(|k| k.contexts.into_iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

/// BitbucketToken or namespace names from the cluster; none when it cannot be asked.
fn from_cluster(words: &[String], wanted: &Want) -> Vec<String> {
    let args = cluster_args(words);
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime.block_on(async {
        let Ok(connection) = args.connect().await else {
            return Vec::new();
        };
        let params = ListParams::default();
        match wanted {
            Want::Namespaces => {
                let api: Api<k8s_openapi::api::core::v1::Namespace> =
                    Api::all(connection.client.clone());
                api.list_metadata(&params)
                    .await
                    .map(|list| names(list.items))
                    .unwrap_or_default()
            }
            _ => object::api(&connection.client, &connection.namespace)
                .list_metadata(&params)
                .await
                .map(|list| names(list.items))
                .unwrap_or_default(),
        }
    })
}

fn names<K>(items: Vec<PartialObjectMeta<K>>) -> Vec<String> {
    items.into_iter().filter_map(|o| o.metadata.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut words: Vec<String> = text.split(' ').map(String::from).collect();
        if text.is_empty() {
            words = vec![String::new()];
        }
        words
    }

    #[test]
    fn commands_flags_values_and_names() {
        let Want::Candidates(commands) = want(&words("")) else {
            panic!("commands")
        };
        assert!(commands.contains(&"status".to_string()));
        assert_eq!(want(&words("status ")), Want::Tokens);
        assert_eq!(want(&words("status -n ci ")), Want::Tokens);
        assert_eq!(want(&words("status payments ")), Want::Candidates(vec![]));
        assert_eq!(want(&words("status -n ")), Want::Namespaces);
        assert_eq!(want(&words("revalidate x --context ")), Want::Contexts);
        assert_eq!(want(&words("status x --kubeconfig ")), Want::Files);
        assert_eq!(
            want(&words("status x -o ")),
            Want::Candidates(vec!["text".into(), "json".into(), "yaml".into()])
        );
        let Want::Candidates(flags) = want(&words("check x --")) else {
            panic!("flags")
        };
        assert!(
            flags.contains(&"--allowed-dc-host".to_string()),
            "{flags:?}"
        );
        assert_eq!(
            want(&words("completion ")),
            Want::Candidates(vec!["bash".into(), "zsh".into(), "fish".into()])
        );
    }

    #[test]
    fn kubectl_flags_are_read_from_the_words() {
        let args = cluster_args(&words("status -n ci --context=prod --kubeconfig /k x"));
        assert_eq!(args.namespace.as_deref(), Some("ci"));
        assert_eq!(args.config.context.as_deref(), Some("prod"));
        assert_eq!(args.config.kubeconfig, Some("/k".into()));
    }
}
