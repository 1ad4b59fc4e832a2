//! `completion bash|zsh|fish`: a shell completion script for the command as it was invoked
//! (`bitbucket-token-operator`, or `kubectl-bbt` as a kubectl plugin), from clap_complete.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

/// The shells a completion script is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

impl From<CompletionShell> for Shell {
    fn from(shell: CompletionShell) -> Self {
        match shell {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
        }
    }
}

/// Print a shell completion script, e.g. `source <(kubectl-bbt completion bash)` in ~/.bashrc.
#[derive(Args, Debug, Clone)]
pub struct CompletionArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The completion script of `command` for `shell`, completing `bin_name`.
pub fn script(shell: CompletionShell, mut command: clap::Command, bin_name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(Shell::from(shell), &mut command, bin_name, &mut out);
    out
}

/// Writes the script to standard output.
pub fn run(args: &CompletionArgs, command: clap::Command, bin_name: &str) -> ExitCode {
    use std::io::Write;
    let text = script(args.shell, command, bin_name);
    match std::io::stdout().write_all(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot write the script: {error}");
            ExitCode::FAILURE
        }
    }
}
