//! What each output format adds to the rendered Secret.

use std::collections::BTreeMap;

use super::ca::CaBundle;
use super::credentials::{
    authorization, basic_username, is_basic_only, required_basic_username, store_line,
};
use super::gitconfig::GitConfig;
use super::scope::Scope;
use super::{RenderError, RenderedSecret, keys};
use crate::api::{OutputFormat, TokenKind};
use crate::token::SecretToken;

/// The checked inputs every format reads.
pub(crate) struct Context<'a> {
    pub token: &'a SecretToken,
    pub kind: TokenKind,
    pub username: Option<&'a str>,
    pub scope: &'a Scope,
    pub mount_path: &'a str,
    /// The Data Center server's private CA, if `caBundleSecretRef` is set.
    pub ca: Option<&'a CaBundle>,
}

/// The Secret under construction. Formats may write the same key only with the same value.
#[derive(Default)]
pub(crate) struct Output {
    gitconfig: GitConfig,
    data: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    basic_auth_type: bool,
}

impl Output {
    fn put(&mut self, key: &str, value: String) -> Result<(), RenderError> {
        put(&mut self.data, key, value)
    }

    pub(crate) fn finish(mut self, cx: &Context<'_>) -> Result<RenderedSecret, RenderError> {
        if let Some(ca) = cx.ca {
            self.put(keys::CA_CERT, ca.pem().to_string())?;
            if !self.gitconfig.is_empty() {
                let (section, path) = ca_info(cx)?;
                self.gitconfig.set(
                    "http",
                    Some(&section),
                    "sslCAInfo",
                    &path,
                    "target.mountPath",
                )?;
            }
        }
        if !self.gitconfig.is_empty() {
            let text = self.gitconfig.to_text();
            self.put(keys::GITCONFIG, text)?;
        }
        let type_ = if self.basic_auth_type {
            super::SECRET_TYPE_BASIC_AUTH
        } else {
            super::SECRET_TYPE_OPAQUE
        };
        Ok(RenderedSecret {
            type_: type_.to_string(),
            data: self.data,
            labels: self.labels,
            annotations: self.annotations,
        })
    }
}

fn put(map: &mut BTreeMap<String, String>, key: &str, value: String) -> Result<(), RenderError> {
    match map.get(key) {
        Some(existing) if *existing != value => Err(RenderError::ConflictingKey {
            key: key.to_string(),
        }),
        _ => {
            map.insert(key.to_string(), value);
            Ok(())
        }
    }
}

/// Adds one format's keys, labels and annotations.
pub(crate) fn apply(
    format: OutputFormat,
    cx: &Context<'_>,
    out: &mut Output,
) -> Result<(), RenderError> {
    match format {
        OutputFormat::GitConfig => gitconfig(cx, out),
        OutputFormat::GitCredentials => git_credentials(cx, out),
        OutputFormat::BasicAuth => basic_auth(cx, out),
        OutputFormat::BearerToken => bearer_token(cx, out),
        OutputFormat::Env => env(cx, out),
        OutputFormat::ArgoCd => argocd(cx, out),
    }
}

/// `.gitconfig`: one `[http "<url>"] extraHeader` per URL spelling of the target, each after an
/// empty `extraHeader`. `http.<url>.extraHeader` is a list: git sends every value it collected,
/// and an empty value empties the list (git-config(1), `http.extraHeader`). Git keeps only values
/// from the most specific matching URL and those read after them, so the reset drops whatever a
/// less specific or earlier config (an image's `http.extraHeader`, another included Secret's
/// workspace section, the `env` form of the same Secret) added: exactly one `Authorization`
/// header goes on the wire.
fn gitconfig(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let header = format!(
        "Authorization: {}",
        authorization(cx.kind, cx.username, cx.token)?
    );
    for url in cx.scope.match_urls() {
        for value in ["", header.as_str()] {
            out.gitconfig.set(
                "http",
                Some(&url),
                "extraHeader",
                value,
                "the Authorization header",
            )?;
        }
    }
    Ok(())
}

/// The `[http "<section>"] sslCAInfo = <path>` pair for a private CA: the Data Center base URL
/// (so no other host is affected) and `<mountPath>/ca.crt`.
fn ca_info(cx: &Context<'_>) -> Result<(String, String), RenderError> {
    Ok((
        format!("{}/", cx.scope.git_base()),
        mount_file(cx.mount_path, keys::CA_CERT)?,
    ))
}

/// `.git-credentials` plus `[credential "<url>"]` sections pointing git's `store` helper at it.
fn git_credentials(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let user = required_basic_username(cx.kind, cx.username, OutputFormat::GitCredentials)?;
    let store_file = credentials_path(cx.mount_path)?;
    let helper = format!("store --file={store_file}");
    for url in cx.scope.match_urls() {
        // An empty helper empties git's helper list (git-config(1), `credential.helper`): an
        // image's cache or manager helper, or a store of another Secret read earlier, is not
        // asked first and cannot answer with another token.
        for value in ["", helper.as_str()] {
            out.gitconfig.set(
                "credential",
                Some(&url),
                "helper",
                value,
                "target.mountPath",
            )?;
        }
        // git then asks the store by protocol and host only, so one line serves every path
        // spelling; the sections above keep the helper away from URLs outside the target.
        out.gitconfig.set(
            "credential",
            Some(&url),
            "useHttpPath",
            "false",
            "useHttpPath",
        )?;
    }
    // The Secret volume is read-only: git's store helper cannot save after a successful fetch.
    // Fail that save at once instead of retrying for a second.
    out.gitconfig.set(
        "credentialStore",
        None,
        "lockTimeoutMS",
        "0",
        "lockTimeoutMS",
    )?;
    let mut lines = String::new();
    for path in cx.scope.target_paths() {
        lines.push_str(&store_line(cx.scope.authority(), path, user, cx.token));
        lines.push('\n');
    }
    out.put(keys::GIT_CREDENTIALS, lines)
}

