use std::process::ExitCode;

use bitbucket_token_operator::{
    cli::{Cli, Command},
    crdgen,
};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Command::Run(_) | Command::Check => {
            eprintln!("error: this subcommand is not implemented yet");
            ExitCode::from(2)
        }
    }
}
