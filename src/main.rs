use std::process::ExitCode;

use bitbucket_token_operator::{
    check,
    cli::{Cli, Command},
    controller, crdgen,
};
use clap::Parser;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version are not errors; bad flags exit like any other bad input.
            if !error.use_stderr() {
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            let args: Vec<String> = std::env::args().collect();
            if check::wants_json(&args) {
                let text = error.render().to_string();
                return check::bad_input(text.trim(), check::OutputFormat::Json);
            }
            let _ = error.print();
            return ExitCode::from(check::EXIT_BAD_INPUT);
        }
    };
    match cli.command {
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
        Command::Check(args) => match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime.block_on(check::run(*args)),
            Err(error) => {
                eprintln!("error: cannot start the async runtime: {error}");
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