/// `username`/`password`, Secret type `kubernetes.io/basic-auth`, and Tekton's annotations: one
/// `tekton.dev/git-<n>` per URL of the scope (each repository with and without `.git`, or the
/// workspace/project prefix), not the bare host. Tekton's creds-init refuses two Secrets that
/// name the same URL ("multiple entries for url"), so tokens for different repositories,
/// projects or workspaces on one host can share a ServiceAccount; it writes one
/// `[credential "<url>"] username` section and one `.git-credentials` line per URL.
fn basic_auth(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let user = required_basic_username(cx.kind, cx.username, OutputFormat::BasicAuth)?;
    out.put(keys::USERNAME, user.to_string())?;
    out.put(keys::PASSWORD, cx.token.expose().to_string())?;
    out.basic_auth_type = true;
    for (index, url) in cx.scope.match_urls().into_iter().enumerate() {
        put(
            &mut out.annotations,
            &format!("{}{index}", super::TEKTON_GIT_ANNOTATION_PREFIX),
            url,
        )?;
    }
    Ok(())
}

/// `BearerToken`: the `bearerToken` key, for tokens Bitbucket accepts as Bearer.
fn bearer_token(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    if is_basic_only(cx.kind) {
        return Err(RenderError::BasicOnly { kind: cx.kind });
    }
    out.put(keys::BEARER_TOKEN, cx.token.expose().to_string())
}

/// `GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_<n>`, `GIT_CONFIG_VALUE_<n>` (git 2.31 or newer): the
/// GitConfig format's entries as environment variables — per URL spelling an empty `extraHeader`
/// (the reset) and the header, and with a private CA `http.<base>/.sslCAInfo` first.
fn env(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let header = format!(
        "Authorization: {}",
        authorization(cx.kind, cx.username, cx.token)?
    );
    let mut pairs = Vec::new();
    if cx.ca.is_some() {
        let (section, path) = ca_info(cx)?;
        pairs.push((format!("http.{section}.sslCAInfo"), path));
    }
    for url in cx.scope.match_urls() {
        super::gitconfig::reject_control("a URL", &url)?;
        let key = format!("http.{url}.extraHeader");
        pairs.push((key.clone(), String::new()));
        pairs.push((key, header.clone()));
    }
    for (index, (key, value)) in pairs.iter().enumerate() {
        out.put(&format!("GIT_CONFIG_KEY_{index}"), key.clone())?;
        out.put(&format!("GIT_CONFIG_VALUE_{index}"), value.clone())?;
    }
    out.put(keys::GIT_CONFIG_COUNT, pairs.len().to_string())
}

/// Argo CD repository (one repository) or repository-credential template (prefix) Secret.
fn argocd(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let (url, secret_type) = match cx.scope.single_repository_url() {
        Some(url) => (url, "repository"),
        None => (cx.scope.covering_url(), "repo-creds"),
    };
    out.put(keys::URL, url)?;
    match basic_username(cx.kind, cx.username)? {
        Some(user) => {
            out.put(keys::USERNAME, user.to_string())?;
            out.put(keys::PASSWORD, cx.token.expose().to_string())?;
        }
        None => out.put(keys::BEARER_TOKEN, cx.token.expose().to_string())?,
    }
    put(
        &mut out.labels,
        super::ARGOCD_SECRET_TYPE_LABEL,
        secret_type.to_string(),
    )
}

/// `<mountPath>/<key>`, for a file git only reads (no shell involved).
fn mount_file(mount_path: &str, key: &str) -> Result<String, RenderError> {
    if !mount_path.starts_with('/') {
        return Err(RenderError::InvalidMountPath {
            path: mount_path.to_string(),
            problem: "it must be an absolute path",
        });
    }
    Ok(format!("{}/{key}", mount_path.trim_end_matches('/')))
}

/// `<mountPath>/.git-credentials`. The path ends up in a shell command line (git runs credential
/// helpers through the shell), so only characters that need no shell quoting are allowed.
fn credentials_path(mount_path: &str) -> Result<String, RenderError> {
    let invalid = |problem| RenderError::InvalidMountPath {
        path: mount_path.to_string(),
        problem,
    };
    if !mount_path.starts_with('/') {
        return Err(invalid("it must be an absolute path"));
    }
    if !mount_path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | '@'))
    {
        return Err(invalid(
            "git runs the credential helper through a shell, so use only letters, digits and / . _ - + @",
        ));
    }
    Ok(format!(
        "{}/{}",
        mount_path.trim_end_matches('/'),
        keys::GIT_CREDENTIALS
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_path_joins_and_refuses_shell_characters() {
        assert_eq!(
            credentials_path("/etc/bitbucket-git").unwrap(),
            "/etc/bitbucket-git/.git-credentials"
        );
        assert_eq!(credentials_path("/x/").unwrap(), "/x/.git-credentials");
        assert_eq!(credentials_path("/").unwrap(), "/.git-credentials");
        for bad in [
            "rel/path",
            "/a b",
            "/a;rm -rf",
            "/$(id)",
            "/a'b",
            "/a\"b",
            "/a\\b",
            "/a\nb",
        ] {
            assert!(
                matches!(
                    credentials_path(bad),
                    Err(RenderError::InvalidMountPath { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn conflicting_keys_are_refused_and_equal_ones_merge() {
        let mut map = BTreeMap::new();
        put(&mut map, "k", "a".into()).unwrap();
        put(&mut map, "k", "a".into()).unwrap();
        assert_eq!(
            put(&mut map, "k", "b".into()),
            Err(RenderError::ConflictingKey { key: "k".into() })
        );
    }
}
