//! Durations written the Go way (`90s`, `30m`, `1h30m`, `336h`), as Kubernetes users know them
//! from `kubectl` flags and other CRDs, and as CEL's `duration()` parses them.

use std::{fmt, str::FromStr, time::Duration};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pattern the CRD schema enforces; [`GoDuration::from_str`] accepts exactly these strings.
pub const GO_DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";

/// A non-negative duration in Go's `time.ParseDuration` syntax, kept with its original text so a
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
    #[error("duration {0:?} is too large")]
    Overflow(String),
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

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

impl FromStr for GoDuration {
    type Err = GoDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(GoDurationError::Empty);
        }
        let invalid = || GoDurationError::Invalid(text.to_string());
        let mut total_nanos: u128 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(invalid)?;
            let (number, after_number) = rest.split_at(number_len);
            let unit_len = after_number
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after_number.len());
            let (unit, after_unit) = after_number.split_at(unit_len);
            let scale = unit_nanos(unit).ok_or_else(invalid)?;
            let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
            if whole.is_empty() || (number.contains('.') && fraction.is_empty()) {
                return Err(invalid());
            }
            let whole: u128 = whole.parse().map_err(|_| invalid())?;
            let mut part = whole
                .checked_mul(scale)
                .ok_or_else(|| GoDurationError::Overflow(text.into()))?;
            let mut fraction_scale = scale;
            for digit in fraction.chars() {
                fraction_scale /= 10;
                let digit = u128::from(digit.to_digit(10).ok_or_else(invalid)?);
                part += digit * fraction_scale;
            }
            total_nanos = total_nanos
                .checked_add(part)
                .ok_or_else(|| GoDurationError::Overflow(text.into()))?;
            rest = after_unit;
        }
        let secs = u64::try_from(total_nanos / 1_000_000_000)
            .map_err(|_| GoDurationError::Overflow(text.into()))?;
        // Always below one second's worth of nanoseconds, so it fits in u32.
        let nanos = (total_nanos % 1_000_000_000) as u32;
        Ok(Self {
            text: text.to_string(),
            value: Duration::new(secs, nanos),
        })
    }
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
        for bad in ["", "1", "h", "1d", "1.h", ".5h", "-1h", "1h ", "1 h", "1hh"] {
            assert!(
                bad.parse::<GoDuration>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn pattern_agrees_with_parser_on_samples() {
        let pattern = regex_lite::Regex::new(GO_DURATION_PATTERN).unwrap();
        for sample in ["1h", "1h30m", "1.5h", "10µs", "1d", "", "1", "-1h", "1.h"] {
            assert_eq!(
                pattern.is_match(sample),
                sample.parse::<GoDuration>().is_ok(),
                "pattern and parser disagree on {sample:?}"
            );
        }
    }

    #[test]
    fn keeps_the_users_spelling() {
        let d: GoDuration = serde_json::from_str("\"90m\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"90m\"");
    }
}
