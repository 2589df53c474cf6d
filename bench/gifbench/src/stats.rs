//! Latency samples and their percentiles. Every bench text carries `BENCH|<step>|<sent µs>|`, so a
//! receiver needs no lookup to know which step a frame belongs to and how long it travelled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The marker that starts the timing part of every text the bench sends.
pub const MARKER: &str = "BENCH|";

/// Collects (step → latencies in µs) from every receiver of one scenario run.
///
/// The generator runs on one thread (a current-thread runtime), so the mutex is never contended; it is
/// there because tasks must be `Send`.
pub struct Recorder {
    epoch: Instant,
    samples: Mutex<HashMap<u32, Vec<u32>>>,
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Self { epoch: Instant::now(), samples: Mutex::new(HashMap::new()) }
    }

    /// Microseconds since this recorder's epoch.
    pub fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// The text of a message for `step`, sent at `sent_us`, padded with `x` to `len` bytes.
    pub fn text(step: u32, sent_us: u64, seq: u64, len: usize) -> String {
        let mut t = format!("{MARKER}{step}|{sent_us}|{seq}|");
        while t.len() < len {
            t.push('x');
        }
        t
    }

    /// Records one received frame if it carries the marker; frames without it are ignored.
    pub fn frame(&self, frame: &str) {
        let Some(at) = frame.find(MARKER) else { return };
        let mut parts = frame[at + MARKER.len()..].splitn(3, '|');
        let (Some(step), Some(sent)) = (parts.next(), parts.next()) else { return };
        let (Ok(step), Ok(sent)) = (step.parse::<u32>(), sent.parse::<u64>()) else { return };
        let lat = self.now_us().saturating_sub(sent).min(u32::MAX as u64) as u32;
        self.samples.lock().unwrap_or_else(|p| p.into_inner()).entry(step).or_default().push(lat);
    }

    /// How many frames of `step` arrived so far.
    pub fn count(&self, step: u32) -> usize {
        self.samples.lock().unwrap_or_else(|p| p.into_inner()).get(&step).map_or(0, Vec::len)
    }

    /// The latencies of `step` (a copy, sorted).
    pub fn sorted(&self, step: u32) -> Vec<u32> {
        let mut v = self.samples.lock().unwrap_or_else(|p| p.into_inner()).get(&step).cloned().unwrap_or_default();
        v.sort_unstable();
        v
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// The `q` quantile (0..=1) of sorted microsecond samples, in milliseconds; None when empty.
pub fn quantile_ms(sorted: &[u32], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[idx] as f64 / 1000.0)
}

/// Latency summary of one set of samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lat {
    /// Samples.
    pub n: usize,
    /// Median, ms.
    pub p50: Option<f64>,
    /// 99th percentile, ms.
    pub p99: Option<f64>,
    /// 99.9th percentile, ms.
    pub p999: Option<f64>,
}

impl Lat {
    /// Summarises sorted µs samples.
    pub fn of(sorted: &[u32]) -> Self {
        Self {
            n: sorted.len(),
            p50: quantile_ms(sorted, 0.50),
            p99: quantile_ms(sorted, 0.99),
            p999: quantile_ms(sorted, 0.999),
        }
    }
}

/// A millisecond value for a table: "–" when absent.
pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if x < 10.0 => format!("{x:.2}"),
        Some(x) if x < 100.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_frame_is_counted_under_its_step_and_an_unmarked_one_is_not() {
        let r = Recorder::new();
        let text = Recorder::text(3, r.now_us(), 1, 200);
        assert_eq!(text.len(), 200);
        r.frame(&format!("{{\"payload\":{{\"text\":\"{text}\"}}}}"));
        r.frame("{\"type\":\"ping\"}");
        r.frame("BENCH|notanumber|1|");
        assert_eq!(r.count(3), 1);
        assert_eq!(r.count(0), 0);
    }

    #[test]
    fn quantiles_pick_the_nearest_rank() {
        let v: Vec<u32> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(quantile_ms(&v, 0.5), Some(500.0));
        assert_eq!(quantile_ms(&v, 0.99), Some(990.0));
        assert_eq!(quantile_ms(&v, 0.999), Some(999.0));
        assert_eq!(quantile_ms(&[], 0.5), None);
    }
}
