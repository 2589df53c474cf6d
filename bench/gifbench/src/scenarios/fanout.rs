//! (a) One room, `a_subs` subscribers and one sender; offered rates step up. Per step: delivered share,
//! send → receipt latency at every subscriber, server CPU and RSS.

use std::sync::Arc;

use anyhow::{bail, Result};

use super::{drain, open_loop, settle, setup_many, Sizes};
use crate::client::Target;
use crate::machine::{rss_bytes, CpuMeter};
use crate::servers::Server;
use crate::stats::{Lat, Recorder};

/// Highest p99 (ms) at which a fully delivered step counts as sustained.
pub const P99_LIMIT_MS: f64 = 250.0;

/// One offered rate's outcome.
#[derive(Debug, Clone)]
pub struct Step {
    /// Offered messages per second.
    pub rate: u32,
    /// Frames received ÷ (messages offered × subscribers), percent.
    pub delivered_pct: f64,
    /// Send → receipt latency.
    pub lat: Lat,
    /// Server CPU over the sending window, percent of one core.
    pub cpu_pct: f64,
    /// Server CPU per delivered frame over the whole step (µs).
    pub us_per_delivery: Option<f64>,
    /// Server RSS at the step's end, MB.
    pub rss_mb: f64,
    /// The generator's own CPU over the sending window, percent of its core (near 100: it limits).
    pub gen_cpu_pct: f64,
    /// Sends refused, failed or not made.
    pub lost_sends: usize,
    /// Server and generator time spent waiting for their core, percent (other load on the machine).
    pub wait_pct: (f64, f64),
}

impl Step {
    /// Every message delivered and p99 within the limit.
    pub fn sustained(&self) -> bool {
        self.delivered_pct >= 100.0 && self.lat.p99.is_some_and(|p| p <= P99_LIMIT_MS)
    }
}

/// (a) on one server.
#[derive(Debug, Clone)]
pub struct Fanout {
    /// The low-rate step (`a_low_rate`).
    pub low: Step,
    /// The stepped rates.
    pub steps: Vec<Step>,
}

impl Fanout {
    /// The highest offered rate that was sustained.
    pub fn best(&self) -> Option<u32> {
        self.steps.iter().filter(|s| s.sustained()).map(|s| s.rate).max()
    }
}

/// Runs (a) against `server`.
pub async fn run(server: &Server, target: &Target, sizes: &Sizes) -> Result<Fanout> {
    let rec = Arc::new(Recorder::new());
    let sender = target.member().await?;
    let room = target.create_room(&sender, "bench (a) fan-out", 100).await?;
    let after = target.enter(&sender, &room).await?;
    // The sender's own page holds the seat and reads every event too; its frames are not counted.
    let _sender_live = target.subscribe_room(&sender, &room, after, None).await?;
    let subs = setup_many(sizes.a_subs, |_| {
        let (target, room, rec) = (target.clone(), room.clone(), rec.clone());
        async move {
            let m = target.member().await?;
            let after = target.enter(&m, &room).await?;
            target.subscribe_room(&m, &room, after, Some(rec)).await
        }
    })
    .await?;
    let mut rates = vec![sizes.a_low_rate];
    rates.extend(&sizes.a_rates);
    let mut steps = Vec::new();
    for (k, &rate) in rates.iter().enumerate() {
        let step_id = k as u32 + 1;
        let n = (rate as f64 * sizes.step_secs).round() as usize;
        settle(server.pid).await;
        let cpu = CpuMeter::start(server.pid)?;
        let gen = CpuMeter::start(std::process::id())?;
        let sent = open_loop(target, &rec, step_id, rate, n, |_| (sender.clone(), room.clone())).await;
        let (cpu_pct, gen_cpu_pct) = (cpu.percent()?, gen.percent()?);
        let wait_pct = (cpu.wait_percent()?, gen.wait_percent()?);
        let expected = n * subs.len();
        drain(&rec, step_id, expected, sizes.drain_secs).await;
        let got = rec.sorted(step_id);
        let cpu_secs = cpu.secs()?;
        let step = Step {
            rate,
            delivered_pct: 100.0 * got.len() as f64 / expected.max(1) as f64,
            lat: Lat::of(&got),
            cpu_pct,
            us_per_delivery: (!got.is_empty()).then(|| cpu_secs * 1e6 / got.len() as f64),
            rss_mb: rss_bytes(server.pid)? as f64 / 1e6,
            gen_cpu_pct,
            lost_sends: sent.failed + sent.skipped,
            wait_pct,
        };
        eprintln!(
            "  (a) {} {rate}/s: delivered {:.1} %, p50 {:?} p99 {:?} ms, cpu {:.0} %, gen {:.0} %, waited {:.0?} %{}",
            target.kind.label(),
            step.delivered_pct,
            step.lat.p50,
            step.lat.p99,
            step.cpu_pct,
            step.gen_cpu_pct,
            step.wait_pct,
            sent.first_error.map(|e| format!(", first send error: {e}")).unwrap_or_default()
        );
        // Nothing at the lowest rate means the server or the protocol is broken; an overloaded higher
        // step is a result.
        if k == 0 && got.is_empty() {
            bail!("(a) {}: nothing delivered at {rate} msg/s", target.kind.label());
        }
        steps.push(step);
    }
    drop(subs);
    let low = steps.remove(0);
    Ok(Fanout { low, steps })
}
