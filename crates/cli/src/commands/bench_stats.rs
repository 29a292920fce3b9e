//! Small numeric helpers the benchmarks' JSON shares.

use serde_json::{Value, json};

/// Two decimals: enough for seconds and milliseconds in a report.
pub fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `{"samples", "p50", "p99", "max"}` of latencies (`null` percentiles without samples).
pub fn percentiles(samples: &[f64]) -> Value {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let last = sorted.len().checked_sub(1)?;
        let index = ((last as f64) * q).round() as usize;
        sorted.get(index.min(last)).copied().map(round)
    };
    json!({"samples": sorted.len(), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_nothing_are_null() {
        assert_eq!(
            percentiles(&[]),
            json!({"samples": 0, "p50": null, "p99": null, "max": null})
        );
        assert_eq!(percentiles(&[3.0, 1.0, 2.0])["p50"], json!(2.0));
        assert_eq!(percentiles(&[3.0, 1.0, 2.0])["max"], json!(3.0));
    }
}
