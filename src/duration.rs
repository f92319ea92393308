//! Durations as people and Kubernetes write them: Go's syntax (`30s`, `1h30m`, `500ms`).
//!
//! Used for config values (`lock_timeout`, HTTP timeouts) and the kubelet's `cacheDuration`,
//! which Kubernetes formats like Go's `time.Duration.String()` (`12h0m0s`).

use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid duration {0:?}: use a number with a unit, e.g. 30s, 500ms, 5m or 1h30m")]
pub struct DurationError(pub String);

/// The longest duration Go's `time.Duration` (an int64 of nanoseconds) can hold, about 292
/// years. Longer values are no duration to the kubelet, lose precision here and overflow
/// `Instant` arithmetic (found by fuzz/duration).
pub const MAX: Duration = Duration::from_nanos(i64::MAX as u64);

/// Parses `1h30m`, `45s`, `250ms`, `1.5s`, `0`; a bare number is seconds. At most [`MAX`].
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError(text.to_string());
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = trimmed.parse::<u64>() {
        return Some(Duration::from_secs(seconds))
            .filter(|total| *total <= MAX)
            .ok_or_else(invalid);
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        if number_len == 0 {
            return Err(invalid());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit_seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        let part = Duration::try_from_secs_f64(number * unit_seconds).map_err(|_| invalid())?;
        total = total
            .checked_add(part)
            .filter(|total| *total <= MAX)
            .ok_or_else(invalid)?;
    }
    Ok(total)
}

/// Go's `time.Duration.String()` for whole seconds and up: `12h0m0s`, `1h30m0s`, `45s`, `0s`.
/// Sub-second parts are given in milliseconds (`1.5s`) — the kubelet accepts either.
pub fn format(duration: Duration) -> String {
    let total = duration.as_secs();
    let millis = duration.subsec_millis();
    let (hours, minutes, seconds) = (total / 3600, (total % 3600) / 60, total % 60);
    let seconds = if millis == 0 {
        format!("{seconds}s")
    } else {
        let fraction = format!("{millis:03}");
        format!("{seconds}.{}s", fraction.trim_end_matches('0'))
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_syntax() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("12"), Ok(Duration::from_secs(12)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "s", "10x", "-5s", "h1", "1h30"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse("10x").unwrap_err().to_string(),
            "invalid duration \"10x\": use a number with a unit, e.g. 30s, 500ms, 5m or 1h30m"
        );
    }

    #[test]
    fn longer_than_go_allows_is_an_error_not_a_panic() {
        // Found by fuzz/duration: the sum overflowed (a panic), and a huge value did not
        // survive format and parse.
        for bad in [
            "10000000000000000000s10000000000000000000s",
            "1011211110201111h3m",
            "18446744073709551615",
            "2562048h",
        ] {
            assert_eq!(parse(bad), Err(DurationError(bad.into())), "{bad:?}");
        }
        assert_eq!(parse("2562047h"), Ok(Duration::from_secs(2562047 * 3600)));
        assert_eq!(
            parse(&format(MAX)),
            Ok(Duration::new(MAX.as_secs(), 854_000_000))
        );
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format(Duration::from_secs(12 * 3600)), "12h0m0s");
        assert_eq!(format(Duration::from_secs(5400)), "1h30m0s");
        assert_eq!(format(Duration::from_secs(45)), "45s");
        assert_eq!(format(Duration::from_secs(61)), "1m1s");
        assert_eq!(format(Duration::ZERO), "0s");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
    }
}
