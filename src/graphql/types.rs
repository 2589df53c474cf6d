//! GraphQL output types. Resolvers here are trivial field reads: at large fan-out, every subscriber
//! executes them once per event, so nothing in this file may do I/O.

use std::sync::Arc;

use async_graphql::{Enum, Object, SimpleObject, Union, ID};

use super::live::LobbyItem;
use crate::domain::{Color, EventKind, LobbyEvent, MemberId, Millis, Room, RoomEvent, RoomId};
use crate::hub::{ClosedReason, RoomUpdate};

/// Formats milliseconds as RFC 3339 (UTC), the form JavaScript's `Date` parses.
pub fn rfc3339(ms: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// An anonymous member: an id and the colour derived from it.
#[derive(SimpleObject, Clone)]
pub struct Member {
    /// Stable id (identity checks use this, never the colour).
    pub id: ID,
    /// `#rrggbb`, from the color-hash v2 algorithm on the id.
    pub color: String,
}

impl From<&MemberId> for Member {
    fn from(m: &MemberId) -> Self {
        Member { id: ID(m.to_string()), color: Color::of(m.as_str()).to_string() }
    }
}

/// A chat room as everyone may see it (never its password).
pub struct RoomObject(pub Room);

#[Object(name = "Room")]
impl RoomObject {
    /// The room's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// How many members fit.
    async fn capacity(&self) -> i32 {
        self.0.capacity as i32
    }
    /// Members present now (connected or within the grace period).
    async fn member_count(&self) -> i32 {
        self.0.member_count as i32
    }
    /// Whether no further member fits.
    async fn full(&self) -> bool {
        self.0.is_full()
    }
    /// Whether a password is needed (비밀방).
    async fn secret(&self) -> bool {
        self.0.secret
    }
    /// The owner (방장), if any.
    async fn owner(&self) -> Option<Member> {
        self.0.owner.as_ref().map(Member::from)
    }
    /// Kept even when empty (made by an operator).
    async fn persistent(&self) -> bool {
        self.0.persistent
    }
    /// Creation time, RFC 3339.
    async fn created_at(&self) -> String {
        rfc3339(self.0.created_at)
    }
    /// When the last message, whisper or GIF was posted (creation time before any), RFC 3339; rooms with
    /// people are listed by it.
    async fn activity_at(&self) -> String {
        rfc3339(self.0.activity_at)
    }
    /// Members present now (connected or within the grace period), longest present first; for a secret
    /// room only to those who gave its password. Reads the store: select it on queries, not on hot
    /// subscription payloads.
    async fn members(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Vec<RoomMember>> {
        use super::GqlResult;
        let hub = ctx.data_unchecked::<std::sync::Arc<crate::hub::Hub>>();
        if self.0.secret {
            let v = super::viewer(ctx)?.0.lock().await;
            if !(v.is_granted(&self.0.id) || self.0.owner.as_ref() == Some(&v.id)) {
                return Err(super::coded("this room needs its password", "FORBIDDEN"));
            }
        }
        let present = hub.members(&self.0.id).await.gql()?;
        Ok(present
            .into_iter()
            .map(|p| RoomMember {
                owner: self.0.owner.as_ref() == Some(&p.member),
                member: (&p.member).into(),
                joined_at: rfc3339(p.joined_at),
            })
            .collect())
    }
}

/// A member present in a room.
#[derive(SimpleObject)]
pub struct RoomMember {
    /// Who.
    pub member: Member,
    /// Whether they own the room (방장).
    pub owner: bool,
    /// When they took their seat, RFC 3339.
    pub joined_at: String,
}

/// What kind of room event.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RoomEventKind {
    /// A text message.
    Message,
    /// A GIF.
    Gif,
    /// A member entered.
    Joined,
    /// A member left.
    Left,
    /// Ownership passed to `member`.
    OwnerChanged,
    /// `member` kicked `target`.
    Kicked,
    /// A message only `member` and `target` can see.
    Whisper,
}

/// A persisted room event.
pub struct RoomEventObject(pub Arc<RoomEvent>);

#[Object(name = "RoomEvent")]
impl RoomEventObject {
    /// Position in the room's history; resume with `after: seq`. Whispers to others leave holes.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// The room.
    async fn room_id(&self) -> ID {
        ID(self.0.room.to_string())
    }
    /// When, RFC 3339.
    async fn at(&self) -> String {
        rfc3339(self.0.at)
    }
    /// What happened.
    async fn kind(&self) -> RoomEventKind {
        match self.0.kind {
            EventKind::Message { .. } => RoomEventKind::Message,
            EventKind::Gif { .. } => RoomEventKind::Gif,
            EventKind::Joined => RoomEventKind::Joined,
            EventKind::Left => RoomEventKind::Left,
            EventKind::OwnerChanged { .. } => RoomEventKind::OwnerChanged,
            EventKind::Kicked { .. } => RoomEventKind::Kicked,
            EventKind::Whisper { .. } => RoomEventKind::Whisper,
        }
    }
    /// The sender, the member who joined/left, the new owner, or the owner who kicked.
    async fn member(&self) -> Option<Member> {
        self.0.member.as_ref().map(Member::from)
    }
    /// The kicked member, the recipient of a whisper or whispered GIF, or the previous owner.
    async fn target(&self) -> Option<Member> {
        match &self.0.kind {
            EventKind::Kicked { target } => Some(target.into()),
            EventKind::Whisper { to, .. } | EventKind::Gif { to: Some(to), .. } => Some(to.into()),
            EventKind::OwnerChanged { from } => from.as_ref().map(Member::from),
            _ => None,
        }
    }
    /// Text of a message or whisper.
    async fn text(&self) -> Option<&str> {
        match &self.0.kind {
            EventKind::Message { text } | EventKind::Whisper { text, .. } => Some(text),
            _ => None,
        }
    }
    /// Same-origin URL of a GIF.
    async fn gif_url(&self) -> Option<String> {
        match &self.0.kind {
            EventKind::Gif { name, .. } => Some(name.url()),
            _ => None,
        }
    }
    /// Whether only `member` and `target` can see this event: a whisper (kind `WHISPER`) or a GIF
    /// uploaded while whispering (kind `GIF` with a `target`).
    async fn whispered(&self) -> bool {
        self.0.kind.recipient().is_some()
    }
}

/// Too much was missed to replay: refetch history with `messages`, then keep listening.
#[derive(SimpleObject)]
pub struct RoomResync {
    /// The stream continues after this `seq`.
    pub latest_seq: i64,
}

/// Why the server ended a room subscription.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RoomClosedReason {
    /// The room was deleted.
    Deleted,
    /// You left from another tab.
    Left,
    /// The owner removed you.
    Kicked,
    /// The server is restarting; reconnect with `after`.
    ShuttingDown,
}

