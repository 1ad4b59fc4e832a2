//! Who the token authenticates as, and how: usernames per token kind, the `Authorization` header,
//! and `.git-credentials` store lines.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::RenderError;
use super::gitconfig::reject_control;
use crate::api::{OutputFormat, TokenKind};
use crate::token::SecretToken;

/// Git username Bitbucket Cloud expects with repository, project and workspace access tokens.
pub const CLOUD_ACCESS_TOKEN_USER: &str = "x-token-auth";
/// Git username Bitbucket Cloud accepts with an Atlassian API token when no username is given.
pub const API_TOKEN_USER: &str = "x-bitbucket-api-token-auth";

/// Everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) is percent-encoded.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The username a token kind authenticates with over HTTP Basic, if it can use Basic at all.
///
/// `Ok(None)` means Bearer only: a Data Center HTTP access token without `token.username`
/// (project and repository tokens). The username of a Cloud access token is fixed.
pub(crate) fn basic_username(
    kind: TokenKind,
    username: Option<&str>,
) -> Result<Option<&str>, RenderError> {
    Ok(match kind {
        TokenKind::RepositoryAccessToken
        | TokenKind::ProjectAccessToken
        | TokenKind::WorkspaceAccessToken => Some(CLOUD_ACCESS_TOKEN_USER),
        TokenKind::ApiToken => Some(username.unwrap_or(API_TOKEN_USER)),
        TokenKind::AppPassword => Some(username.ok_or(RenderError::MissingUsername { kind })?),
        TokenKind::HttpAccessToken => username,
    })
}

/// Like [`basic_username`], for a format that cannot work without one.
pub(crate) fn required_basic_username(
    kind: TokenKind,
    username: Option<&str>,
    format: OutputFormat,
) -> Result<&str, RenderError> {
    basic_username(kind, username)?.ok_or(RenderError::BearerOnly { format })
}

/// True for kinds Bitbucket accepts only with a username (HTTP Basic), for git and REST alike.
pub(crate) fn is_basic_only(kind: TokenKind) -> bool {
    matches!(kind, TokenKind::ApiToken | TokenKind::AppPassword)
}

/// True for kinds whose documented git form is HTTP Basic: Cloud access tokens (`x-token-auth`,
/// <https://support.atlassian.com/bitbucket-cloud/docs/using-access-tokens/>), API tokens and app
/// passwords. Atlassian documents Bearer for Cloud access tokens only on the REST API.
pub(crate) fn git_uses_basic(kind: TokenKind) -> bool {
    kind.is_cloud()
}

/// The `Authorization` header value git should send: `Basic base64(user:token)` for every Cloud
/// kind (the only form Atlassian documents for git), `Bearer <token>` for Data Center HTTP access
/// tokens (the one form every Data Center token kind accepts).
pub(crate) fn authorization(
    kind: TokenKind,
    username: Option<&str>,
    token: &SecretToken,
) -> Result<String, RenderError> {
    if git_uses_basic(kind) {
        let user = required_basic_username(kind, username, OutputFormat::GitConfig)?;
        Ok(token.basic_authorization(user))
    } else {
        Ok(token.bearer_authorization())
    }
}

/// One `.git-credentials` line: `https://<user>:<token>@<host[:port]><path>`, user and token
/// percent-encoded so that no byte of theirs can end the line or change the URL's structure.
pub(crate) fn store_line(authority: &str, path: &str, user: &str, token: &SecretToken) -> String {
    format!(
        "https://{}:{}@{authority}{path}",
        utf8_percent_encode(user, NOT_UNRESERVED),
        utf8_percent_encode(token.expose(), NOT_UNRESERVED),
    )
}

/// Checks the token before it is written anywhere (the source Secret reader checks too).
pub(crate) fn check_token(token: &SecretToken) -> Result<(), RenderError> {
    let value = token.expose();
    if value.is_empty() {
        return Err(RenderError::Empty { what: "the token" });
    }
    reject_control("the token", value)
}

