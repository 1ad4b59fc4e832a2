//! Instants as a person reads them next to the exact time: "in 12 days", "3 minutes ago".

use chrono::{DateTime, SecondsFormat, Utc};

/// `at` relative to `now`, in the largest whole unit (seconds up to 2 minutes, minutes up to 2
/// hours, hours up to 2 days, then days), rounded down: "in 12 days", "5 minutes ago", "now".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (at - now).num_seconds();
    if seconds == 0 {
        return "now".to_string();
    }
    let span = amount(seconds.unsigned_abs());
    if seconds > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// `at` with its relative form: "2026-05-01T10:00:00Z (in 12 days)".
pub fn exact_and_relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        at.to_rfc3339_opts(SecondsFormat::Secs, true),
        relative(at, now)
    )
}

/// Converts apimachinery's `Time` (a jiff timestamp) to chrono.
pub fn from_kube(time: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> DateTime<Utc> {
    from_jiff(time.0)
}

/// Converts a jiff timestamp (apimachinery `Time` and `MicroTime`) to chrono.
pub fn from_jiff(stamp: k8s_openapi::jiff::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(stamp.as_second(), stamp.subsec_nanosecond().unsigned_abs())
        .unwrap_or_default()
}

fn amount(seconds: u64) -> String {
    let (count, unit) = match seconds {
        0..120 => (seconds, "second"),
        120..7_200 => (seconds / 60, "minute"),
        7_200..172_800 => (seconds / 3_600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn the_largest_whole_unit_rounded_down() {
        let now = Utc::now();
        let cases = [
            (TimeDelta::days(12) + TimeDelta::hours(3), "in 12 days"),
            (TimeDelta::days(2), "in 2 days"),
            (TimeDelta::hours(47), "in 47 hours"),
            (TimeDelta::minutes(-3), "3 minutes ago"),
            (TimeDelta::seconds(-1), "1 second ago"),
            (TimeDelta::seconds(90), "in 90 seconds"),
            (TimeDelta::zero(), "now"),
            (-TimeDelta::days(400), "400 days ago"),
        ];
        for (delta, expected) in cases {
            assert_eq!(relative(now + delta, now), expected, "{delta}");
        }
    }

    #[test]
    fn exact_time_comes_first() {
        let at = DateTime::parse_from_rfc3339("2026-05-13T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let now = at - TimeDelta::days(12);
        assert_eq!(
            exact_and_relative(at, now),
            "2026-05-13T08:00:00Z (in 12 days)"
        );
    }

    #[test]
    fn kube_times_keep_their_instant() {
        let at = Utc::now();
        let kube = crate::api::kube_time(at);
        assert_eq!(from_kube(&kube), at);
    }
}