/// The last item of a room subscription the server ended.
#[derive(SimpleObject)]
pub struct RoomClosed {
    /// Why.
    pub reason: RoomClosedReason,
}

/// Another member is typing: show "…님이 입력 중…" for a few seconds. Live only, no `seq`.
#[derive(SimpleObject)]
pub struct MemberTyping {
    /// Who is typing.
    pub member: Member,
}

/// An item of the `room` subscription.
#[derive(Union)]
pub enum RoomUpdateObject {
    /// A persisted event.
    Event(RoomEventObject),
    /// Someone is typing.
    Typing(MemberTyping),
    /// Refetch history.
    Resync(RoomResync),
    /// The stream ends.
    Closed(RoomClosed),
}

impl From<RoomUpdate> for RoomUpdateObject {
    fn from(u: RoomUpdate) -> Self {
        match u {
            RoomUpdate::Event(e) => RoomUpdateObject::Event(RoomEventObject(e)),
            RoomUpdate::Typing { member } => RoomUpdateObject::Typing(MemberTyping { member: (&member).into() }),
            RoomUpdate::Resync { latest_seq } => RoomUpdateObject::Resync(RoomResync { latest_seq }),
            RoomUpdate::Closed(r) => RoomUpdateObject::Closed(RoomClosed {
                reason: match r {
                    ClosedReason::Deleted => RoomClosedReason::Deleted,
                    ClosedReason::Left => RoomClosedReason::Left,
                    ClosedReason::Kicked => RoomClosedReason::Kicked,
                    ClosedReason::ShuttingDown => RoomClosedReason::ShuttingDown,
                },
            }),
        }
    }
}

/// The lobby subscription's first item: the first page of rooms in the `rooms` query's order, and the
/// total. Bounded by the configured lobby page size; the rest loads with `rooms(after: endCursor)`.
#[derive(SimpleObject)]
pub struct LobbySnapshot {
    /// The first page of rooms: rooms with people (latest activity first), then empty rooms (newest first).
    pub rooms: Vec<RoomObject>,
    /// How many rooms there are in all.
    pub total_count: i32,
    /// More rooms follow the last one.
    pub has_next_page: bool,
    /// Cursor of the last room, for `rooms(after:)`.
    pub end_cursor: Option<String>,
}

/// The lobby subscription's first item (also sent again after a lagging subscriber missed changes): the
/// listing's first page.
fn lobby_snapshot(page: &crate::store::RoomsPage) -> LobbySnapshot {
    LobbySnapshot {
        end_cursor: page.rooms.last().map(|r| crate::store::RoomCursor::of(r).encode()),
        total_count: i32::try_from(page.total).unwrap_or(i32::MAX),
        has_next_page: page.has_next,
        rooms: page.rooms.iter().cloned().map(RoomObject).collect(),
    }
}

/// A room appeared.
#[derive(SimpleObject)]
pub struct RoomCreated {
    /// The room.
    pub room: RoomObject,
}

/// A room's member count or owner changed.
#[derive(SimpleObject)]
pub struct RoomUpdated {
    /// The room now.
    pub room: RoomObject,
}

/// A room is gone.
#[derive(SimpleObject)]
pub struct RoomRemoved {
    /// Its id.
    pub id: ID,
}

/// An item of the `lobby` subscription.
#[derive(Union)]
pub enum LobbyUpdate {
    /// First item: the whole list.
    Snapshot(LobbySnapshot),
    /// A new room.
    Created(RoomCreated),
    /// A changed room.
    Updated(RoomUpdated),
    /// A removed room.
    Removed(RoomRemoved),
}

impl From<LobbyItem> for LobbyUpdate {
    fn from(item: LobbyItem) -> Self {
        match item {
            LobbyItem::Snapshot(page) => LobbyUpdate::Snapshot(lobby_snapshot(&page)),
            LobbyItem::Change(change) => match &*change {
                LobbyEvent::Created(room) => LobbyUpdate::Created(RoomCreated { room: RoomObject(room.clone()) }),
                LobbyEvent::Updated(room) => LobbyUpdate::Updated(RoomUpdated { room: RoomObject(room.clone()) }),
                LobbyEvent::Removed(id) => LobbyUpdate::Removed(RoomRemoved { id: ID(id.to_string()) }),
            },
        }
    }
}

/// Parses a GraphQL `ID` into a room id; malformed ids are simply not found.
pub(crate) fn room_id(id: &ID) -> Option<RoomId> {
    RoomId::parse(id.as_str())
}
