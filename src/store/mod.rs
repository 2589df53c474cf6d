//! Persistence behind one object-safe trait. Methods are grouped rooms → members → events → sessions →
//! GIFs → outbox, and every backend implements them in that order with the same doc lines, so the
//! backends can be read side by side. One contract test suite (`tests/it/store_contract.rs`) runs
//! against each backend.
//!
//! Backends: [`SqliteStore`] (embedded, the default) and [`MongoStore`] (`--mongodb-uri`).

mod listing;
mod mongo;
mod sqlite;

use async_trait::async_trait;

use crate::domain::{ClientKey, EventKind, GifName, MemberId, Millis, Presence, Room, RoomEvent, RoomId, Visibility};

pub use listing::{fold, literal_pattern, RoomCursor, RoomQuery, RoomsPage};
pub use mongo::{
    ImportReport, MongoStore, DEFAULT_DATABASE as MONGO_DEFAULT_DATABASE, SCHEMA_VERSION as MONGO_SCHEMA_VERSION,
};
// Which server may write (`serve` on MongoDB, see `crate::node`).
pub use mongo::{NodeRecord, WriterClaim};
pub use sqlite::{SqliteStore, StoredEvent, StoredMember, StoredRoom, SCHEMA_VERSION as SQLITE_SCHEMA_VERSION};

/// A storage failure. The text is for logs; clients only ever see a generic `INTERNAL`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Backend(String),
    /// Reading or writing a GIF file failed.
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    /// The stored schema is older than this build needs.
    #[error("the store's schema version is {found}, this gifchat needs {needed}: run `gifchat migrate`")]
    SchemaTooOld {
        /// What the store has.
        found: i64,
        /// What this build needs.
        needed: i64,
    },
}

/// Result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A room to create.
#[derive(Debug, Clone)]
pub struct NewRoom {
    /// Fresh id.
    pub id: RoomId,
    /// Validated title.
    pub title: String,
    /// Validated capacity.
    pub capacity: u32,
    /// Argon2id PHC string, if the room is secret.
    pub password_hash: Option<String>,
    /// The creator, or `None` for CLI-made rooms.
    pub owner: Option<MemberId>,
    /// Never deleted for being empty.
    pub persistent: bool,
    /// Creation time.
    pub created_at: Millis,
}

impl NewRoom {
    /// The public view of the room just created (nobody in it yet); both backends answer `create_room` with it.
    pub fn into_room(self) -> Room {
        Room {
            secret: self.password_hash.is_some(),
            id: self.id,
            title: self.title,
            capacity: self.capacity,
            owner: self.owner,
            member_count: 0,
            persistent: self.persistent,
            activity_at: self.created_at,
            created_at: self.created_at,
        }
    }
}

/// A room with its secret parts, for the hub's access checks only.
#[derive(Debug, Clone)]
pub struct RoomRecord {
    /// The public view.
    pub room: Room,
    /// Argon2id PHC string, if secret.
    pub password_hash: Option<String>,
    /// Whether anyone has ever taken a seat (rooms nobody entered are swept on a timer instead).
    pub entered: bool,
}

/// Outcome of [`Store::claim_seat`], decided atomically with the capacity check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatClaim {
    /// A new seat; `became_owner` when the room had no owner (CLI-made) and this member got it.
    Claimed {
        /// The room had no owner and now this member owns it.
        became_owner: bool,
    },
    /// The member already held a seat (another tab, or back within the grace period).
    AlreadyPresent,
    /// No free place.
    Full,
    /// The member was kicked from this room.
    Kicked,
    /// The room does not exist.
    NoRoom,
}

/// Outcome of [`Store::append_event`].
#[derive(Debug, Clone)]
pub enum Appended {
    /// Newly persisted with the next `seq`.
    New(RoomEvent),
    /// The client key was used before: the first event, unchanged.
    Existing(RoomEvent),
}

/// One page request for history.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Only events with `seq > after`.
    pub after: Option<i64>,
    /// Only events with `seq < before`.
    pub before: Option<i64>,
    /// At most this many; the newest of the range when `newest` is true, the oldest otherwise.
    pub limit: u32,
    /// Take from the end of the range (for "latest page" and scrolling back).
    pub newest: bool,
}

/// A stored session record (tower-sessions' data as JSON).
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// JSON of the session data.
    pub data: String,
    /// Expiry time.
    pub expires_at: Millis,
}

/// A change written by some process, for other processes (the CLI) to reach live clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Position; strictly increasing.
    pub id: i64,
    /// Which process wrote it (servers skip their own).
    pub origin: String,
    /// What changed.
    pub change: OutboxChange,
}

