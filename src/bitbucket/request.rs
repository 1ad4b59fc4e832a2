//! What to check: the token, where it lives, and what it is for.

use chrono::{DateTime, Utc};
use url::Url;

use crate::{
    api::{AccessSpec, TokenKind},
    token::SecretToken,
};

/// Which Bitbucket the token belongs to.
#[derive(Clone, Debug)]
pub enum Server<'a> {
    Cloud,
    DataCenter {
        /// Base URL including any context path.
        url: &'a Url,
        /// PEM CA bundle for a private CA.
        ca_pem: Option<&'a [u8]>,
    },
}

/// One token to validate.
#[derive(Clone, Debug)]
pub struct ValidationRequest<'a> {
    pub kind: TokenKind,
    pub server: Server<'a>,
    pub token: &'a SecretToken,
    /// Atlassian account email (APIToken).
    pub email: Option<&'a str>,
    /// Bitbucket username (AppPassword; optional elsewhere).
    pub username: Option<&'a str>,
    pub access: &'a AccessSpec,
    /// `spec.token.expiresAt`.
    pub declared_expiry: Option<DateTime<Utc>>,
    /// Bitbucket accepted this very token before (same fingerprint): a 401 now means revoked.
    pub accepted_before: bool,
    /// The username of an HTTP Basic form the rendered Secret carries that the REST checks would
    /// not otherwise exercise (Data Center: `token.username` with `GitCredentials`, `BasicAuth` or
    /// `ArgoCD`); see [`crate::render::extra_basic_user`]. The validator checks that form too.
    pub basic_user: Option<&'a str>,
}

impl ValidationRequest<'_> {
    /// The target in words, e.g. `acme/payments` or `project PAY in acme`.
    pub fn target_label(&self) -> String {
        let access = self.access;
        let scope = access
            .workspace
            .clone()
            .or_else(|| access.project.clone())
            .unwrap_or_default();
        match (
            access.repositories.as_slice(),
            &access.project,
            &access.workspace,
        ) {
            ([], Some(project), Some(_)) => format!("project {project} in {scope}"),
            ([], Some(project), None) => format!("project {project}"),
            ([], None, _) => format!("workspace {scope}"),
            (repos, _, _) => {
                let owner = access.workspace.as_ref().or(access.project.as_ref());
                let names: Vec<String> = repos
                    .iter()
                    .map(|r| match owner {
                        Some(owner) => format!("{owner}/{r}"),
                        None => r.clone(),
                    })
                    .collect();
                names.join(", ")
            }
        }
    }
}
