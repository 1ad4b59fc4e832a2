//! `make bench`: how far bitbucket-token-operator scales on the real control plane.
//!
//! For each N it creates N BitbucketTokens (and their source Secrets) against a dedicated control
//! plane with an audit log, runs the release operator binary against the in-repo Bitbucket
//! simulator, and measures time to all Ready, the operator's peak RSS and CPU, its API requests by
//! verb (from the audit log) and its Bitbucket calls; then the same N with a baseline that only
//! makes the unavoidable writes. It also measures steady state over a few validation intervals and
//! memory with many unrelated Secrets, and writes `bench/RESULTS.md` and `bench/results.png`.

mod audit;
mod baseline;
mod cluster;
mod error;
mod objects;
mod operator;
mod plot;
mod process;
mod report;
mod scenarios;
mod world;

use std::path::PathBuf;

use clap::Parser;

pub use error::{BenchError, Result};

/// Command-line options.
#[derive(Debug, Clone, Parser)]
#[command(about = "Scale benchmark of bitbucket-token-operator on the real control plane")]
pub struct Args {
    /// Numbers of BitbucketTokens to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000,10000")]
    pub sizes: Vec<usize>,
    /// BitbucketTokens per distinct Bitbucket token (objects sharing one token share one check).
    #[arg(long, default_value_t = 10)]
    pub objects_per_token: usize,
    /// Tokens in the steady-state run (0 skips it).
    #[arg(long, default_value_t = 1000)]
    pub steady_size: usize,
    /// Validation intervals observed in steady state (each 1 minute, the CRD's minimum).
    #[arg(long, default_value_t = 3)]
    pub steady_intervals: u32,
    /// Unrelated 1 KiB Secrets for the memory run (0 skips it).
    #[arg(long, default_value_t = 20_000)]
    pub unrelated_secrets: usize,
    /// The operator binary (a release build).
    #[arg(long, default_value = "target/release/bitbucket-token-operator")]
    pub operator: PathBuf,
    /// Where the results table goes.
    #[arg(long, default_value = "bench/RESULTS.md")]
    pub results: PathBuf,
    /// Where the plot goes.
    #[arg(long, default_value = "bench/results.png")]
    pub plot: PathBuf,
    /// The operator's --log-level (its log goes to $TMPDIR/bto-bench-operator-<namespace>.log).
    #[arg(long, default_value = "warn")]
    pub operator_log_level: String,
    /// Writes in flight while creating objects (the benchmark's own client).
    #[arg(long, default_value_t = 32)]
    pub create_concurrency: usize,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match scenarios::run_all(&args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bto-bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
