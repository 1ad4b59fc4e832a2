//! Durations written the Go way (`90s`, `30m`, `1h30m`, `336h`), as Kubernetes users know them
//! from `kubectl` flags and other CRDs, and as CEL's `duration()` parses them.

use std::{fmt, str::FromStr, time::Duration};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pattern the CRD schema enforces: Go's `time.ParseDuration` syntax without a sign
/// (`1h`, `1h30m`, `1.5h`, `.5h`, `1.h`, `250ms`, `0`); [`GoDuration::from_str`] accepts exactly
/// these strings.
pub const GO_DURATION_PATTERN: &str =
    r"^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";

/// A non-negative duration in Go's `time.ParseDuration` syntax
/// (<https://pkg.go.dev/time#ParseDuration>), parsed by kube's [`kube::core::Duration`] (the
/// Rust counterpart of apimachinery's `metav1.Duration`) and kept with its original text so a
/// round trip through the API leaves the user's spelling untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoDuration {
    text: String,
    value: Duration,
}

/// Why a duration string was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GoDurationError {
    #[error("empty duration: write a number and a unit, such as 30m or 1h")]
    Empty,
    #[error("invalid duration {0:?}: use units h, m, s, ms, us or ns, such as 30m or 1h30m")]
    Invalid(String),
    #[error("duration {0:?} is negative: write a positive length of time, such as 30m")]
    Negative(String),
}

impl GoDuration {
    /// The parsed length of time.
    pub fn as_duration(&self) -> Duration {
        self.value
    }

    /// The text as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for GoDuration {
    type Err = GoDurationError;

    /// Parses with [`kube::core::Duration`]; the pattern check first keeps out what Go refuses
    /// but a float parser would take (`1e3h`, `inf`, a bare number other than `0`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(GoDurationError::Empty);
        }
        if text.starts_with('-') {
            return Err(GoDurationError::Negative(text.to_string()));
        }
        if !pattern().is_match(text) {
            return Err(GoDurationError::Invalid(text.to_string()));
        }
        let parsed: kube::core::Duration = text
            .parse()
            .map_err(|_| GoDurationError::Invalid(text.to_string()))?;
        Ok(Self {
            text: text.to_string(),
            value: parsed.into(),
        })
    }
}

/// [`GO_DURATION_PATTERN`], compiled once.
fn pattern() -> &'static regex_lite::Regex {
    static PATTERN: std::sync::OnceLock<regex_lite::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex_lite::Regex::new(GO_DURATION_PATTERN).expect("GO_DURATION_PATTERN is a valid regex")
    })
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for GoDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GoDuration".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": GO_DURATION_PATTERN,
            "maxLength": 32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Duration {
        text.parse::<GoDuration>().unwrap().as_duration()
    }

    #[test]
    fn parses_go_style_durations() {
        // The forms of Go's own parseDurationTests (time/time_test.go) without a sign.
        assert_eq!(parse(".5h"), Duration::from_secs(1800));
        assert_eq!(parse("1.h"), Duration::from_secs(3600));
        assert_eq!(parse("0"), Duration::ZERO);
        assert_eq!(parse("+5s"), Duration::from_secs(5));
        assert_eq!(parse("1h"), Duration::from_secs(3600));
        assert_eq!(parse("336h"), Duration::from_secs(336 * 3600));
        assert_eq!(parse("1h30m"), Duration::from_secs(5400));
        assert_eq!(parse("1.5h"), Duration::from_secs(5400));
        assert_eq!(parse("90s"), Duration::from_secs(90));
        assert_eq!(parse("250ms"), Duration::from_millis(250));
        assert_eq!(parse("0s"), Duration::ZERO);
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "", "1", "h", "1d", ".", ".h", "-1h", "1h ", "1 h", "1hh", "1e3h", "inf", "NaNh",
            "0x1h",
        ] {
            assert!(
                bad.parse::<GoDuration>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn pattern_agrees_with_parser_on_samples() {
        let pattern = regex_lite::Regex::new(GO_DURATION_PATTERN).unwrap();
        for sample in [
            "1h", "1h30m", "1.5h", "10µs", "1d", "", "1", "-1h", "1.h", ".5h", "0", "1e3h",
        ] {
            assert_eq!(
                pattern.is_match(sample),
                sample.parse::<GoDuration>().is_ok(),
                "pattern and parser disagree on {sample:?}"
            );
        }
    }

    #[test]
    fn negative_durations_say_so() {
        assert_eq!(
            "-1h".parse::<GoDuration>(),
            Err(GoDurationError::Negative("-1h".into()))
        );
    }

    #[test]
    fn keeps_the_users_spelling() {
        let d: GoDuration = serde_json::from_str("\"90m\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"90m\"");
    }
}
