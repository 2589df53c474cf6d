//! The book's exercises beyond chat: member list, whispers, owner handoff, kick, typing.
//! Every rule is checked under the room's lock against the store's current state, so races between a
//! kick, a leave and a transfer resolve to one consistent outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Action, Hub, HubError};
use crate::domain::{
    now_millis, ClientAddr, ClientKey, EndReason, EventKind, MemberId, MessageText, Presence, RoomEvent, RoomId,
    RoomSignal,
};
use crate::store::Appended;

/// At most one typing signal per member and room in this interval; clients hide the indicator after a
/// few seconds of silence, so more would only add traffic.
pub const TYPING_INTERVAL: Duration = Duration::from_secs(2);

impl Hub {
    /// Members present in a room (connected or within their grace period), earliest first.
    pub async fn members(&self, room: &RoomId) -> Result<Vec<Presence>, HubError> {
        Ok(self.store.present_members(room).await?)
    }

    /// `whisper`: a message only the sender and `to` can see, live and in history. Both must be members.
    /// A retry with the same client key returns the first whisper instead of posting another.
    pub async fn whisper(
        &self,
        room: &RoomId,
        from: &MemberId,
        addr: Option<ClientAddr>,
        to: &MemberId,
        text: &str,
        key: Option<&str>,
    ) -> Result<Arc<RoomEvent>, HubError> {
        let text = MessageText::parse(text)?;
        let key = key.map(ClientKey::parse).transpose()?;
        let cell = self.existing_cell(room).ok_or(HubError::Forbidden("enter the room first"))?;
        let live = cell.live.lock().await;
        if !live.seats.contains_key(from) {
            return Err(HubError::Forbidden("enter the room first"));
        }
        Self::check_recipient(from, to, live.seats.contains_key(to))?;
        self.check_rate(from, addr, Action::Message)?;
        let kind = EventKind::Whisper { to: to.clone(), text: text.as_str().to_owned() };
        // Published like any event: the streams filter by visibility, so only the pair ever receives it.
        match self.store.append_event(room, Some(from), &kind, key.as_ref(), now_millis()).await? {
            // A retry: already published when it was first stored.
            Appended::Existing(first) => Ok(Arc::new(first)),
            Appended::New(e) => {
                let e = Arc::new(e);
                self.bus.publish_room(room, RoomSignal::Event(e.clone()));
                Ok(e)
            }
        }
    }

    /// `transferOwnership`: the owner hands the room to another present member.
    pub async fn transfer_ownership(&self, room: &RoomId, owner: &MemberId, to: &MemberId) -> Result<(), HubError> {
        let cell = self.room_cell(room).await?;
        let live = cell.live.lock().await;
        let rec = self.room(room).await?;
        if rec.room.owner.as_ref() != Some(owner) {
            return Err(HubError::Forbidden("only the owner can hand the room over"));
        }
        if owner == to {
            return Ok(());
        }
        if !live.seats.contains_key(to) {
            return Err(HubError::invalid("NOT_PRESENT", "that member is not in this room"));
        }
        self.hand_over_locked(room, owner, to).await?;
        self.announce_room(room).await
    }

    /// Passes ownership from `from` to `to` if `from` still owns the room (a conditional write, so two
    /// transfers racing across processes cannot both win), and tells the room. Caller holds the lock.
    pub(super) async fn hand_over_locked(&self, room: &RoomId, from: &MemberId, to: &MemberId) -> Result<(), HubError> {
        if !self.store.set_owner(room, Some(from), Some(to)).await? {
            return Err(HubError::Forbidden("only the owner can hand the room over"));
        }
        self.record(room, Some(to), EventKind::OwnerChanged { from: Some(from.clone()) }).await?;
        Ok(())
    }

    /// `kick`: the owner removes a member, who cannot take a seat again while the room exists.
    pub async fn kick(&self, room: &RoomId, owner: &MemberId, target: &MemberId) -> Result<(), HubError> {
        let cell = self.room_cell(room).await?;
        let mut live = cell.live.lock().await;
        let rec = self.room(room).await?;
        if rec.room.owner.as_ref() != Some(owner) {
            return Err(HubError::Forbidden("only the owner can kick"));
        }
        if owner == target {
            return Err(HubError::invalid("SELF", "the owner cannot kick themselves"));
        }
        if !self.store.kick_member(room, target).await? {
            return Err(HubError::invalid("NOT_PRESENT", "that member is not in this room"));
        }
        live.seats.remove(target);
        self.record(room, Some(owner), EventKind::Kicked { target: target.clone() }).await?;
        self.bus.publish_room(room, RoomSignal::MemberEnded { member: target.clone(), reason: EndReason::Kicked });
        self.announce_room(room).await
    }

    /// `typing`: tells the others that `member` is typing; throttled, never stored. Every call counts
    /// against the typing allowance, even one the per-seat throttle then drops: each costs the room's lock.
    pub async fn typing(&self, room: &RoomId, member: &MemberId, addr: Option<ClientAddr>) -> Result<(), HubError> {
        self.check_rate(member, addr, Action::Typing)?;
        let cell = self.existing_cell(room).ok_or(HubError::Forbidden("enter the room first"))?;
        let mut live = cell.live.lock().await;
        let Some(seat) = live.seats.get_mut(member) else { return Err(HubError::Forbidden("enter the room first")) };
        let now = Instant::now();
        if seat.last_typing.is_some_and(|t| now.duration_since(t) < TYPING_INTERVAL) {
            return Ok(()); // throttled: the previous signal is still showing
        }
        seat.last_typing = Some(now);
        self.bus.publish_room(room, RoomSignal::Typing { member: member.clone() });
        Ok(())
    }
}