/// The changes other processes need to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxChange {
    /// A room was created.
    RoomCreated(RoomId),
    /// A room was deleted.
    RoomRemoved(RoomId),
}

/// A stored GIF: its bytes and who may fetch them (`GET /gif/<name>` checks this for whispered GIFs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGif {
    /// The validated bytes.
    pub bytes: Vec<u8>,
    /// Everyone (public GIFs need no session to fetch), or the sender and recipient of a whispered GIF.
    pub visibility: Visibility,
}

/// Limits on stored GIF bytes, enforced by [`Store::gif_put`] in the same atomic step as the insert, so
/// concurrent uploads (on one server or several sharing a store) can never together pass a limit.
/// `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GifQuota {
    /// Bytes one room's GIFs (public and whispered together) may take.
    pub room: Option<u64>,
    /// Bytes every room's GIFs together may take.
    pub total: Option<u64>,
}

impl GifQuota {
    /// No limit at all.
    pub const NONE: GifQuota = GifQuota { room: None, total: None };

    /// From the `serve` flags, where 0 means no limit (a quota of zero bytes would only switch GIFs off,
    /// which nobody asks for by setting a size).
    pub fn from_flags(room_bytes: u64, total_bytes: u64) -> Self {
        GifQuota { room: (room_bytes > 0).then_some(room_bytes), total: (total_bytes > 0).then_some(total_bytes) }
    }

    /// Whether neither limit is set (then nothing needs reading before an upload).
    pub fn is_unlimited(&self) -> bool {
        self.room.is_none() && self.total.is_none()
    }

    /// The limit that `size` more bytes would pass, given what is stored now; the total is named first
    /// when both are passed (deleting this room's GIFs would not be enough then). Reaching a limit
    /// exactly is allowed.
    pub fn exceeded_by(&self, usage: GifUsage, size: u64) -> Option<QuotaScope> {
        let passes = |used: u64, limit: Option<u64>| limit.is_some_and(|l| used.saturating_add(size) > l);
        if passes(usage.total, self.total) {
            Some(QuotaScope::Total)
        } else if passes(usage.room, self.room) {
            Some(QuotaScope::Room)
        } else {
            None
        }
    }
}

/// Which GIF quota refused an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaScope {
    /// The room's own quota.
    Room,
    /// The quota of all rooms together.
    Total,
}

/// Bytes of GIFs stored, as counted by the store alongside every insert and delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GifUsage {
    /// In one room (0 for a room that does not exist).
    pub room: u64,
    /// In every room together.
    pub total: u64,
}

/// Outcome of [`Store::gif_put`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GifPut {
    /// Stored and counted.
    Stored,
    /// Refused by a quota: nothing was stored and nothing already stored was touched.
    Refused(QuotaScope),
}

