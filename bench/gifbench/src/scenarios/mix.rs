//! (b) A realistic mix: `b_rooms` rooms × `b_members` members, `b_rate_per_room` messages per second in
//! each room (sent by the room's first member), while every second a tenth of the rooms lose one member
//! (the room page's exit: `leaveRoom`, socket closed) and gain a new visitor (session, enter, subscribe).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Result};

use super::{drain, open_loop, setup_many, Sizes};
use crate::client::{Live, Member, Target};
use crate::machine::{rss_bytes, CpuMeter};
use crate::servers::Server;
use crate::stats::{Lat, Recorder};

/// (b) on one server.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Send → receipt latency over every member.
    pub lat: Lat,
    /// Frames received per second of load.
    pub deliveries_per_sec: f64,
    /// Frames received ÷ (messages offered × members per room), percent (approximate: a member who
    /// joins mid-run also gets what it resumes after; one who leaves misses the rest).
    pub delivered_pct: f64,
    /// Server CPU over the load, percent of one core.
    pub cpu_pct: f64,
    /// Server RSS at the end, MB.
    pub rss_mb: f64,
    /// Members that left and joined during the load.
    pub churned: usize,
    /// Sends refused, failed or not made.
    pub lost_sends: usize,
    /// Leaves/joins that failed.
    pub churn_errors: usize,
    /// The generator's CPU over the load, percent of its core.
    pub gen_cpu_pct: f64,
    /// Server and generator time spent waiting for their core, percent (other load on the machine).
    pub wait_pct: (f64, f64),
}

/// One room: its id, its sender, and the other members' live pages.
struct RoomSet {
    id: String,
    sender: Member,
    /// The sender's own page, open for the whole run (kept out of the churn).
    _sender_live: Live,
    others: Mutex<Vec<(Member, Live)>>,
}

/// Joins one new visitor to `room` (session, enter, subscribe).
async fn join(target: &Target, room: &str, rec: &Arc<Recorder>) -> Result<(Member, Live)> {
    let m = target.member().await?;
    let after = target.enter(&m, room).await?;
    let live = target.subscribe_room(&m, room, after, Some(rec.clone())).await?;
    Ok((m, live))
}

/// Runs (b) against `server`.
pub async fn run(server: &Server, target: &Target, sizes: &Sizes) -> Result<Mix> {
    let rec = Arc::new(Recorder::new());
    let rooms: Vec<Arc<RoomSet>> = setup_many(sizes.b_rooms, |r| {
        let (target, rec) = (target.clone(), rec.clone());
        let members = sizes.b_members;
        async move {
            let sender = target.member().await?;
            let id = target.create_room(&sender, &format!("bench (b) room {r}"), members as u32 + 5).await?;
            let after = target.enter(&sender, &id).await?;
            let live = target.subscribe_room(&sender, &id, after, Some(rec.clone())).await?;
            let mut others = Vec::with_capacity(members);
            for _ in 1..members {
                others.push(join(&target, &id, &rec).await?);
            }
            Ok(Arc::new(RoomSet { id, sender, _sender_live: live, others: Mutex::new(others) }))
        }
    })
    .await?;
    let rate = sizes.b_rate_per_room * rooms.len() as u32;
    let n = (rate as f64 * sizes.b_secs).round() as usize;
    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicUsize::new(0));
    let churn_errors = Arc::new(AtomicUsize::new(0));
    let churn = {
        let (target, rec, rooms, stop) = (target.clone(), rec.clone(), rooms.clone(), stop.clone());
        let (churned, churn_errors) = (churned.clone(), churn_errors.clone());
        tokio::spawn(async move {
            let per_tick = (rooms.len() / 10).max(1);
            let mut round = 0usize;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                for j in 0..per_tick {
                    let room = rooms[(round * per_tick + j) % rooms.len()].clone();
                    let (target, rec, churned, churn_errors) =
                        (target.clone(), rec.clone(), churned.clone(), churn_errors.clone());
                    tokio::spawn(async move {
                        let leaving = {
                            let mut others = room.others.lock().unwrap_or_else(|p| p.into_inner());
                            if others.is_empty() {
                                return;
                            }
                            let at = round % others.len();
                            others.swap_remove(at)
                        };
                        let left = target.leave(&leaving.0, &room.id).await;
                        drop(leaving);
                        match (left, join(&target, &room.id, &rec).await) {
                            (Ok(()), Ok(fresh)) => {
                                room.others.lock().unwrap_or_else(|p| p.into_inner()).push(fresh);
                                churned.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {
                                churn_errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    });
                }
                round += 1;
            }
        })
    };
    let cpu = CpuMeter::start(server.pid)?;
    let gen = CpuMeter::start(std::process::id())?;
    let started = std::time::Instant::now();
    let sent = open_loop(target, &rec, 0, rate, n, |i| {
        let room = &rooms[i % rooms.len()];
        (room.sender.clone(), room.id.clone())
    })
    .await;
    let (cpu_pct, gen_cpu_pct) = (cpu.percent()?, gen.percent()?);
    let wait_pct = (cpu.wait_percent()?, gen.wait_percent()?);
    let load_secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = churn.await;
    let expected = n * sizes.b_members;
    drain(&rec, 0, expected, sizes.drain_secs).await;
    let got = rec.sorted(0);
    if got.is_empty() {
        bail!("(b) {}: nothing delivered", target.kind.label());
    }
    let mix = Mix {
        lat: Lat::of(&got),
        deliveries_per_sec: got.len() as f64 / load_secs,
        delivered_pct: 100.0 * got.len() as f64 / expected.max(1) as f64,
        cpu_pct,
        rss_mb: rss_bytes(server.pid)? as f64 / 1e6,
        churned: churned.load(Ordering::Relaxed),
        lost_sends: sent.failed + sent.skipped,
        churn_errors: churn_errors.load(Ordering::Relaxed),
        gen_cpu_pct,
        wait_pct,
    };
    eprintln!(
        "  (b) {}: {mix:?}{}",
        target.kind.label(),
        sent.first_error.map(|e| format!(", first send error: {e}")).unwrap_or_default()
    );
    Ok(mix)
}
