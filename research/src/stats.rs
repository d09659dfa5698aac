//! Summaries of timing samples.

use serde::Serialize;
use std::time::Duration;

/// Summary of a list of samples, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Sum of the samples, milliseconds.
    pub total_ms: f64,
    /// Mean, microseconds.
    pub mean_us: f64,
    /// Median, microseconds.
    pub median_us: f64,
    /// 95th percentile (nearest rank), microseconds.
    pub p95_us: f64,
}

/// Summarize samples given in microseconds (order does not matter; the slice is sorted).
pub fn summarize(samples_us: &mut [f64]) -> Summary {
    if samples_us.is_empty() {
        return Summary::default();
    }
    samples_us.sort_by(f64::total_cmp);
    let n = samples_us.len();
    let total: f64 = samples_us.iter().sum();
    let median = if n % 2 == 1 {
        samples_us.get(n / 2).copied().unwrap_or(0.0)
    } else {
        let a = samples_us.get(n / 2 - 1).copied().unwrap_or(0.0);
        let b = samples_us.get(n / 2).copied().unwrap_or(0.0);
        (a + b) / 2.0
    };
    // nearest-rank percentile: ceil(0.95 n), 1-based
    let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
    let p95 = samples_us.get(rank - 1).copied().unwrap_or(0.0);
    Summary {
        count: n as u64,
        total_ms: total / 1000.0,
        mean_us: total / n as f64,
        median_us: median,
        p95_us: p95,
    }
}

/// A duration in microseconds.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_samples() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        v.reverse();
        let s = summarize(&mut v);
        assert_eq!(s.count, 100);
        assert!((s.mean_us - 50.5).abs() < 1e-9);
        assert!((s.median_us - 50.5).abs() < 1e-9);
        assert!((s.p95_us - 95.0).abs() < 1e-9);
        assert!((s.total_ms - 5.05).abs() < 1e-9);
        assert_eq!(summarize(&mut []), Summary::default());
        let s = summarize(&mut [3.0]);
        assert_eq!((s.median_us, s.p95_us), (3.0, 3.0));
    }
}
