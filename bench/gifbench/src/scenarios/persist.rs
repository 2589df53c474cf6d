//! (e) Persisted sends over `e_rooms` rooms, one member each (its room page open): offered rates step
//! up, open-loop over many keep-alive HTTP/1.1 connections; the ack (`sendMessage` answered = committed)
//! latency decides. gifchat only: the baselines store nothing.

use std::sync::Arc;

use anyhow::{bail, Result};

use super::{drain, open_loop, settle, setup_many, Sizes};
use crate::client::{Live, Member, Target};
use crate::machine::CpuMeter;
use crate::servers::Server;
use crate::stats::{Lat, Recorder};

/// Highest ack p99 (ms) at which a step with no lost send counts as sustained.
pub const ACK_P99_LIMIT_MS: f64 = 50.0;

/// One offered rate's outcome.
#[derive(Debug, Clone)]
pub struct PStep {
    /// Offered sends per second.
    pub rate: u32,
    /// Scheduled time → ack.
    pub ack: Lat,
    /// Sends refused, failed or not made.
    pub lost: usize,
    /// Server CPU over the sending window, percent of one core.
    pub cpu_pct: f64,
    /// Each room's member received its own messages, percent.
    pub delivered_pct: f64,
    /// Server time spent waiting for its core, percent (other load on the machine).
    pub wait_pct: f64,
}

impl PStep {
    /// No send lost and ack p99 within the limit.
    pub fn sustained(&self) -> bool {
        self.lost == 0 && self.ack.p99.is_some_and(|p| p <= ACK_P99_LIMIT_MS)
    }
}

/// (e) on one store.
#[derive(Debug, Clone)]
pub struct Persist {
    /// The steps.
    pub steps: Vec<PStep>,
}

impl Persist {
    /// The highest rate that was sustained.
    pub fn best(&self) -> Option<u32> {
        self.steps.iter().filter(|s| s.sustained()).map(|s| s.rate).max()
    }
}

/// Runs (e) against `server`.
pub async fn run(server: &Server, target: &Target, sizes: &Sizes) -> Result<Persist> {
    let rec = Arc::new(Recorder::new());
    let rooms: Vec<(Member, String, Live)> = setup_many(sizes.e_rooms, |r| {
        let (target, rec) = (target.clone(), rec.clone());
        async move {
            let m = target.member().await?;
            let id = target.create_room(&m, &format!("bench (e) room {r}"), 10).await?;
            let after = target.enter(&m, &id).await?;
            let live = target.subscribe_room(&m, &id, after, Some(rec)).await?;
            Ok((m, id, live))
        }
    })
    .await?;
    let mut steps = Vec::new();
    for (k, &rate) in sizes.e_rates.iter().enumerate() {
        let step_id = k as u32 + 1;
        let n = (rate as f64 * sizes.step_secs).round() as usize;
        settle(server.pid).await;
        let cpu = CpuMeter::start(server.pid)?;
        let sent = open_loop(target, &rec, step_id, rate, n, |i| {
            let (m, id, _) = &rooms[i % rooms.len()];
            (m.clone(), id.clone())
        })
        .await;
        let (cpu_pct, wait_pct) = (cpu.percent()?, cpu.wait_percent()?);
        drain(&rec, step_id, sent.ok, sizes.drain_secs).await;
        let step = PStep {
            rate,
            ack: Lat::of(&sent.acks),
            lost: sent.failed + sent.skipped,
            cpu_pct,
            delivered_pct: 100.0 * rec.count(step_id) as f64 / n.max(1) as f64,
            wait_pct,
        };
        eprintln!(
            "  (e) {} {rate}/s: ack p50 {:?} p99 {:?} ms, lost {}, cpu {:.0} %{}",
            target.kind.label(),
            step.ack.p50,
            step.ack.p99,
            step.lost,
            step.cpu_pct,
            sent.first_error.map(|e| format!(", first send error: {e}")).unwrap_or_default()
        );
        // No ack at the lowest rate means the server is broken; a saturated higher step ends the
        // stepping (the rates above it would only measure the backlog).
        if k == 0 && sent.ok == 0 {
            bail!("(e) {}: no send acknowledged at {rate}/s", target.kind.label());
        }
        let saturated = step.lost * 2 > n;
        steps.push(step);
        if saturated {
            eprintln!("  (e) {}: more than half the sends lost at {rate}/s; higher rates not run", target.kind.label());
            break;
        }
    }
    Ok(Persist { steps })
}
