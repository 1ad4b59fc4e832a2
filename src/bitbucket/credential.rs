//! How a token is presented to Bitbucket's REST API.

use std::fmt;

use crate::token::SecretToken;

/// The `Authorization` a request carries. `Debug` never shows the token.
#[derive(Clone)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretToken),
    /// `Authorization: Basic base64(<user>:<token>)`.
    Basic { user: String, token: SecretToken },
}

impl Credential {
    /// The header value. Built only when a request is sent.
    pub(crate) fn header_value(&self) -> Result<reqwest::header::HeaderValue, InvalidHeader> {
        let text = match self {
            Credential::Bearer(token) => token.bearer_authorization(),
            Credential::Basic { user, token } => token.basic_authorization(user),
        };
        let mut value = reqwest::header::HeaderValue::from_str(&text).map_err(|_| InvalidHeader)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Bearer(token) => write!(f, "Bearer({token:?})"),
            Credential::Basic { user, token } => write!(f, "Basic({user}:{token:?})"),
        }
    }
}

/// The credential cannot be put into an HTTP header (a character HTTP forbids).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the user name or token contains a character that cannot be sent in an HTTP header")]
pub struct InvalidHeader;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carry_the_token_and_debug_hides_it() {
        let token = SecretToken::parse("s3cr3t+/=").unwrap();
        let bearer = Credential::Bearer(token.clone());
        assert_eq!(bearer.header_value().unwrap(), "Bearer s3cr3t+/=");
        assert!(bearer.header_value().unwrap().is_sensitive());
        let basic = Credential::Basic {
            user: "dev@example.com".into(),
            token,
        };
        // base64("dev@example.com:s3cr3t+/=")
        let expected = "ZGV2QGV4YW1wbGUuY29tOnMzY3IzdCsvPQ==";
        assert_eq!(
            basic.header_value().unwrap(),
            format!("Basic {expected}").as_str()
        );
        for shown in [format!("{bearer:?}"), format!("{basic:?}")] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }
}
