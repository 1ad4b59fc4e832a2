use std::process::ExitCode;

use bitbucket_token_operator::{
    check,
    cli::{Cli, Command},
    controller, crdgen, kubectl,
};
use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    let argv0 = std::env::args_os().next();
    if kubectl::plugin_completion::invoked_as_completer(argv0.as_deref()) {
        let words: Vec<String> = std::env::args().skip(1).collect();
        return kubectl::plugin_completion::run(&words);
    }
    if kubectl::invoked_as_plugin(argv0.as_deref()) {
        return match parse::<kubectl::PluginCli>() {
            Ok(cli) => kubectl::run(
                cli.command,
                kubectl::PluginCli::command(),
                kubectl::PLUGIN_NAME,
            ),
            Err(code) => code,
        };
    }
    let cli = match parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Person(command) => {
            kubectl::run(command, Cli::command(), "bitbucket-token-operator")
        }
        Command::Crd => match crdgen::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Run(args) => match tokio::runtime::Runtime::new() {
            Ok(runtime) => match runtime.block_on(controller::run(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            },
            Err(error) => {
                eprintln!("error: cannot start the async runtime: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Parses the command line; help and version print and exit 0, bad flags exit 64 (as JSON for
/// `check --output json`).
fn parse<P: Parser>() -> Result<P, ExitCode> {
    match P::try_parse() {
        Ok(cli) => Ok(cli),
        Err(error) => {
            // Help and version are not errors; bad flags exit like any other bad input.
            if !error.use_stderr() {
                let _ = error.print();
                return Err(ExitCode::SUCCESS);
            }
            let args: Vec<String> = std::env::args().collect();
            if check::wants_json(&args) {
                let text = error.render().to_string();
                return Err(check::bad_input(text.trim(), check::OutputFormat::Json));
            }
            let _ = error.print();
            Err(ExitCode::from(check::EXIT_BAD_INPUT))
        }
    }
}
