//! Every header of every git request, as sent, with each `Authorization` value replaced by what
//! it identifies (scheme, Basic user, fixture token name), never the secret. Git can send a
//! header twice (`http.extraHeader` is a list); this record shows each occurrence, so tests can
//! prove that exactly one `Authorization` header reached the server.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::auth::Credentials;
use crate::state::SimState;

/// One request header as received, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenHeader {
    /// Lower-case header name, e.g. `authorization`, `git-protocol`.
    pub name: String,
    /// The value; for `authorization`: `Bearer <token>`, `Basic <user>:<token>` (`<token>` is
    /// the fixture token's name or `unknown`), or `unparsed`.
    pub value: String,
}

/// Captures `headers` in order, redacting credentials.
pub(crate) fn capture(state: &SimState, headers: &HeaderMap) -> Vec<SeenHeader> {
    headers
        .iter()
        .map(|(name, value)| SeenHeader {
            name: name.as_str().to_owned(),
            value: if name == header::AUTHORIZATION {
                describe_authorization(state, value)
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            },
        })
        .collect()
}

fn describe_authorization(state: &SimState, value: &HeaderValue) -> String {
    let mut single = HeaderMap::new();
    single.insert(header::AUTHORIZATION, value.clone());
    let credentials = Credentials::from_headers(&single);
    let token = || {
        credentials
            .secret()
            .and_then(|secret| state.token_by_secret(secret))
            .map_or_else(|| "unknown".to_owned(), |t| t.name)
    };
    match &credentials {
        Credentials::Bearer(_) => format!("Bearer {}", token()),
        Credentials::Basic { user, .. } => format!("Basic {user}:{}", token()),
        Credentials::None | Credentials::Malformed | Credentials::Duplicate => {
            "unparsed".to_owned()
        }
    }
}
