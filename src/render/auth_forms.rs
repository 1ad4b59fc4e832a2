//! Which authentication forms a rendered Secret carries, so the validator can check each one.

use super::credentials::basic_username;
use crate::api::{OutputFormat, TokenKind};

/// Formats that write the token as HTTP Basic `user:token` for a Data Center token.
const BASIC_FORMATS: [OutputFormat; 3] = [
    OutputFormat::GitCredentials,
    OutputFormat::BasicAuth,
    OutputFormat::ArgoCd,
];

/// The username of an HTTP Basic form the Secret rendered for `formats` would carry and that the
/// REST validation does not otherwise use: a Data Center token with `token.username` and a format
/// that writes `username`/`password` or a `.git-credentials` line. `None` for every other case
/// (Cloud kinds are checked with the form Atlassian documents for their REST API; a Data Center
/// token without a username is rendered only as Bearer, and Basic formats are refused then).
pub fn extra_basic_user<'a>(
    kind: TokenKind,
    username: Option<&'a str>,
    formats: &[OutputFormat],
) -> Option<&'a str> {
    if kind != TokenKind::HttpAccessToken || !formats.iter().any(|f| BASIC_FORMATS.contains(f)) {
        return None;
    }
    basic_username(kind, username).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use OutputFormat as F;
    use TokenKind as K;

    #[test]
    fn only_data_center_tokens_with_a_username_and_a_basic_format() {
        assert_eq!(
            extra_basic_user(
                K::HttpAccessToken,
                Some("svc-ci"),
                &[F::BasicAuth, F::ArgoCd]
            ),
            Some("svc-ci")
        );
        assert_eq!(
            extra_basic_user(K::HttpAccessToken, Some("svc-ci"), &[F::GitCredentials]),
            Some("svc-ci")
        );
        assert_eq!(
            extra_basic_user(K::HttpAccessToken, Some("svc-ci"), &[F::GitConfig, F::Env]),
            None
        );
        assert_eq!(
            extra_basic_user(K::HttpAccessToken, None, &[F::BasicAuth]),
            None
        );
        assert_eq!(
            extra_basic_user(K::ApiToken, Some("dev"), &[F::BasicAuth]),
            None
        );
    }
}
