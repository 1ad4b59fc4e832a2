//! Typed errors returned by the simulator's public API.

use std::path::PathBuf;

/// Everything that can go wrong while loading a fixture or starting/serving the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The fixture is internally inconsistent (duplicate token names, unknown users, ...).
    #[error("invalid fixture: {0}")]
    Fixture(String),
    /// The fixture file could not be read.
    #[error("could not read fixture file {path}: {source}")]
    FixtureIo {
        /// Path that was read.
        path: PathBuf,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The fixture file is not valid YAML for [`crate::Fixture`].
    #[error("could not parse fixture YAML: {0}")]
    FixtureYaml(#[from] serde_saphyr::Error),
    /// Generating the CA or the serving certificate failed.
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    /// Building the rustls server configuration failed.
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The listening socket could not be bound.
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// Requested port (0 = any).
        port: u16,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Preparing or serving the git repositories failed at the OS level.
    #[error("git: could not {what}: {source}")]
    GitIo {
        /// What was being done.
        what: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A git command used to prepare the repositories failed.
    #[error("`{command}` failed: {stderr}")]
    GitCommand {
        /// The command line (no secrets: repository set-up only).
        command: String,
        /// Its standard error.
        stderr: String,
    },
}
