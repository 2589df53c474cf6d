//! Plain types and rules with no I/O: ids, validated inputs, events.
//!
//! Everything that crosses a boundary (form, GraphQL argument, CLI flag) is parsed into one of these
//! newtypes first, so the hub and the stores only ever see values that already obey the rules.

mod client;
pub mod color;
mod event;
mod ids;
mod input;
#[cfg(test)]
mod props;

pub use client::ClientAddr;
pub use color::Color;
pub use event::{EndReason, EventKind, LobbyEvent, RoomEvent, RoomSignal, Visibility};
pub use ids::{GifName, MemberId, RoomId};
pub use input::{Capacity, ClientKey, InputError, MessageText, Password, RoomTitle};

/// Milliseconds since the Unix epoch; the one time unit stored and sent (sortable, backend-neutral).
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as Millis
}

/// A room as the lobby and the room page see it; never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The room's id.
    pub id: RoomId,
    /// The validated title.
    pub title: String,
    /// How many members may be present at once.
    pub capacity: u32,
    /// Whether entering needs a password.
    pub secret: bool,
    /// The owner, if any (a CLI-made room has none until someone enters).
    pub owner: Option<MemberId>,
    /// Members present now (connected or within their grace period, not kicked).
    pub member_count: u32,
    /// Operator rooms that are never deleted for being empty.
    pub persistent: bool,
    /// Creation time.
    pub created_at: Millis,
    /// When the last message, whisper or GIF was posted; the creation time until then. Orders the lobby.
    pub activity_at: Millis,
}

impl Room {
    /// Whether no further member fits.
    pub fn is_full(&self) -> bool {
        self.member_count >= self.capacity
    }
}

/// A member present in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// Who.
    pub member: MemberId,
    /// When they took their seat (owner handoff picks the earliest).
    pub joined_at: Millis,
}
