//! The scenarios of issue 8, each written once against [`Target`] and run on every server:
//! (a) `fanout` — one room, stepped rates; (b) `mix` — many rooms with churn; (c)+(d) `lobby` — idle
//! lobby subscribers, then one lobby change to all of them; (e) `persist` — acknowledged sends over many
//! rooms on gifchat's stores. This module holds what they share: sizes and the open-loop sender.

pub mod fanout;
pub mod lobby;
pub mod mix;
pub mod persist;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::client::{Member, Target};
use crate::stats::Recorder;

/// Bytes per message text (issue 8: 200-byte messages).
pub const MESSAGE_BYTES: usize = 200;
/// Sends in flight at once at most; an open-loop send beyond it is not made and counts as lost.
const MAX_IN_FLIGHT: usize = 4096;
/// Setup operations (sessions, joins, subscriptions) run this many at a time.
pub const SETUP_CONCURRENCY: usize = 64;

/// The sizes of one run: the issue's, or `--quick`'s tiny ones.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// (a) subscribers besides the sender.
    pub a_subs: usize,
    /// (a) the low rate reported on its own (gifchat's 100 msg/s target).
    pub a_low_rate: u32,
    /// (a) offered rates, msg/s.
    pub a_rates: Vec<u32>,
    /// (a), (e) seconds per step.
    pub step_secs: f64,
    /// (b) rooms.
    pub b_rooms: usize,
    /// (b) members per room.
    pub b_members: usize,
    /// (b) messages per second per room.
    pub b_rate_per_room: u32,
    /// (b) seconds of load.
    pub b_secs: f64,
    /// (c) idle lobby subscribers.
    pub c_idle: usize,
    /// (d) lobby subscribers reached by one change.
    pub d_lobby: usize,
    /// (e) rooms.
    pub e_rooms: usize,
    /// (e) offered rates, msg/s.
    pub e_rates: Vec<u32>,
    /// Longest wait for stragglers after a step's last send.
    pub drain_secs: f64,
}

impl Sizes {
    /// Issue 8's sizes.
    pub fn full() -> Self {
        Self {
            a_subs: 99,
            a_low_rate: 100,
            a_rates: vec![250, 500, 1000, 2000, 4000],
            step_secs: 5.0,
            b_rooms: 100,
            b_members: 20,
            b_rate_per_room: 10,
            b_secs: 20.0,
            c_idle: 10_000,
            d_lobby: 19_000,
            e_rooms: 100,
            e_rates: vec![250, 500, 1000, 2000, 5000, 10_000, 20_000],
            drain_secs: 10.0,
        }
    }

    /// A smoke of every scenario in well under a minute.
    pub fn quick() -> Self {
        Self {
            a_subs: 9,
            a_low_rate: 20,
            a_rates: vec![50, 100],
            step_secs: 1.0,
            b_rooms: 4,
            b_members: 4,
            b_rate_per_room: 5,
            b_secs: 2.0,
            c_idle: 100,
            d_lobby: 200,
            e_rooms: 4,
            e_rates: vec![100, 200],
            drain_secs: 3.0,
        }
    }
}

/// What an open-loop run of sends did.
#[derive(Debug, Default, Clone)]
pub struct Sent {
    /// Messages scheduled.
    pub offered: usize,
    /// Acknowledged by the server.
    pub ok: usize,
    /// Refused, failed or timed out.
    pub failed: usize,
    /// Not sent: too many already in flight.
    pub skipped: usize,
    /// Ack latencies (scheduled time → answer), µs, sorted.
    pub acks: Vec<u32>,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
}

/// A unique client key for every send of the process.
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Sends `n` messages at `rate` per second, open-loop: each at its scheduled time whether or not
/// earlier ones were answered. Message `i` goes to `pick(i)` = (member, room). Each text carries
/// `step` and its scheduled time; latencies are measured from the scheduled time, so a stalled server
/// cannot hide its stall by slowing the sender. Returns when every send is answered or timed out.
pub async fn open_loop<F>(target: &Target, rec: &Arc<Recorder>, step: u32, rate: u32, n: usize, pick: F) -> Sent
where
    F: Fn(usize) -> (Member, String),
{
    let sent = Arc::new(Mutex::new(Sent { offered: n, ..Sent::default() }));
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let start = Instant::now();
    let base_us = rec.now_us();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let offset = Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(start + offset).await;
        let sched_us = base_us + offset.as_micros() as u64;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            sent.lock().unwrap_or_else(|p| p.into_inner()).skipped += 1;
            continue;
        };
        let (member, room) = pick(i);
        let (target, rec, sent) = (target.clone(), rec.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let text = Recorder::text(step, sched_us, i as u64, MESSAGE_BYTES);
            let result = target.send(&member, &room, &text, NEXT_KEY.fetch_add(1, Ordering::Relaxed)).await;
            let ack = rec.now_us().saturating_sub(sched_us).min(u32::MAX as u64) as u32;
            let mut s = sent.lock().unwrap_or_else(|p| p.into_inner());
            match result {
                Ok(()) => {
                    s.ok += 1;
                    s.acks.push(ack);
                }
                Err(e) => {
                    s.failed += 1;
                    s.first_error.get_or_insert_with(|| format!("{e:#}"));
                }
            }
            drop(permit);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut out = sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
    out.acks.sort_unstable();
    out
}

/// Waits until `rec` holds `expected` frames of `step`, or nothing new arrived for a second, or
/// `max_secs` passed — a bounded functional wait, never an assertion on time.
pub async fn drain(rec: &Recorder, step: u32, expected: usize, max_secs: f64) {
    let deadline = Instant::now() + Duration::from_secs_f64(max_secs);
    let mut last = rec.count(step);
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        let now = rec.count(step);
        if now >= expected {
            return;
        }
        if now != last {
            last = now;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() > Duration::from_secs(1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (at most 10 s) until the server's CPU drops below 15 % of a core over 300 ms, so a step does
/// not start on the backlog of the one before.
pub async fn settle(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let Ok(meter) = crate::machine::CpuMeter::start(pid) else { return };
        tokio::time::sleep(Duration::from_millis(300)).await;
        if meter.percent().map_or(true, |p| p < 15.0) {
            return;
        }
    }
}

/// Runs `make(i)` for i in 0..n, `SETUP_CONCURRENCY` at a time; stops at the first error.
pub async fn setup_many<T, F, Fut>(n: usize, make: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut out = Vec::with_capacity(n);
    let mut results = stream::iter(0..n).map(make).buffer_unordered(SETUP_CONCURRENCY);
    while let Some(r) = results.next().await {
        out.push(r?);
    }
    Ok(out)
}
