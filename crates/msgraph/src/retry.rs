//! When to try again and how long to wait: `Retry-After` in all its forms (whole seconds,
//! fractional seconds as Graph's identity throttling sends, an HTTP-date), else exponential
//! backoff with full jitter, within caps on attempts and on the total time spent waiting.
//!
//! `Retry-After` is input from the network: whatever it says, the wait it yields is a
//! `Duration` no longer than [`MAX_RETRY_AFTER`], so no arithmetic on it can overflow here or
//! in the caller that schedules a retry with it.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// The longest wait a `Retry-After` can ask for; longer values (a proxy's `1e20`, an HTTP-date
/// in year 9999) are cut to it. Graph's own values are seconds to a few minutes. Ten minutes is
/// the default retry budget of one request ([`RetryPolicy::max_total_delay`]): a caller that
/// schedules a retry with an error's `retry_after` comes back within it, and a throttle that
/// really lasts longer is announced again by the next 429.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Retry limits. `Default` follows the Graph SDK's spirit with a longer horizon for syncs.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// First backoff step when Graph gives no `Retry-After`.
    pub base_delay: Duration,
    /// No single wait is longer than this. A 5xx `Retry-After` above it is clipped (a hint);
    /// a 429 `Retry-After` above it ends the retries instead, since Graph counts early
    /// retries against the quota: the caller gets the error with its `retry_after`.
    pub max_delay: Duration,
    /// Give up once the waits of one request would add up to more than this.
    pub max_total_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(180),
            max_total_delay: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `attempt + 1` (`attempt` counts from 1): `Retry-After` when
    /// given, else `base · 2^(attempt-1)` with full jitter; clipped to `max_delay`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let d = match retry_after {
            Some(ra) => ra,
            None => {
                let exp = self
                    .base_delay
                    .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
                let cap = exp.min(self.max_delay);
                // Full jitter spreads the retries of many concurrent requests apart.
                let frac: f64 = rand::rng().random_range(0.5..=1.0);
                // Not `mul_f64`, which panics when a huge configured delay rounds up past the
                // largest Duration.
                Duration::try_from_secs_f64(cap.as_secs_f64() * frac).unwrap_or(cap)
            }
        };
        d.min(self.max_delay)
    }

    /// Whether a 429's `Retry-After` can be waited out within one request.
    pub fn can_wait(&self, retry_after: Option<Duration>) -> bool {
        retry_after.is_none_or(|ra| ra <= self.max_delay)
    }

    /// Whether another attempt is allowed after `attempt` attempts and `waited` so far, if the
    /// next wait is `next`.
    pub fn allows(&self, attempt: u32, waited: Duration, next: Duration) -> bool {
        attempt < self.max_attempts && waited.saturating_add(next) <= self.max_total_delay
    }
}

/// Parses a `Retry-After` value: `7`, `2.128`, or `Wed, 21 Oct 2015 07:28:00 GMT`, cut to
/// [`MAX_RETRY_AFTER`]. A date in the past means "now". `None` for what is not a wait: text,
/// a negative number, `NaN`, an infinity.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    let wait = match v.parse::<f64>() {
        Ok(secs) if !secs.is_finite() || secs < 0.0 => return None,
        // The only failure left is "too large for a Duration" (`-0` is zero): the cap.
        Ok(secs) => Duration::try_from_secs_f64(secs).unwrap_or(MAX_RETRY_AFTER),
        Err(_) => {
            let when = httpdate::parse_http_date(v).ok()?;
            when.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// HTTP statuses worth retrying: throttling and the transient server faults.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_whole_fractional_and_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 2.128 "),
            Some(Duration::from_millis(2128))
        );
        let in_30s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let d = parse_retry_after(&in_30s).expect("date");
        assert!(
            d <= Duration::from_secs(30) && d >= Duration::from_secs(28),
            "{d:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn huge_retry_after_values_are_capped() {
        for v in ["1e20", "1e13", "18446744073709551616", "1e308"] {
            assert_eq!(parse_retry_after(v), Some(MAX_RETRY_AFTER), "{v}");
        }
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("600.5"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("599"), Some(Duration::from_secs(599)));
    }

    #[test]
    fn retry_after_values_that_are_not_waits_are_ignored() {
        for v in [
            "-5",
            "-1e20",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "",
            "soon",
            "7s",
            "0x10",
            "Fri, 31 Dec 99999 23:59:59 GMT",
        ] {
            assert_eq!(parse_retry_after(v), None, "{v:?}");
        }
        assert_eq!(parse_retry_after("-0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
    }

    #[test]
    fn the_budget_check_cannot_overflow() {
        let p = RetryPolicy {
            max_delay: Duration::MAX,
            max_total_delay: Duration::MAX,
            ..RetryPolicy::default()
        };
        assert!(p.allows(1, Duration::MAX, Duration::MAX));
        assert_eq!(p.delay(1, Some(MAX_RETRY_AFTER)), MAX_RETRY_AFTER);
        // Backoff far past the 16th doubling, from a huge base, stays a wait.
        let huge = RetryPolicy {
            base_delay: Duration::MAX,
            ..p
        };
        assert!(huge.delay(u32::MAX, None) >= Duration::from_secs(1));
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..RetryPolicy::default()
        };
        let d1 = p.delay(1, None);
        assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
        let d3 = p.delay(3, None);
        assert!(d3 >= Duration::from_millis(175) && d3 <= Duration::from_millis(350));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(9))),
            Duration::from_millis(350)
        );
        assert!(p.can_wait(Some(Duration::from_millis(350))));
        assert!(!p.can_wait(Some(Duration::from_millis(351))));
        assert!(p.allows(1, Duration::ZERO, Duration::from_secs(1)));
        assert!(!p.allows(p.max_attempts, Duration::ZERO, Duration::ZERO));
        assert!(!p.allows(1, p.max_total_delay, Duration::from_millis(1)));
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(retryable_status(s));
        }
        for s in [400, 401, 403, 404, 501] {
            assert!(!retryable_status(s));
        }
    }
}