/// Everything gifchat persists. Object-safe: the server holds an `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- rooms ----
    /// Creates a room and appends `RoomCreated` to the outbox in the same transaction.
    async fn create_room(&self, room: NewRoom, origin: &str) -> Result<Room>;
    /// One room with its secret parts, or `None`.
    async fn room(&self, id: &RoomId) -> Result<Option<RoomRecord>>;
    /// All rooms, oldest first, with live member counts.
    async fn rooms(&self) -> Result<Vec<Room>>;
    /// One page of the lobby's listing: rooms with people by latest activity, then empty rooms newest first.
    async fn rooms_page(&self, query: &RoomQuery) -> Result<RoomsPage>;
    /// Sets the owner if it is still `expected`; false when someone else changed it first.
    async fn set_owner(&self, id: &RoomId, expected: Option<&MemberId>, owner: Option<&MemberId>) -> Result<bool>;
    /// Deletes a room with its members, events and GIFs, appending `RoomRemoved`; false if it was gone.
    async fn delete_room(&self, id: &RoomId, origin: &str) -> Result<bool>;
    /// Non-persistent rooms with nobody present that were entered once, or were created before `unused_before`.
    async fn removable_rooms(&self, unused_before: Millis) -> Result<Vec<RoomId>>;

    // ---- members ----
    /// Takes a seat if the member is not kicked and a place is free — one atomic step.
    async fn claim_seat(&self, room: &RoomId, member: &MemberId, now: Millis) -> Result<SeatClaim>;
    /// Gives up a seat; false if the member held none.
    async fn release_seat(&self, room: &RoomId, member: &MemberId) -> Result<bool>;
    /// Marks a member kicked (they lose their seat and cannot take one again); false if they held none.
    async fn kick_member(&self, room: &RoomId, member: &MemberId) -> Result<bool>;
    /// Whether the owner kicked `member` from `room` (they may not take a seat there again).
    async fn is_kicked(&self, room: &RoomId, member: &MemberId) -> Result<bool>;
    /// Every room the owner kicked `member` from.
    async fn kicked_from(&self, member: &MemberId) -> Result<Vec<RoomId>>;
    /// Members holding a seat, earliest first.
    async fn present_members(&self, room: &RoomId) -> Result<Vec<Presence>>;
    /// Every (room, member) seat in the store, for the grace period after a restart.
    async fn all_present(&self) -> Result<Vec<(RoomId, MemberId)>>;

    // ---- events ----
    /// Persists an event with the room's next `seq` (gap-free, commit order). With a client key that was
    /// used before by the same member in the same room, returns the first event instead.
    async fn append_event(
        &self,
        room: &RoomId,
        member: Option<&MemberId>,
        kind: &EventKind,
        key: Option<&ClientKey>,
        now: Millis,
    ) -> Result<Appended>;
    /// Events of a room visible to `reader`, ascending by `seq`.
    async fn events(&self, room: &RoomId, reader: &MemberId, page: Page) -> Result<Vec<RoomEvent>>;

    // ---- sessions ----
    /// Inserts a session; false when the id exists (the caller picks another).
    async fn session_create(&self, id: &str, row: &SessionRow) -> Result<bool>;
    /// Inserts or replaces a session.
    async fn session_save(&self, id: &str, row: &SessionRow) -> Result<()>;
    /// A session that has not expired at `now`.
    async fn session_load(&self, id: &str, now: Millis) -> Result<Option<SessionRow>>;
    /// Removes a session.
    async fn session_delete(&self, id: &str) -> Result<()>;
    /// Removes expired sessions; returns how many.
    async fn sessions_purge(&self, now: Millis) -> Result<u64>;

    // ---- GIFs ----
    /// Stores validated GIF bytes for a room, with who may fetch them (a whispered GIF: its pair only),
    /// if `quota` leaves room for them — checked and counted in one atomic step with the insert.
    async fn gif_put(
        &self,
        room: &RoomId,
        name: &GifName,
        visibility: &Visibility,
        bytes: Vec<u8>,
        quota: GifQuota,
    ) -> Result<GifPut>;
    /// The bytes of a stored GIF with who may fetch them.
    async fn gif_get(&self, name: &GifName) -> Result<Option<StoredGif>>;
    /// Bytes of GIFs stored for `room` and in all rooms, from counters kept with every insert and delete
    /// (one cheap read, no scan); a deleted room's GIFs no longer count.
    async fn gif_usage(&self, room: &RoomId) -> Result<GifUsage>;

    // ---- outbox and health ----
    /// Outbox entries after `after`, oldest first.
    async fn outbox_after(&self, after: i64) -> Result<Vec<OutboxEntry>>;
    /// The newest outbox id (0 when empty); a server starts tailing from here.
    async fn outbox_head(&self) -> Result<i64>;
    /// Cheap "has anything been committed by another connection since last time?" for tailing; backends
    /// without such a signal return true.
    async fn changed_elsewhere(&self) -> Result<bool>;
    /// Drops outbox entries older than `before`.
    async fn outbox_prune(&self, before: Millis) -> Result<()>;
    /// Answers when the store is reachable (for `/readyz`).
    async fn ping(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_flag_means_no_limit_and_any_other_value_is_a_limit_in_bytes() {
        assert_eq!(GifQuota::from_flags(0, 0), GifQuota::NONE);
        assert!(GifQuota::from_flags(0, 0).is_unlimited());
        assert_eq!(GifQuota::from_flags(1, 0), GifQuota { room: Some(1), total: None });
        assert!(!GifQuota::from_flags(0, 5).is_unlimited());
    }

    #[test]
    fn reaching_a_quota_is_allowed_passing_it_by_one_byte_is_not_and_the_total_is_named_first() {
        let quota = GifQuota { room: Some(100), total: Some(1000) };
        let usage = |room, total| GifUsage { room, total };
        assert_eq!(quota.exceeded_by(usage(60, 60), 40), None);
        assert_eq!(quota.exceeded_by(usage(60, 60), 41), Some(QuotaScope::Room));
        assert_eq!(quota.exceeded_by(usage(0, 990), 10), None);
        assert_eq!(quota.exceeded_by(usage(0, 990), 11), Some(QuotaScope::Total));
        assert_eq!(quota.exceeded_by(usage(100, 1000), 1), Some(QuotaScope::Total), "both full");
        assert_eq!(quota.exceeded_by(usage(u64::MAX, u64::MAX), u64::MAX), Some(QuotaScope::Total), "no overflow");
        assert_eq!(GifQuota::NONE.exceeded_by(usage(u64::MAX, u64::MAX), u64::MAX), None);
    }
}
