//! Work the hub does on its own: resuming seats after a restart, sweeping rooms that should no longer
//! exist, tailing the outbox for changes made by other processes (the CLI), pruning sessions.

use std::sync::Arc;
use std::time::Duration;

use super::{Hub, HubError};
use crate::domain::{now_millis, LobbyEvent};
use crate::store::OutboxChange;

/// How long outbox entries are kept; tailers read them within a tick, this is only a safety margin.
const OUTBOX_KEEP: Duration = Duration::from_secs(3600);

impl Hub {
    /// After a restart, every seat in the store gets one grace period to be taken back; seats nobody
    /// reconnects to are then released as ordinary exits.
    pub async fn resume_seats(self: &Arc<Self>) -> Result<usize, HubError> {
        let seats = self.store.all_present().await?;
        for (room, member) in &seats {
            let cell = self.cell(room);
            let mut live = cell.live.lock().await;
            let seat = live.seats.entry(member.clone()).or_default();
            seat.grace_generation += 1;
            self.start_grace(room.clone(), member.clone(), seat.grace_generation);
        }
        Ok(seats.len())
    }

    /// Runs until shutdown: each tick relays outbox entries from other processes, and every few seconds
    /// sweeps removable rooms, expired sessions and idle rate-limit buckets.
    pub async fn run_background(self: Arc<Self>) {
        let mut cursor = match self.store.outbox_head().await {
            Ok(head) => head,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox; live effect of CLI changes is off");
                i64::MAX
            }
        };
        let mut ticker = tokio::time::interval(self.config.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            ticks += 1;
            if let Err(e) = self.relay_outbox(&mut cursor).await {
                tracing::warn!(error = %e, "outbox relay failed");
            }
            // Sweeping is cheaper than relaying is urgent: every 8th tick (2 s at the default tick).
            if ticks.is_multiple_of(8) {
                if let Err(e) = self.sweep().await {
                    tracing::warn!(error = %e, "sweep failed");
                }
            }
        }
    }

    /// Publishes what other processes changed since `cursor`.
    async fn relay_outbox(&self, cursor: &mut i64) -> Result<(), HubError> {
        if *cursor == i64::MAX || !self.store.changed_elsewhere().await? {
            return Ok(());
        }
        for entry in self.store.outbox_after(*cursor).await? {
            *cursor = entry.id;
            if entry.origin == self.origin {
                continue; // published already, when this process made the change
            }
            match entry.change {
                OutboxChange::RoomCreated(id) => {
                    if let Some(rec) = self.store.room(&id).await? {
                        self.bus.publish_lobby(LobbyEvent::Created(rec.room));
                    }
                }
                OutboxChange::RoomRemoved(id) => {
                    // Take the room's lock so no join or send interleaves with forgetting it.
                    let cell = self.cell(&id);
                    let _live = cell.live.lock().await;
                    self.forget_room(&id);
                }
            }
        }
        Ok(())
    }

    /// Deletes rooms that are empty and not held by anyone here, and rooms nobody entered in time.
    async fn sweep(&self) -> Result<(), HubError> {
        // First: in memory only, so a store that fails below cannot keep the limiter tables growing.
        self.sweep_limits();
        let ttl = i64::try_from(self.config.unused_room_ttl.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_millis().saturating_sub(ttl);
        for room in self.store.removable_rooms(cutoff).await? {
            let cell = self.cell(&room);
            let live = cell.live.lock().await;
            // A seat in its grace period, or a join in progress, keeps the room.
            if !live.seats.is_empty() {
                continue;
            }
            // Re-check under the lock: someone may have entered since the list was read.
            match self.store.room(&room).await? {
                Some(rec) if rec.room.member_count == 0 && (rec.entered || rec.room.created_at < cutoff) => {
                    tracing::info!(room = %room, "removing an empty room");
                    self.remove_room_locked(&room).await?;
                }
                _ => {}
            }
        }
        self.store.sessions_purge(now_millis()).await?;
        let keep = i64::try_from(OUTBOX_KEEP.as_millis()).unwrap_or(i64::MAX);
        self.store.outbox_prune(now_millis() - keep).await?;
        Ok(())
    }
}
