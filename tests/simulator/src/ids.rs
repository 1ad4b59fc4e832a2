//! Stable, deterministic identifiers (UUIDs, numeric ids) derived from names, so the
//! same fixture always yields the same JSON.

fn fnv1a(seed: u64, text: &str) -> u64 {
    let mut hash = seed;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A Bitbucket-Cloud-style UUID in braces, e.g. `{1c2d...}`.
pub(crate) fn uuid_for(text: &str) -> String {
    let hi = fnv1a(0xcbf2_9ce4_8422_2325, text);
    let lo = fnv1a(0x84222325_cbf29ce4, text);
    format!(
        "{{{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}}}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        (lo >> 48) & 0x0fff,
        lo & 0xffff_ffff_ffff
    )
}

/// A positive numeric id in `[base, base + 90_000)`.
pub(crate) fn numeric_id(base: u64, text: &str) -> u64 {
    base + fnv1a(0xcbf2_9ce4_8422_2325, text) % 90_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(uuid_for("a"), uuid_for("a"));
        assert_ne!(uuid_for("a"), uuid_for("b"));
        assert_eq!(uuid_for("a").len(), 38);
        let id = numeric_id(1000, "x");
        assert!((1000..91_000).contains(&id));
    }
}
