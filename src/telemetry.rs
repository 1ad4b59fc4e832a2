//! Logging: `tracing` to stderr, as text or JSON, filtered by a level or `EnvFilter` directive.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The filter directive is not valid.
#[derive(Debug, thiserror::Error)]
#[error("invalid log level {directive:?}: {source}")]
pub struct LogLevelError {
    directive: String,
    #[source]
    source: tracing_subscriber::filter::ParseError,
}

/// Installs the global subscriber. `level` is a level (`info`) or a filter (`kube=warn,info`).
pub fn init(level: &str, format: LogFormat) -> Result<(), LogLevelError> {
    let filter = EnvFilter::try_new(level).map_err(|source| LogLevelError {
        directive: level.to_string(),
        source,
    })?;
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
    };
    Ok(())
}
