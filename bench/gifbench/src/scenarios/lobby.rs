//! (c) `c_idle` idle lobby subscribers: server RSS per connection. (d) then up to `d_lobby`
//! subscribers: one lobby change (a room created) and how long it takes to reach each of them.
//! gifchat's subscribers are lobby pages (session from `GET /`, the page's `lobby` document); the
//! baselines' are sockets joined to their lobby room.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};

use super::{drain, setup_many, Sizes};
use crate::client::{Live, Target};
use crate::machine::rss_bytes;
use crate::servers::Server;
use crate::stats::{Lat, Recorder};

/// (c) and (d) on one server.
#[derive(Debug, Clone)]
pub struct Lobby {
    /// (c) subscribers measured.
    pub idle: usize,
    /// (c) server RSS growth per subscriber, KB (1000 bytes).
    pub kb_per_conn: f64,
    /// (d) subscribers reached.
    pub subscribers: usize,
    /// (d) server RSS with all of them, MB.
    pub rss_mb: f64,
    /// (d) change → receipt latency over all subscribers.
    pub lat: Lat,
    /// (d) subscribers that received the change, percent.
    pub delivered_pct: f64,
}

/// Connects `n` more lobby subscribers.
async fn connect(target: &Target, rec: &Arc<Recorder>, n: usize) -> Result<Vec<Live>> {
    setup_many(n, |_| {
        let (target, rec) = (target.clone(), rec.clone());
        async move {
            let m = target.member().await?;
            target.subscribe_lobby(&m, Some(rec)).await
        }
    })
    .await
}

/// RSS after the server has had a moment to settle (freed buffers returned, lazy work done).
async fn settled_rss(server: &Server) -> Result<u64> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    rss_bytes(server.pid)
}

/// Runs (c) and (d) against `server`.
pub async fn run(server: &Server, target: &Target, sizes: &Sizes) -> Result<Lobby> {
    let rec = Arc::new(Recorder::new());
    // A warm-up share first, so the baseline includes the runtime's one-time growth.
    let warm = (sizes.c_idle / 10).clamp(1, 100);
    let mut live = connect(target, &rec, warm).await?;
    let rss_warm = settled_rss(server).await?;
    live.extend(connect(target, &rec, sizes.c_idle - warm).await?);
    let rss_c = settled_rss(server).await?;
    let kb_per_conn = (rss_c as f64 - rss_warm as f64) / (sizes.c_idle - warm).max(1) as f64 / 1000.0;
    eprintln!("  (c) {}: {} idle lobby subscribers, {kb_per_conn:.1} KB each", target.kind.label(), sizes.c_idle);
    live.extend(connect(target, &rec, sizes.d_lobby.saturating_sub(sizes.c_idle)).await?);
    let rss_d = settled_rss(server).await?;
    let creator = target.member().await?;
    let title = Recorder::text(1, rec.now_us(), 0, 40);
    target.create_room(&creator, &title, 10).await?;
    drain(&rec, 1, live.len(), 60.0).await;
    let got = rec.sorted(1);
    let lobby = Lobby {
        idle: sizes.c_idle,
        kb_per_conn,
        subscribers: live.len(),
        rss_mb: rss_d as f64 / 1e6,
        lat: Lat::of(&got),
        delivered_pct: 100.0 * got.len() as f64 / live.len().max(1) as f64,
    };
    eprintln!("  (d) {}: {lobby:?}", target.kind.label());
    if got.is_empty() {
        bail!("(d) {}: the lobby change reached nobody", target.kind.label());
    }
    Ok(lobby)
}
