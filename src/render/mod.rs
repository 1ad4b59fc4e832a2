//! Rendering: turns a token and its spec into the data of the git-credential Secret.
//!
//! Pure logic, no I/O. The caller adds the owner reference, the managed-by label, the fingerprint
//! annotation and the user's labels and annotations; this module returns only what the requested
//! formats need. See `docs/formats.md` for every format and the choices behind it.

mod auth_forms;
mod ca;
mod credentials;
mod error;
mod formats;
mod gitconfig;
mod scope;

#[cfg(test)]
mod git_cli_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use url::Url;

pub use auth_forms::extra_basic_user;
pub use credentials::{API_TOKEN_USER, CLOUD_ACCESS_TOKEN_USER};
pub use error::RenderError;

use crate::api::{AccessSpec, OutputFormat, TokenKind};
use crate::token::{REDACTED, SecretToken};

/// Secret type when `BasicAuth` is among the formats.
pub const SECRET_TYPE_BASIC_AUTH: &str = "kubernetes.io/basic-auth";
/// Secret type otherwise.
pub const SECRET_TYPE_OPAQUE: &str = "Opaque";
/// Label Argo CD reads: `repository` or `repo-creds`.
pub const ARGOCD_SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";
/// Prefix of the annotations Tekton reads on a basic-auth Secret (`tekton.dev/git-0`,
/// `tekton.dev/git-1`, ...): each names a URL the credentials are for. The operator writes one per
/// URL of the Secret's scope (see `docs/formats.md`).
pub const TEKTON_GIT_ANNOTATION_PREFIX: &str = "tekton.dev/git-";

/// The Secret data keys the formats write.
pub mod keys {
    /// GitConfig and GitCredentials.
    pub const GITCONFIG: &str = ".gitconfig";
    /// GitCredentials.
    pub const GIT_CREDENTIALS: &str = ".git-credentials";
    /// BasicAuth and ArgoCD.
    pub const USERNAME: &str = "username";
    /// BasicAuth and ArgoCD.
    pub const PASSWORD: &str = "password";
    /// BearerToken and ArgoCD.
    pub const BEARER_TOKEN: &str = "bearerToken";
    /// ArgoCD.
    pub const URL: &str = "url";
    /// env (with `GIT_CONFIG_KEY_<n>` and `GIT_CONFIG_VALUE_<n>`).
    pub const GIT_CONFIG_COUNT: &str = "GIT_CONFIG_COUNT";
    /// Every format, when `server.dataCenter.caBundleSecretRef` is set: the PEM CA bundle (the key
    /// Flux's `GitRepository` and cert-manager use).
    pub const CA_CERT: &str = "ca.crt";
}

/// Where git reaches Bitbucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitServer {
    /// Bitbucket Cloud; `git_base` is `https://bitbucket.org` (tests point it elsewhere).
    Cloud { git_base: Url },
    /// Bitbucket Data Center; `base` is `https://host[:port][/context-path]`.
    DataCenter { base: Url },
}

impl GitServer {
    fn name(&self) -> &'static str {
        match self {
            GitServer::Cloud { .. } => "Bitbucket Cloud",
            GitServer::DataCenter { .. } => "Bitbucket Data Center (server.dataCenter)",
        }
    }
}

/// Everything rendering needs, with defaults already applied by the caller.
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    pub token: &'a SecretToken,
    pub kind: TokenKind,
    pub server: &'a GitServer,
    pub access: &'a AccessSpec,
    /// `spec.token.username`.
    pub username: Option<&'a str>,
    /// `spec.target.formats`, or [`OutputFormat::DEFAULT`].
    pub formats: &'a [OutputFormat],
    /// `spec.target.mountPath`, or [`crate::api::DEFAULT_MOUNT_PATH`].
    pub mount_path: &'a str,
    /// The PEM bytes of `server.dataCenter.caBundleSecretRef` (`None` for Cloud or without one).
    /// The Secret then carries them as `ca.crt` and the git formats point git at that file.
    pub ca_bundle: Option<&'a [u8]>,
}

/// The rendered Secret's type, data and the labels/annotations its formats need.
///
/// `Debug` shows data keys only: the values hold the token.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedSecret {
    /// `Opaque` or `kubernetes.io/basic-auth`.
    pub type_: String,
    pub data: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl fmt::Debug for RenderedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct KeysOnly<'a>(&'a BTreeMap<String, String>);
        impl fmt::Debug for KeysOnly<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.keys().map(|key| (key, REDACTED)))
                    .finish()
            }
        }
        f.debug_struct("RenderedSecret")
            .field("type_", &self.type_)
            .field("data", &KeysOnly(&self.data))
            .field("labels", &self.labels)
            .field("annotations", &self.annotations)
            .finish()
    }
}

/// Renders the Secret for `input.formats` (each format once, whatever the order or repetition).
pub fn render(input: &RenderInput<'_>) -> Result<RenderedSecret, RenderError> {
    let formats: BTreeSet<OutputFormat> = input.formats.iter().copied().collect();
    if formats.is_empty() {
        return Err(RenderError::NoFormats);
    }
    let cloud_server = matches!(input.server, GitServer::Cloud { .. });
    if input.kind.is_cloud() != cloud_server {
        return Err(RenderError::KindServerMismatch {
            kind: input.kind,
            server: input.server.name(),
        });
    }
    credentials::check_token(input.token)?;
    credentials::check_username(input.username)?;
    let scope = scope::Scope::new(input.server, input.access)?;
    let ca = match (input.ca_bundle, input.server) {
        (Some(pem), GitServer::DataCenter { .. }) => Some(ca::CaBundle::new(pem)?),
        _ => None,
    };
    let cx = formats::Context {
        token: input.token,
        kind: input.kind,
        username: input.username,
        scope: &scope,
        mount_path: input.mount_path,
        ca: ca.as_ref(),
    };
    let mut out = formats::Output::default();
    for format in formats {
        formats::apply(format, &cx, &mut out)?;
    }
    out.finish(&cx)
}
