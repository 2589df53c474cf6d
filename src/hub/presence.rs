//! Presence: who holds a seat in which room, how many connections each has, and the grace period.
//!
//! The store decides seats (atomically with the capacity check); this file mirrors them per room in
//! memory with a connection count, so several tabs count once and a dropped connection can keep its
//! seat for the grace period without touching the store.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex as AsyncMutex;

use super::{Hub, HubError};
use crate::domain::{now_millis, EndReason, EventKind, LobbyEvent, MemberId, RoomId, RoomSignal};
use crate::store::{Appended, SeatClaim};

/// One member's hold on a seat in this process.
#[derive(Debug, Default)]
pub struct Seat {
    /// Open subscriptions (tabs) of this member to the room.
    pub(super) conns: usize,
    /// Bumped whenever a grace timer starts or is cancelled; a timer only acts if its number still matches.
    pub(super) grace_generation: u64,
    /// When this member last sent a typing signal (for throttling).
    pub(super) last_typing: Option<std::time::Instant>,
    /// The room's connection number of the latest connection to take or re-take this seat.
    pub(super) latest: u64,
}

/// The in-memory side of one room, behind the room's lock.
#[derive(Default)]
pub struct RoomLive {
    pub(super) seats: HashMap<MemberId, Seat>,
    /// Connections that took or re-took a seat here so far: numbers them (see `Hub::latest_connection`).
    pub(super) connections: u64,
}

/// A room's lock and live state.
#[derive(Default)]
pub struct RoomCell {
    pub(super) live: AsyncMutex<RoomLive>,
}

impl Hub {
    /// The cell of `room`, created on first use.
    pub(super) fn cell(&self, room: &RoomId) -> Arc<RoomCell> {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells.entry(room.clone()).or_default().clone()
    }

    /// The cell of a room that exists: a cell is created only once the store has the room, so requests
    /// naming rooms that never existed (or are gone) leave nothing behind in memory.
    pub(super) async fn room_cell(&self, room: &RoomId) -> Result<Arc<RoomCell>, HubError> {
        if let Some(cell) = self.existing_cell(room) {
            return Ok(cell);
        }
        self.room(room).await?;
        Ok(self.cell(room))
    }

