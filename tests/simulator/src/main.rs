//! `bitbucket-simulator --fixture <yaml> [--port N] [--listen-address IP] [--state-dir DIR]`: runs the
//! simulator for a demo, writes `ca.pem` and `urls.env` into the state directory and
//! serves the `/_sim/` control API until SIGTERM or Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bitbucket_simulator::{Fixture, Simulator};
use clap::Parser;

/// Bitbucket Cloud + Data Center simulator (HTTPS, own CA).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Fixture YAML describing workspaces, projects, users and tokens.
    #[arg(long)]
    fixture: PathBuf,
    /// Port on 127.0.0.1 (overrides the fixture's `port`; default: any free port).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on instead of 127.0.0.1 (e.g. the node's pod bridge address, so that
    /// pods reach the simulator); URLs and the certificate then name it.
    #[arg(long)]
    listen_address: Option<std::net::Ipv4Addr>,
    /// Directory that receives `ca.pem` and `urls.env`.
    #[arg(long, default_value = ".")]
    state_dir: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bitbucket-simulator: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut fixture = Fixture::from_yaml_file(&args.fixture)?;
    if args.port.is_some() {
        fixture.port = args.port;
    }
    if args.listen_address.is_some() {
        fixture.listen_address = args.listen_address;
    }
    let simulator = Simulator::start(fixture).await?;
    write_state(&args.state_dir, &simulator)?;
    println!("CLOUD_API_URL={}", simulator.cloud_api_url());
    println!("DC_BASE_URL={}", simulator.dc_base_url());
    println!("CA_PEM={}", args.state_dir.join("ca.pem").display());
    wait_for_signal().await?;
    simulator.shutdown().await;
    Ok(())
}

fn write_state(dir: &Path, simulator: &Simulator) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("ca.pem"), simulator.ca_pem())?;
    std::fs::write(
        dir.join("urls.env"),
        format!(
            "CLOUD_API_URL={}\nDC_BASE_URL={}\n",
            simulator.cloud_api_url(),
            simulator.dc_base_url()
        ),
    )
}

async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
