//! Data Center token secrets: `BBDC-` followed by base64 of `"<12-digit id>:"` and 20 random
//! bytes, as Bitbucket Data Center issues them today; older releases issued the same without the
//! `BBDC-` prefix, and both stay valid.
//!
//! The base64 part comes from the DC 9.2 OpenAPI example, whose token decodes to its own id
//! (bitbucket-api.md §2, partly inferred); the prefix is how current releases present new tokens
//! (issue 14's field report; I). The simulator derives a token's id back from its secret, in
//! either form, to serve the token's own access-token record.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const ID_DIGITS: usize = 12;
const ID_MODULUS: u64 = 1_000_000_000_000;
const RANDOM_LEN: usize = 20;

/// The prefix current Data Center releases put before the base64 part.
pub const DC_TOKEN_PREFIX: &str = "BBDC-";

/// Builds a DC token secret for `token_id` (taken modulo 10^12) in today's `BBDC-` form.
///
/// `seed` varies the 20 trailing bytes so several tokens with the same id differ.
pub fn dc_token_secret(token_id: u64, seed: u8) -> String {
    format!(
        "{DC_TOKEN_PREFIX}{}",
        dc_legacy_token_secret(token_id, seed)
    )
}

/// Like [`dc_token_secret`], in the older form without the `BBDC-` prefix.
pub fn dc_legacy_token_secret(token_id: u64, seed: u8) -> String {
    let mut raw = format!("{:0width$}:", token_id % ID_MODULUS, width = ID_DIGITS).into_bytes();
    let mut state = u32::from(seed)
        .wrapping_mul(2_654_435_761)
        .wrapping_add((token_id % 4_294_967_291) as u32)
        | 1;
    for _ in 0..RANDOM_LEN {
        // xorshift32: deterministic filler bytes.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        raw.push((state >> 24) as u8);
    }
    STANDARD.encode(raw)
}

/// Recovers the token id from a DC secret, if the secret has the documented shape.
pub fn dc_token_id(secret: &str) -> Option<u64> {
    let encoded = secret.strip_prefix(DC_TOKEN_PREFIX).unwrap_or(secret);
    let raw = STANDARD.decode(encoded.as_bytes()).ok()?;
    let (digits, rest) = raw.split_at_checked(ID_DIGITS)?;
    if rest.first() != Some(&b':') || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_id() {
        let secret = dc_token_secret(252_973_515_069, 7);
        assert_eq!(secret.len(), 49);
        assert!(secret.starts_with("BBDC-"));
        assert_eq!(dc_token_id(&secret), Some(252_973_515_069));
        let legacy = dc_legacy_token_secret(252_973_515_069, 7);
        assert_eq!(legacy.len(), 44);
        assert_eq!(dc_token_id(&legacy), Some(252_973_515_069));
        assert_eq!(dc_token_id(&dc_token_secret(42, 0)), Some(42));
    }

    #[test]
    fn seeds_change_the_secret() {
        assert_ne!(dc_token_secret(1, 1), dc_token_secret(1, 2));
    }

    #[test]
    fn other_shapes_have_no_id() {
        assert_eq!(dc_token_id("not-base64!"), None);
        assert_eq!(dc_token_id(&STANDARD.encode("12345:abc")), None);
    }
}