/// Checks `token.username` before it is written anywhere.
pub(crate) fn check_username(username: Option<&str>) -> Result<(), RenderError> {
    let Some(user) = username else {
        return Ok(());
    };
    if user.is_empty() {
        return Err(RenderError::Empty {
            what: "token.username",
        });
    }
    reject_control("token.username", user)?;
    if user.contains(':') {
        return Err(RenderError::ColonInUsername);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> SecretToken {
        SecretToken::parse(text).unwrap()
    }

    #[test]
    fn usernames_per_kind() {
        use TokenKind::*;
        for kind in [
            RepositoryAccessToken,
            ProjectAccessToken,
            WorkspaceAccessToken,
        ] {
            assert_eq!(basic_username(kind, None), Ok(Some("x-token-auth")));
            assert_eq!(basic_username(kind, Some("dev")), Ok(Some("x-token-auth")));
        }
        assert_eq!(
            basic_username(ApiToken, None),
            Ok(Some("x-bitbucket-api-token-auth"))
        );
        assert_eq!(basic_username(ApiToken, Some("dev")), Ok(Some("dev")));
        assert_eq!(basic_username(AppPassword, Some("dev")), Ok(Some("dev")));
        assert_eq!(
            basic_username(AppPassword, None),
            Err(RenderError::MissingUsername { kind: AppPassword })
        );
        assert_eq!(
            basic_username(HttpAccessToken, Some("dev")),
            Ok(Some("dev"))
        );
        assert_eq!(basic_username(HttpAccessToken, None), Ok(None));
        assert_eq!(
            required_basic_username(HttpAccessToken, None, OutputFormat::BasicAuth),
            Err(RenderError::BearerOnly {
                format: OutputFormat::BasicAuth
            })
        );
    }

    #[test]
    fn authorization_headers() {
        let t = token("tok");
        assert_eq!(
            authorization(TokenKind::HttpAccessToken, Some("dev"), &t).unwrap(),
            "Bearer tok"
        );
        // base64("x-token-auth:tok"): Cloud access tokens use Basic for git, even with a username.
        for username in [None, Some("dev")] {
            assert_eq!(
                authorization(TokenKind::WorkspaceAccessToken, username, &t).unwrap(),
                "Basic eC10b2tlbi1hdXRoOnRvaw=="
            );
        }
        // base64("dev:tok") and base64("x-bitbucket-api-token-auth:tok")
        assert_eq!(
            authorization(TokenKind::AppPassword, Some("dev"), &t).unwrap(),
            "Basic ZGV2OnRvaw=="
        );
        assert_eq!(
            authorization(TokenKind::ApiToken, None, &t).unwrap(),
            "Basic eC1iaXRidWNrZXQtYXBpLXRva2VuLWF1dGg6dG9r"
        );
    }

    #[test]
    fn store_lines_percent_encode_everything_outside_unreserved() {
        let line = store_line(
            "localhost:8443",
            "/acme/payments.git",
            "d\"e[v%",
            &token("a/b+c=d%e\\f\"g[h~i-j_k.l"),
        );
        assert_eq!(
            line,
            "https://d%22e%5Bv%25:a%2Fb%2Bc%3Dd%25e%5Cf%22g%5Bh~i-j_k.l@localhost:8443/acme/payments.git"
        );
    }

    #[test]
    fn usernames_and_tokens_are_checked() {
        assert_eq!(check_username(None), Ok(()));
        assert_eq!(check_username(Some("dev")), Ok(()));
        assert_eq!(
            check_username(Some("")),
            Err(RenderError::Empty {
                what: "token.username"
            })
        );
        assert_eq!(
            check_username(Some("a\nb")),
            Err(RenderError::ControlCharacter {
                what: "token.username",
                index: 1
            })
        );
        assert_eq!(
            check_username(Some("a:b")),
            Err(RenderError::ColonInUsername)
        );
        assert_eq!(check_token(&token("ok")), Ok(()));
    }
}