    /// How many rooms this process keeps live state for.
    pub fn live_rooms(&self) -> usize {
        self.cells.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The cell of `room` if this process has one.
    pub(super) fn existing_cell(&self, room: &RoomId) -> Option<Arc<RoomCell>> {
        self.cells.lock().unwrap_or_else(|p| p.into_inner()).get(room).cloned()
    }

    /// Whether `member` holds a seat in `room` (connected, or within the grace period) on this node.
    pub async fn is_member(&self, room: &RoomId, member: &MemberId) -> bool {
        match self.existing_cell(room) {
            Some(cell) => cell.live.lock().await.seats.contains_key(member),
            None => false,
        }
    }

    /// A number that changes each time a connection of `member` takes or re-takes its seat in `room` on this
    /// node; `None` without a seat. Further tabs share one seat and post nothing, so neither the member
    /// count nor the room's events show that another tab is in: this does (the tests wait on it).
    pub async fn latest_connection(&self, room: &RoomId, member: &MemberId) -> Option<u64> {
        let cell = self.existing_cell(room)?;
        let live = cell.live.lock().await;
        live.seats.get(member).map(|seat| seat.latest)
    }

    /// Takes (or re-takes) a seat for one more connection of `member`. A new seat posts `Joined`; a second
    /// tab or a return within the grace period posts nothing.
    pub(super) async fn connect(&self, room: &RoomId, member: &MemberId) -> Result<(), HubError> {
        let cell = self.cell(room);
        let mut live = cell.live.lock().await;
        live.connections += 1;
        let latest = live.connections;
        if let Some(seat) = live.seats.get_mut(member) {
            seat.conns += 1;
            seat.grace_generation += 1; // cancels a running grace timer
            seat.latest = latest;
            return Ok(());
        }
        match self.store.claim_seat(room, member, now_millis()).await? {
            SeatClaim::NoRoom => return Err(HubError::NotFound),
            SeatClaim::Full => return Err(HubError::RoomFull),
            SeatClaim::Kicked => return Err(HubError::Removed),
            // Held in the store but not here: a seat from before a restart coming back in its grace period.
            SeatClaim::AlreadyPresent => {}
            SeatClaim::Claimed { became_owner } => {
                self.record(room, Some(member), EventKind::Joined).await?;
                if became_owner {
                    self.record(room, Some(member), EventKind::OwnerChanged { from: None }).await?;
                }
                self.announce_room(room).await?;
            }
        }
        live.seats.insert(member.clone(), Seat { conns: 1, latest, ..Seat::default() });
        Ok(())
    }

    /// One connection of `member` went away. The last one starts the grace period; the seat is released
    /// only if nobody comes back before it ends.
    pub(super) async fn disconnect(self: &Arc<Self>, room: &RoomId, member: &MemberId) {
        let Some(cell) = self.existing_cell(room) else { return };
        let mut live = cell.live.lock().await;
        let Some(seat) = live.seats.get_mut(member) else { return };
        seat.conns = seat.conns.saturating_sub(1);
        if seat.conns == 0 {
            seat.grace_generation += 1;
            self.start_grace(room.clone(), member.clone(), seat.grace_generation);
        }
    }

    /// Schedules the end of a grace period; shutdown cancels it, so a restart posts no exits.
    pub(super) fn start_grace(self: &Arc<Self>, room: RoomId, member: MemberId, generation: u64) {
        let hub = self.clone();
        let token = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = tokio::time::sleep(hub.config.grace) => {
                    if let Err(e) = hub.expire_grace(&room, &member, generation).await {
                        tracing::warn!(error = %e, room = %room, "grace expiry failed");
                    }
                }
            }
        });
    }

    async fn expire_grace(&self, room: &RoomId, member: &MemberId, generation: u64) -> Result<(), HubError> {
        let Some(cell) = self.existing_cell(room) else { return Ok(()) };
        let mut live = cell.live.lock().await;
        match live.seats.get(member) {
            Some(seat) if seat.conns == 0 && seat.grace_generation == generation => {}
            _ => return Ok(()), // came back, left explicitly, or a newer timer owns this seat
        }
        live.seats.remove(member);
        self.release_locked(room, member, &mut live).await
    }

    /// Leaves at once (the "방 나가기" button): releases the seat and ends the member's other tabs.
    pub async fn leave(&self, room: &RoomId, member: &MemberId) -> Result<(), HubError> {
        let cell = self.room_cell(room).await?;
        let mut live = cell.live.lock().await;
        if self.store.room(room).await?.is_none() {
            return Err(HubError::NotFound);
        }
        live.seats.remove(member);
        self.bus.publish_room(room, RoomSignal::MemberEnded { member: member.clone(), reason: EndReason::Left });
        self.release_locked(room, member, &mut live).await
    }

    /// Releases a seat in the store and tells everyone; deletes the room when it became empty.
    /// The caller holds the room's lock.
    async fn release_locked(&self, room: &RoomId, member: &MemberId, live: &mut RoomLive) -> Result<(), HubError> {
        if !self.store.release_seat(room, member).await? {
            return Ok(()); // never held one (or already gone): nothing to announce
        }
        self.record(room, Some(member), EventKind::Left).await?;
        let remaining = self.store.present_members(room).await?;
        let Some(rec) = self.store.room(room).await? else { return Ok(()) };
        if remaining.is_empty() && live.seats.is_empty() {
            if !rec.room.persistent {
                return self.remove_room_locked(room).await;
            }
            // A kept room must not stay with an owner who is gone: nobody could moderate it again. The
            // next member to enter takes it over, as in a room made by an operator.
            if let Some(owner) = rec.room.owner.as_ref() {
                self.store.set_owner(room, Some(owner), None).await?;
            }
        } else if rec.room.owner.as_ref() == Some(member) {
            // The owner is gone for good: the member present longest takes over.
            if let Some(next) = remaining.first() {
                self.hand_over_locked(room, member, &next.member).await?;
            }
        }
        self.announce_room(room).await
    }

    /// Persists an event and publishes it. The caller holds the room's lock, which keeps publish order
    /// equal to `seq` order.
    pub(super) async fn record(
        &self,
        room: &RoomId,
        member: Option<&MemberId>,
        kind: EventKind,
    ) -> Result<Arc<crate::domain::RoomEvent>, HubError> {
        let event = match self.store.append_event(room, member, &kind, None, now_millis()).await? {
            Appended::New(e) | Appended::Existing(e) => Arc::new(e),
        };
        self.bus.publish_room(room, RoomSignal::Event(event.clone()));
        Ok(event)
    }

    /// Tells lobbies the room's current count and owner.
    pub(super) async fn announce_room(&self, room: &RoomId) -> Result<(), HubError> {
        if let Some(rec) = self.store.room(room).await? {
            self.bus.publish_lobby(LobbyEvent::Updated(rec.room));
        }
        Ok(())
    }

    /// Deletes a room (store, then subscribers, then lobbies). The caller holds the room's lock.
    pub(super) async fn remove_room_locked(&self, room: &RoomId) -> Result<(), HubError> {
        self.store.delete_room(room, &self.origin).await?;
        self.forget_room(room);
        Ok(())
    }

    /// Ends a deleted room's subscriptions and tells lobbies; also used when another process deleted it.
    pub(super) fn forget_room(&self, room: &RoomId) {
        self.bus.publish_room(room, RoomSignal::Closed);
        self.bus.publish_lobby(LobbyEvent::Removed(room.clone()));
        self.bus.drop_room(room);
        self.cells.lock().unwrap_or_else(|p| p.into_inner()).remove(room);
    }
}
