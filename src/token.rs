//! The secret token, wrapped so it cannot leak through `Debug`, `Display`, logs or error chains.

use std::fmt;

use zeroize::Zeroizing;

/// What every formatting of a [`SecretToken`] prints.
pub const REDACTED: &str = "[redacted]";

/// A Bitbucket token (or app password). The only way to read it is [`SecretToken::expose`], which
/// is called where it is sent to Bitbucket or written into a rendered Secret, and nowhere else.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(Zeroizing<String>);

/// Why the bytes of a source Secret cannot be used as a token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MalformedToken {
    #[error("the token is empty")]
    Empty,
    #[error("the token is not valid UTF-8 text")]
    NotUtf8,
    #[error(
        "the token contains whitespace or control characters inside it (at byte {0}); paste only the token"
    )]
    InnerWhitespaceOrControl(usize),
}

impl SecretToken {
    /// Wraps a token taken from a Secret or a file. Surrounding whitespace (a trailing newline from
    /// `echo` or an editor) is removed; anything non-printable inside the token is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MalformedToken> {
        let text = std::str::from_utf8(bytes).map_err(|_| MalformedToken::NotUtf8)?;
        Self::parse(text)
    }

    /// Same as [`SecretToken::from_bytes`] for text.
    pub fn parse(text: &str) -> Result<Self, MalformedToken> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(MalformedToken::Empty);
        }
        if let Some((index, _)) = trimmed
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(MalformedToken::InnerWhitespaceOrControl(index));
        }
        Ok(Self(Zeroizing::new(trimmed.to_string())))
    }

    /// The token itself. Call only where it is sent to Bitbucket or rendered into a Secret.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The `Authorization` header value `Basic base64(<user>:<token>)` (RFC 7617): the one place
    /// the operator builds it, for Bitbucket's REST API and for git alike.
    pub fn basic_authorization(&self, user: &str) -> String {
        use base64::Engine as _;
        let pair = Zeroizing::new(format!("{user}:{}", self.expose()));
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
        format!("Basic {encoded}")
    }

    /// The `Authorization` header value `Bearer <token>` (RFC 6750).
    pub fn bearer_authorization(&self) -> String {
        format!("Bearer {}", self.expose())
    }

    /// A short, stable, one-way fingerprint (`sha256:` and 12 hex digits): shows rotation in status
    /// without revealing the token.
    pub fn fingerprint(&self) -> String {
        let hex = crate::digest::sha256_hex(self.0.as_bytes());
        format!("sha256:{}", &hex[..12])
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "ATCTT3xFfGN0-s3cr3t+/=%value";

    #[test]
    fn formatting_never_shows_the_token() {
        let token = SecretToken::parse(RAW).unwrap();
        for shown in [
            format!("{token}"),
            format!("{token:?}"),
            format!("{token:#?}"),
            format!("{:?}", Some(&token)),
            format!("{:?}", (1, token.clone())),
        ] {
            assert!(!shown.contains("s3cr3t"), "leaked in {shown}");
            assert!(shown.contains(REDACTED));
        }
        assert_eq!(token.expose(), RAW);
    }

    #[test]
    fn trims_surrounding_whitespace_and_refuses_inner_whitespace() {
        assert_eq!(SecretToken::parse(" abc\n").unwrap().expose(), "abc");
        assert_eq!(SecretToken::parse("  \n"), Err(MalformedToken::Empty));
        assert_eq!(
            SecretToken::parse("ab c"),
            Err(MalformedToken::InnerWhitespaceOrControl(2))
        );
        assert_eq!(
            SecretToken::parse("ab\u{7}c"),
            Err(MalformedToken::InnerWhitespaceOrControl(2))
        );
        assert_eq!(
            SecretToken::from_bytes(&[0xff, 0xfe]),
            Err(MalformedToken::NotUtf8)
        );
    }

    #[test]
    fn fingerprint_is_short_stable_and_distinct() {
        let a = SecretToken::parse("token-a").unwrap();
        let b = SecretToken::parse("token-b").unwrap();
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(a.fingerprint().starts_with("sha256:"));
        assert_eq!(a.fingerprint().len(), "sha256:".len() + 12);
        assert!(!a.fingerprint().contains("token-a"));
    }

    #[test]
    fn authorization_headers_follow_the_rfcs() {
        // RFC 7617, section 2: base64 of "Aladdin:open".
        let token = SecretToken::parse("open").unwrap();
        assert_eq!(
            token.basic_authorization("Aladdin"),
            "Basic QWxhZGRpbjpvcGVu"
        );
        assert_eq!(token.bearer_authorization(), "Bearer open");
    }
}
