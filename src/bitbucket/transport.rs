//! Sending one GET to Bitbucket: TLS roots, proxy, timeouts, pacing, retries, and turning every
//! failure that says nothing about the token into a [`Transient`].

use std::{
    collections::HashMap,
    error::Error as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::{StatusCode, header::HeaderMap};
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    config::{ClientConfig, user_agent},
    credential::Credential,
    limiter::HostLimiter,
    observe::Observer,
    outcome::Transient,
};

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the CA bundle is not valid PEM: {0}")]
    InvalidCaBundle(#[source] reqwest::Error),
    #[error("the CA bundle holds no certificate")]
    EmptyCaBundle,
    #[error("cannot build the HTTPS client: {0}")]
    Build(#[source] reqwest::Error),
    #[error("invalid URL {url:?}: {source}")]
    InvalidUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
}

/// An answer from Bitbucket that is not a transport failure (any status but 429 and 5xx).
#[derive(Clone, Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl ApiResponse {
    /// A header as text, when present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Shared HTTPS clients (one per extra CA bundle) and the per-host limiter.
#[derive(Clone)]
pub struct Transport {
    config: Arc<ClientConfig>,
    default_client: reqwest::Client,
    clients_by_ca: Arc<Mutex<HashMap<[u8; 32], reqwest::Client>>>,
    limiter: HostLimiter,
    observer: Observer,
}

impl Transport {
    pub fn new(config: ClientConfig, observer: Observer) -> Result<Self, ClientError> {
        let default_client = build_client(&config, None)?;
        Ok(Self {
            observer,
            limiter: HostLimiter::new(config.requests_per_second),
            config: Arc::new(config),
            default_client,
            clients_by_ca: Arc::default(),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn limiter(&self) -> &HostLimiter {
        &self.limiter
    }

    /// The client trusting the platform roots plus `ca_pem` (a Data Center server's private CA).
    pub fn client_for(&self, ca_pem: Option<&[u8]>) -> Result<reqwest::Client, ClientError> {
        let Some(pem) = ca_pem else {
            return Ok(self.default_client.clone());
        };
        let key: [u8; 32] = Sha256::digest(pem).into();
        if let Some(client) = self.lock_clients().get(&key) {
            return Ok(client.clone());
        }
        let client = build_client(&self.config, Some(pem))?;
        self.lock_clients().insert(key, client.clone());
        Ok(client)
    }

    /// GET `url` with `credential`, paced per host and retried on transient failures.
    pub async fn get(
        &self,
        client: &reqwest::Client,
        url: &Url,
        credential: &Credential,
    ) -> Result<ApiResponse, Transient> {
        let host = host_key(url);
        let header = credential
            .header_value()
            .map_err(|problem| Transient::MalformedResponse {
                detail: problem.to_string(),
            })?;
        let mut attempt = 1;
        loop {
            self.limiter.acquire(&host).await;
            let started = tokio::time::Instant::now();
            let result = self.send_once(client, url, header.clone()).await;
            let status = match &result {
                Ok(response) => Some(response.status.as_u16()),
                Err(Transient::RateLimited { .. }) => Some(429),
                Err(Transient::ServerError { status }) => Some(*status),
                Err(_) => None,
            };
            self.observer.observe(&host, status, started.elapsed());
            let failure = match result {
                Ok(response) => {
                    if response.header("x-ratelimit-nearlimit") == Some("true") {
                        self.limiter.slow_down(&host);
                    }
                    return Ok(response);
                }
                Err(failure) => failure,
            };
            if matches!(failure, Transient::RateLimited { .. }) {
                self.limiter.slow_down(&host);
            }
            let wait = match &failure {
                Transient::RateLimited {
                    retry_after: Some(after),
                } if *after <= self.config.max_inline_retry_after => *after,
                // Cloud's 429 says nothing about when to retry, and its window is an hour:
                // hammering it again now cannot help. Report and let the caller reschedule.
                Transient::RateLimited { .. } => return Err(failure),
                Transient::MalformedResponse { .. } => return Err(failure),
                _ => self.config.backoff.delay(attempt),
            };
            if attempt >= self.config.max_attempts {
                return Err(failure);
            }
            tracing::debug!(%host, attempt, wait_ms = wait.as_millis() as u64, error = %failure.message(), "retrying Bitbucket request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        client: &reqwest::Client,
        url: &Url,
        authorization: reqwest::header::HeaderValue,
    ) -> Result<ApiResponse, Transient> {
        let response = client
            .get(url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(classify_send_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Transient::RateLimited {
                retry_after: retry_after(&headers),
            });
        }
        if status.is_server_error() {
            return Err(Transient::ServerError {
                status: status.as_u16(),
            });
        }
        let body = response.bytes().await.map_err(classify_send_error)?;
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }

    fn lock_clients(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], reqwest::Client>> {
        self.clients_by_ca
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn build_client(
    config: &ClientConfig,
    ca_pem: Option<&[u8]>,
) -> Result<reqwest::Client, ClientError> {
    let mut roots = Vec::new();
    for pem in [config.extra_ca_pem.as_deref(), ca_pem]
        .into_iter()
        .flatten()
    {
        let certs =
            reqwest::Certificate::from_pem_bundle(pem).map_err(ClientError::InvalidCaBundle)?;
        if certs.is_empty() {
            return Err(ClientError::EmptyCaBundle);
        }
        roots.extend(certs);
    }
    reqwest::Client::builder()
        .user_agent(user_agent())
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .https_only(true)
        // Never follow a redirect: it could carry the Authorization header to another host.
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge(roots)
        .build()
        .map_err(ClientError::Build)
}

/// `host[:port]` of a URL, the unit of pacing and of the Data Center allowlist.
pub fn host_key(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => String::new(),
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Sorts a reqwest failure into timeout, TLS or connection trouble. The message names the cause
/// (never the request's headers, so never the token).
fn classify_send_error(error: reqwest::Error) -> Transient {
    if error.is_timeout() {
        return Transient::Timeout;
    }
    let mut chain = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    let detail = chain.last().cloned().unwrap_or_else(|| error.to_string());
    let tls = chain.iter().any(|text| {
        let text = text.to_ascii_lowercase();
        text.contains("certificate") || text.contains("tls") || text.contains("handshake")
    });
    if tls {
        Transient::TlsFailure { detail }
    } else if error.is_decode() || error.is_body() {
        Transient::MalformedResponse { detail }
    } else {
        Transient::Unreachable { detail }
    }
}
