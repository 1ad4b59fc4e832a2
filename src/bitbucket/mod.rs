//! The Bitbucket client: checks a token against Bitbucket Cloud or Data Center for the access a
//! BitbucketToken asks for. See docs/bitbucket-validation.md for what is checked and how.

mod backoff;
mod cloud;
mod config;
mod credential;
mod datacenter;
mod inflight;
mod limiter;
pub(crate) mod observe;
mod outcome;
mod request;
mod response;
mod scopes;
mod transport;

pub use backoff::Backoff;
pub(crate) use config::CLOUD_API_URL;
pub use config::ClientConfig;
pub(crate) use inflight::InFlight;
pub(crate) use limiter::HostLimiter;
pub(crate) use observe::Observer;
pub(crate) use outcome::rfc3339 as rfc3339_text;
pub use outcome::{Invalid, Outcome, Transient, ValidToken};
pub use request::{Server, ValidationRequest};
pub use transport::ClientError;
pub(crate) use transport::host_key;

use chrono::Utc;
use url::Url;

use crate::api::TokenKind;
use transport::Transport;

/// Ends a validation early with a definitive or transient verdict.
pub(crate) enum Stop {
    Invalid(Invalid),
    Transient(Transient),
}

impl From<Transient> for Stop {
    fn from(t: Transient) -> Self {
        Stop::Transient(t)
    }
}

impl From<Invalid> for Stop {
    fn from(i: Invalid) -> Self {
        Stop::Invalid(i)
    }
}

/// Validates tokens. Cheap to clone; clones share connections, pacing and in-flight locks.
#[derive(Clone)]
pub struct Validator {
    transport: Transport,
    cloud_api: Url,
    inflight: InFlight,
}

impl Validator {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Self::with_observer(config, Observer::default())
    }

    /// Like [`Validator::new`], reporting every HTTP attempt to `observer` (metrics).
    pub fn with_observer(config: ClientConfig, observer: Observer) -> Result<Self, ClientError> {
        let cloud_api = parse_base(&config.cloud_api_url)?;
        Ok(Self {
            transport: Transport::new(config, observer)?,
            cloud_api,
            inflight: InFlight::default(),
        })
    }

    /// The per-host pacing (exposed for tests and metrics).
    pub fn limiter(&self) -> &HostLimiter {
        self.transport.limiter()
    }

    /// Checks one token. Never panics, never returns the token in any message.
    pub async fn validate(&self, request: &ValidationRequest<'_>) -> Outcome {
        let host = match &request.server {
            Server::Cloud => host_key(&self.cloud_api),
            Server::DataCenter { url, .. } => {
                if !self.dc_host_allowed(url) {
                    return Outcome::Invalid(Invalid::HostNotAllowed {
                        host: host_key(url),
                    });
                }
                host_key(url)
            }
        };
        let _in_flight = self
            .inflight
            .enter(format!("{host}/{}", request.token.fingerprint()))
            .await;
        let result = match &request.server {
            Server::Cloud => cloud::validate(&self.transport, &self.cloud_api, request).await,
            Server::DataCenter { url, ca_pem } => {
                datacenter::validate(&self.transport, url, *ca_pem, request).await
            }
        };
        match result {
            Ok(mut valid) => {
                if valid.expires_at.is_none() && request.declared_expiry.is_some() {
                    valid.expires_at = request.declared_expiry;
                    valid.expiry_source = Some(crate::api::ExpirySource::Declared);
                }
                if request.kind == TokenKind::AppPassword {
                    valid.warnings.push(APP_PASSWORD_WARNING.to_string());
                }
                Outcome::Valid(valid)
            }
            Err(Stop::Invalid(invalid)) => Outcome::Invalid(refine_rejection(invalid, request)),
            Err(Stop::Transient(transient)) => Outcome::Transient(transient),
        }
    }

    /// True when tokens may be sent to this Data Center URL's host (an entry matches the host
    /// alone, or `host:port` exactly).
    pub fn dc_host_allowed(&self, url: &Url) -> bool {
        let Some(allowed) = &self.transport.config().allowed_dc_hosts else {
            return true;
        };
        let host = host_key(url);
        let host = host.as_str();
        let bare = url.host_str().unwrap_or_default();
        allowed
            .iter()
            .any(|entry| entry.eq_ignore_ascii_case(host) || entry.eq_ignore_ascii_case(bare))
    }
}

/// Said with every app password Bitbucket still accepts: Atlassian's timeline for their removal
/// (creation stopped 9 September 2025, brownouts from 9 June 2026, removal 28 July 2026).
pub const APP_PASSWORD_WARNING: &str = "this token kind is removed: Atlassian stopped creating app passwords on 9 September 2025 and removed them on 28 July 2026, so this one may stop working at any moment. Replace it with an API token with scopes (token.kind: APIToken).";

/// A 401 is "Unauthorized" unless the declared expiry has passed (Expired), the token is an app
/// password (a kind Atlassian removed: AppPasswordRemoved) or this very token was accepted before
/// (Revoked): Bitbucket's 401 alone cannot tell these apart.
fn refine_rejection(invalid: Invalid, request: &ValidationRequest<'_>) -> Invalid {
    let Invalid::Unauthorized { detail } = invalid else {
        return invalid;
    };
    if let Some(at) = request.declared_expiry.filter(|at| *at <= Utc::now()) {
        return Invalid::Expired { at };
    }
    if request.kind == TokenKind::AppPassword {
        return Invalid::AppPasswordRemoved { detail };
    }
    if request.accepted_before {
        return Invalid::Revoked { detail };
    }
    Invalid::Unauthorized { detail }
}

/// A status the API does not document for this call: not a verdict on the token.
pub(crate) fn unexpected(response: &transport::ApiResponse, what: &str) -> Stop {
    Stop::Transient(Transient::MalformedResponse {
        detail: format!("{what}: unexpected status {}", response.status.as_u16()),
    })
}

/// Parses a base URL and drops a trailing slash so paths can be appended.
pub(crate) fn parse_base(text: &str) -> Result<Url, ClientError> {
    let trimmed = text.trim_end_matches('/');
    Url::parse(trimmed).map_err(|source| ClientError::InvalidUrl {
        url: text.to_string(),
        source,
    })
}

/// `base` with path segments appended (each percent-encoded as one segment).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}
