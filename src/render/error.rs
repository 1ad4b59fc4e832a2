//! Why a BitbucketToken cannot be rendered. Every message names the spec field to change.

use crate::api::{OutputFormat, TokenKind};

/// A spec (or server setting) that cannot be turned into a rendered Secret.
///
/// Messages never contain the token; they may contain slugs, keys and paths from the spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(
        "target.formats is empty: list at least one of GitConfig, GitCredentials, BasicAuth, BearerToken, Env, ArgoCD"
    )]
    NoFormats,

    #[error(
        "token.kind {kind} does not belong to {server}: HTTPAccessToken is for server.dataCenter, every other kind is for Bitbucket Cloud"
    )]
    KindServerMismatch {
        kind: TokenKind,
        server: &'static str,
    },

    #[error(
        "the git base URL {url} cannot be used ({problem}): give an https URL with a host and without user info, query or fragment"
    )]
    InvalidBaseUrl { url: String, problem: &'static str },

    #[error(
        "access.workspace is required for Bitbucket Cloud: name the workspace the token works in"
    )]
    MissingWorkspace,

    #[error(
        "access.project is required for Bitbucket Data Center: name the key of the project the token works in"
    )]
    MissingProject,

    #[error(
        "{field} {value:?} cannot be used in a git URL: write the slug or key as it appears in the clone URL (letters, digits, '.', '_', '-', not '.' or '..')"
    )]
    InvalidUrlSegment { field: &'static str, value: String },

    #[error(
        "token.kind {kind} needs token.username: set it to the Bitbucket username the {kind} belongs to"
    )]
    MissingUsername { kind: TokenKind },

    #[error(
        "format {format} needs a username and password, but a Data Center HTTP access token without token.username works only as a Bearer token: use the GitConfig, Env or BearerToken formats instead, or set token.username if this is a personal access token"
    )]
    BearerOnly { format: OutputFormat },

    #[error(
        "format BearerToken cannot carry a {kind}: Bitbucket accepts it only together with a username (HTTP Basic); remove BearerToken from target.formats and use BasicAuth, GitConfig or GitCredentials"
    )]
    BasicOnly { kind: TokenKind },

    #[error(
        "{what} contains a control character (such as a newline, tab or NUL) at byte {index}: remove it"
    )]
    ControlCharacter { what: &'static str, index: usize },

    #[error("{what} is empty: set it")]
    Empty { what: &'static str },

    #[error(
        "token.username must not contain ':' (HTTP Basic authentication splits username and password at the first ':'): use the plain Bitbucket username"
    )]
    ColonInUsername,

    #[error("target.mountPath {path:?} cannot be used: {problem}")]
    InvalidMountPath { path: String, problem: &'static str },

    #[error(
        "the CA bundle of server.dataCenter.caBundleSecretRef is not a PEM certificate bundle ({problem}): store the PEM text of the CA certificates under that key"
    )]
    InvalidCaBundle { problem: &'static str },

    #[error(
        "two formats in target.formats write key {key} with different contents: remove one of them"
    )]
    ConflictingKey { key: String },
}
