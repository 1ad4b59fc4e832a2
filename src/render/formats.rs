//! What each output format adds to the rendered Secret.

use std::collections::BTreeMap;

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

    pub(crate) fn finish(mut self) -> Result<RenderedSecret, RenderError> {
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
        OutputFormat::Gitconfig => gitconfig(cx, out),
        OutputFormat::GitCredentials => git_credentials(cx, out),
        OutputFormat::BasicAuth => basic_auth(cx, out),
        OutputFormat::BearerToken => bearer_token(cx, out),
        OutputFormat::Env => env(cx, out),
        OutputFormat::Argocd => argocd(cx, out),
    }
}

/// `.gitconfig`: one `[http "<url>"] extraHeader` per URL spelling of the target.
fn gitconfig(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let header = format!(
        "Authorization: {}",
        authorization(cx.kind, cx.username, cx.token)?
    );
    for url in cx.scope.match_urls() {
        out.gitconfig.set(
            "http",
            Some(&url),
            "extraHeader",
            &header,
            "the Authorization header",
        )?;
    }
    Ok(())
}

/// `.git-credentials` plus `[credential "<url>"]` sections pointing git's `store` helper at it.
fn git_credentials(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let user = required_basic_username(cx.kind, cx.username, "gitCredentials")?;
    let store_file = credentials_path(cx.mount_path)?;
    let helper = format!("store --file={store_file}");
    for url in cx.scope.match_urls() {
        out.gitconfig.set(
            "credential",
            Some(&url),
            "helper",
            &helper,
            "target.mountPath",
        )?;
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

/// `username`/`password`, Secret type `kubernetes.io/basic-auth`, and Tekton's annotation.
fn basic_auth(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let user = required_basic_username(cx.kind, cx.username, "basicAuth")?;
    out.put(keys::USERNAME, user.to_string())?;
    out.put(keys::PASSWORD, cx.token.expose().to_string())?;
    out.basic_auth_type = true;
    put(
        &mut out.annotations,
        super::TEKTON_GIT_ANNOTATION,
        cx.scope.git_base(),
    )
}

/// `bearerToken`, for tokens Bitbucket accepts as Bearer.
fn bearer_token(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    if is_basic_only(cx.kind) {
        return Err(RenderError::BasicOnly { kind: cx.kind });
    }
    out.put(keys::BEARER_TOKEN, cx.token.expose().to_string())
}

/// `GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_<n>`, `GIT_CONFIG_VALUE_<n>`: the gitconfig format's
/// `extraHeader` entries as environment variables (one pair per URL spelling).
fn env(cx: &Context<'_>, out: &mut Output) -> Result<(), RenderError> {
    let header = format!(
        "Authorization: {}",
        authorization(cx.kind, cx.username, cx.token)?
    );
    let urls = cx.scope.match_urls();
    for (index, url) in urls.iter().enumerate() {
        super::gitconfig::reject_control("a URL", url)?;
        out.put(
            &format!("GIT_CONFIG_KEY_{index}"),
            format!("http.{url}.extraHeader"),
        )?;
        out.put(&format!("GIT_CONFIG_VALUE_{index}"), header.clone())?;
    }
    out.put(keys::GIT_CONFIG_COUNT, urls.len().to_string())
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
