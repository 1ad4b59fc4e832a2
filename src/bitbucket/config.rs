//! Settings of the Bitbucket client, shared by `run` and `check`.

use std::time::Duration;

use super::backoff::Backoff;

/// Bitbucket Cloud's REST API.
pub const CLOUD_API_URL: &str = "https://api.bitbucket.org/2.0";

/// How the client talks to Bitbucket.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Cloud REST API base (tests point it at the simulator); parsed when the client is built.
    pub cloud_api_url: String,
    /// Requests per second per Bitbucket host.
    pub requests_per_second: f64,
    /// Time allowed to open a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time allowed for one request, body included.
    pub request_timeout: Duration,
    /// Attempts per request for transient failures (1 = no retry).
    pub max_attempts: u32,
    /// Waits between those attempts.
    pub backoff: Backoff,
    /// A `Retry-After` up to this long is waited out in place; a longer one ends the check as
    /// rate-limited and the caller schedules the next one.
    pub max_inline_retry_after: Duration,
    /// Extra PEM roots trusted for every host (e.g. a corporate TLS-inspecting proxy).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Data Center hosts (`host` or `host:port`) a token may be sent to; `None` allows any (the
    /// `check` command, where the person typed the URL themselves).
    pub allowed_dc_hosts: Option<Vec<String>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            cloud_api_url: CLOUD_API_URL.to_string(),
            requests_per_second: 5.0,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_attempts: 3,
            backoff: Backoff::default(),
            max_inline_retry_after: Duration::from_secs(10),
            extra_ca_pem: None,
            allowed_dc_hosts: None,
        }
    }
}

/// The User-Agent every request carries.
pub fn user_agent() -> String {
    format!("bitbucket-token-operator/{}", env!("CARGO_PKG_VERSION"))
}
