//! Events. A [`RoomEvent`] is persisted with a per-room `seq` before anyone hears of it; a
//! [`RoomSignal`] is what travels on the bus for one room; a [`LobbyEvent`] changes the room list.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{GifName, MemberId, Millis, Room, RoomId};

/// What happened in a room. Stored as JSON (tagged by `kind`), so adding a kind needs no migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A text message from `RoomEvent::member`.
    Message {
        /// The validated text.
        text: String,
    },
    /// A GIF upload from `RoomEvent::member`; with `to`, a whispered GIF only the sender and `to` may see.
    /// Older events have no `to` field and read as public GIFs, so the stored JSON needs no migration.
    Gif {
        /// Where the bytes are stored.
        name: GifName,
        /// The recipient of a whispered GIF.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<MemberId>,
    },
    /// `RoomEvent::member` took a seat.
    Joined,
    /// `RoomEvent::member` left (explicitly or after the grace period).
    Left,
    /// Ownership passed to `RoomEvent::member`.
    OwnerChanged {
        /// The previous owner, if any.
        from: Option<MemberId>,
    },
    /// `RoomEvent::member` (the owner) kicked `target`.
    Kicked {
        /// Who was removed.
        target: MemberId,
    },
    /// A message only `RoomEvent::member` and `to` may see.
    Whisper {
        /// The recipient.
        to: MemberId,
        /// The validated text.
        text: String,
    },
}

impl EventKind {
    /// The one member besides the sender who may see a private event (a whisper or a whispered GIF).
    /// The stores keep it in their `recipient` field, which their history queries filter on.
    pub fn recipient(&self) -> Option<&MemberId> {
        match self {
            EventKind::Whisper { to, .. } | EventKind::Gif { to: Some(to), .. } => Some(to),
            _ => None,
        }
    }

    /// Whether it is chat (a message, whisper or GIF) rather than a notice: chat moves a room up the lobby.
    pub fn is_chat(&self) -> bool {
        matches!(self, EventKind::Message { .. } | EventKind::Whisper { .. } | EventKind::Gif { .. })
    }

    /// The stored `kind` column (also the GraphQL enum's source).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Message { .. } => "message",
            EventKind::Gif { .. } => "gif",
            EventKind::Joined => "joined",
            EventKind::Left => "left",
            EventKind::OwnerChanged { .. } => "owner_changed",
            EventKind::Kicked { .. } => "kicked",
            EventKind::Whisper { .. } => "whisper",
        }
    }
}

/// Who may read an event: everybody in the room, or exactly two members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Everyone with access to the room.
    Room,
    /// Sender and recipient of a whisper.
    Pair(MemberId, MemberId),
}

/// A persisted room event with its gap-free per-room sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEvent {
    /// The room.
    pub room: RoomId,
    /// Position in the room's history, assigned in commit order.
    pub seq: i64,
    /// When it was committed.
    pub at: Millis,
    /// The actor or subject (see [`EventKind`]).
    pub member: Option<MemberId>,
    /// What happened.
    pub kind: EventKind,
}

impl RoomEvent {
    /// Who may see this event.
    pub fn visibility(&self) -> Visibility {
        match (self.kind.recipient(), &self.member) {
            (Some(to), Some(from)) => Visibility::Pair(from.clone(), to.clone()),
            _ => Visibility::Room,
        }
    }

    /// Whether `reader` may see this event; whispers are filtered here for live streams and history alike.
    pub fn visible_to(&self, reader: &MemberId) -> bool {
        match self.visibility() {
            Visibility::Room => true,
            Visibility::Pair(a, b) => &a == reader || &b == reader,
        }
    }
}

/// Why a member's subscription to a room was ended by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The member pressed "leave" in another tab.
    Left,
    /// The owner kicked them.
    Kicked,
}

/// What the bus carries for one room.
#[derive(Debug, Clone)]
pub enum RoomSignal {
    /// A persisted event, published after commit in `seq` order.
    Event(Arc<RoomEvent>),
    /// The room was deleted; every subscription ends.
    Closed,
    /// Someone is typing; never stored, never replayed, carries no `seq`.
    Typing {
        /// Who.
        member: MemberId,
    },
    /// One member's subscriptions end (explicit leave from another tab, or a kick).
    MemberEnded {
        /// Whose.
        member: MemberId,
        /// Why.
        reason: EndReason,
    },
}

/// A change to the room list.
#[derive(Debug, Clone)]
pub enum LobbyEvent {
    /// A new room.
    Created(Room),
    /// Member count or owner changed.
    Updated(Room),
    /// The room is gone.
    Removed(RoomId),
}
