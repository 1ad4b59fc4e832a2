//! Reading the `Authorization` header and deciding which fixture token it proves.
//!
//! Rules (bitbucket-api.md §2): Cloud access tokens use Bearer (C), Basic with user
//! `x-token-auth` is also accepted (Cc); Cloud API tokens use Basic with the account
//! email and fail with Bearer or the username (C/Cc); app passwords use Basic with the
//! username and fail with the email (C). DC personal tokens use Bearer or Basic with
//! the user slug; DC project/repository tokens use Bearer only (C).

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;

use crate::fixture::{SimTokenKind, TokenFixture};
use crate::recorder::AuthSeen;
use crate::state::SimState;

/// User name Cloud accepts in Basic auth for access tokens.
pub(crate) const TOKEN_AUTH_USER: &str = "x-token-auth";

/// Credentials carried by a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// No `Authorization` header.
    None,
    /// `Bearer <secret>`.
    Bearer(String),
    /// `Basic base64(user:secret)`.
    Basic { user: String, secret: String },
    /// An `Authorization` header that could not be understood.
    Malformed,
    /// More than one `Authorization` field line. `Authorization` is a singleton field
    /// (RFC 9110 §11.6.2 defines it as one `credentials` value, and §5.3 allows a
    /// recipient to reject repeated singleton fields); Bitbucket's handling is not
    /// published, so the simulator answers 400 (I), as the operator must never cause it.
    Duplicate,
}

impl Credentials {
    /// Parses the `Authorization` header.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
            return Self::Duplicate;
        }
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Self::None;
        };
        let Ok(value) = value.to_str() else {
            return Self::Malformed;
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Self::Bearer(rest.to_owned());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            if let Some((user, secret)) = decoded.as_deref().and_then(|s| s.split_once(':')) {
                return Self::Basic {
                    user: user.to_owned(),
                    secret: secret.to_owned(),
                };
            }
        }
        Self::Malformed
    }

    /// What the request log shows (never the secret).
    pub fn seen(&self) -> AuthSeen {
        match self {
            Self::None | Self::Malformed | Self::Duplicate => AuthSeen::None,
            Self::Bearer(_) => AuthSeen::Bearer,
            Self::Basic { user, .. } => AuthSeen::Basic { user: user.clone() },
        }
    }

    /// The secret part, if any.
    pub fn secret(&self) -> Option<&str> {
        match self {
            Self::Bearer(secret) | Self::Basic { secret, .. } => Some(secret),
            Self::None | Self::Malformed | Self::Duplicate => None,
        }
    }
}

/// Result of authenticating a request.
#[derive(Debug, Clone)]
pub(crate) enum AuthOutcome {
    /// No credentials at all.
    Anonymous,
    /// Credentials proved this (active) token.
    Token(Box<TokenFixture>),
    /// Credentials were present but wrong, unknown, revoked, expired or used with the
    /// wrong scheme or user.
    Rejected,
}

/// Applies the Cloud rules.
pub(crate) fn authenticate_cloud(state: &SimState, credentials: &Credentials) -> AuthOutcome {
    authenticate(state, credentials, |token, credentials| {
        if !token.kind.is_cloud() {
            return false;
        }
        match credentials {
            Credentials::Bearer(_) => token.kind.is_cloud_access_token(),
            Credentials::Basic { user, .. } => match token.kind {
                SimTokenKind::ApiToken => state
                    .cloud_user(token.user.as_deref())
                    .is_some_and(|owner| owner.email.eq_ignore_ascii_case(user)),
                SimTokenKind::AppPassword => state
                    .cloud_user(token.user.as_deref())
                    .is_some_and(|owner| owner.username == *user),
                _ => user == TOKEN_AUTH_USER,
            },
            Credentials::None | Credentials::Malformed | Credentials::Duplicate => false,
        }
    })
}

/// Applies the Data Center rules.
pub(crate) fn authenticate_dc(state: &SimState, credentials: &Credentials) -> AuthOutcome {
    authenticate(state, credentials, |token, credentials| {
        if !token.kind.is_data_center() {
            return false;
        }
        match credentials {
            Credentials::Bearer(_) => true,
            Credentials::Basic { user, .. } => {
                token.kind == SimTokenKind::DcPersonal
                    && state
                        .dc_user(token.user.as_deref())
                        .is_some_and(|owner| owner.slug.eq_ignore_ascii_case(user))
            }
            Credentials::None | Credentials::Malformed | Credentials::Duplicate => false,
        }
    })
}

fn authenticate(
    state: &SimState,
    credentials: &Credentials,
    scheme_fits: impl Fn(&TokenFixture, &Credentials) -> bool,
) -> AuthOutcome {
    if *credentials == Credentials::None {
        return AuthOutcome::Anonymous;
    }
    let Some(token) = credentials.secret().and_then(|s| state.token_by_secret(s)) else {
        return AuthOutcome::Rejected;
    };
    let expired = token.expires_at.is_some_and(|at| at <= Utc::now());
    if token.revoked || expired || !scheme_fits(&token, credentials) {
        return AuthOutcome::Rejected;
    }
    state.mark_authenticated(&token.name);
    AuthOutcome::Token(Box::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(header::AUTHORIZATION, value);
        }
        headers
    }

    #[test]
    fn parses_schemes() {
        assert_eq!(
            Credentials::from_headers(&headers("Bearer abc")),
            Credentials::Bearer("abc".into())
        );
        let basic = format!("Basic {}", STANDARD.encode("me@example.com:s3:cr3t"));
        assert_eq!(
            Credentials::from_headers(&headers(&basic)),
            Credentials::Basic {
                user: "me@example.com".into(),
                secret: "s3:cr3t".into()
            }
        );
        assert_eq!(
            Credentials::from_headers(&headers("Token abc")),
            Credentials::Malformed
        );
        assert_eq!(
            Credentials::from_headers(&HeaderMap::new()),
            Credentials::None
        );
    }
}
