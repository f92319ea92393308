//! Durations as people and Kubernetes write them: `30s`, `1h30m`, `500ms`, `1.5s`; a bare number
//! is seconds. Parsing is `humantime`'s (checked arithmetic: an oversized value is an error,
//! never a panic), and every value is held to a caller-given maximum.
//!
//! Used for config values (`lock_timeout`, HTTP timeouts) and the kubelet's `cacheDuration`,
//! which Kubernetes formats like Go's `time.Duration.String()` (`12h0m0s`). Never panics on
//! any input.

use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DurationError {
    #[error("invalid duration {0:?}: use a number with a unit, e.g. 30s, 500ms, 5m or 1h30m")]
    Invalid(String),
    #[error("{value:?} is longer than the maximum {max}: use a value up to {max}")]
    TooLong { value: String, max: String },
}

/// Parses `1h30m`, `45s`, `250ms`, `1.5s`, `0`; a bare number is seconds. Longer than `max`
/// is an error naming the maximum.
pub fn parse(text: &str, max: Duration) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let invalid = || DurationError::Invalid(trimmed.to_string());
    let too_long = || DurationError::TooLong {
        value: trimmed.to_string(),
        max: format(max),
    };
    if trimmed.is_empty() {
        return Err(invalid());
    }
    let duration = if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is still just "too long".
        Duration::from_secs(trimmed.parse::<u64>().map_err(|_| too_long())?)
    } else {
        match humantime::parse_duration(trimmed) {
            Ok(duration) => duration,
            Err(humantime::DurationError::NumberOverflow) => return Err(too_long()),
            Err(_) => return Err(invalid()),
        }
    };
    if duration > max {
        return Err(too_long());
    }
    Ok(duration)
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

    const DAY: Duration = Duration::from_secs(86400);

    #[test]
    fn parses_go_syntax() {
        let parse = |text| parse(text, DAY);
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("12"), Ok(Duration::from_secs(12)));
        assert_eq!(parse(" 2m "), Ok(Duration::from_secs(120)));
        assert_eq!(parse("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("12h"), Ok(Duration::from_secs(43200)));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "s", "10x", "-5s", "h1", "1h30", "1e3s", "٣s"] {
            assert!(
                matches!(parse(bad, DAY), Err(DurationError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse("10x", DAY).unwrap_err().to_string(),
            "invalid duration \"10x\": use a number with a unit, e.g. 30s, 500ms, 5m or 1h30m"
        );
    }

    #[test]
    fn oversized_values_are_errors_not_panics() {
        let hour = Duration::from_secs(3600);
        for huge in [
            "10000000000000000000s",
            "100000000000000000000000",
            "18446744073709551615",
            "99999999999999999999h",
            "18446744073709551615s 1s",
            "2h",
            "3601",
        ] {
            assert!(
                matches!(parse(huge, hour), Err(DurationError::TooLong { .. })),
                "{huge:?}: {:?}",
                parse(huge, hour)
            );
        }
        assert_eq!(
            parse("2h", hour).unwrap_err().to_string(),
            "\"2h\" is longer than the maximum 1h0m0s: use a value up to 1h0m0s"
        );
        assert_eq!(parse("1h", hour), Ok(hour));
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
