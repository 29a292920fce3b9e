//! Instant arithmetic that cannot panic. `Instant + Duration` panics when the sum does not fit,
//! and some of the durations added here come from the network (`Retry-After`, `expires_in`).
//! Every addition to an instant in this crate goes through [`later`].

use std::time::Duration;

use tokio::time::Instant;

/// Far enough to mean "never" for any wait here, near enough to fit every platform's instant
/// (the same horizon tokio uses for its own "far future").
const HORIZON: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `at + by`, or `at` plus [`HORIZON`] when the sum does not fit (or `by` is longer).
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by.min(HORIZON))
        .or_else(|| at.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_additions_saturate_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert!(later(now, Duration::MAX) > now);
        assert!(later(now, Duration::from_secs(u64::MAX / 2)) > now);
    }
}
