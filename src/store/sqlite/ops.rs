//! `Store` for SQLite, in the trait's order: rooms → members → events → sessions → GIFs → outbox.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::appender::AppendRequest;
use super::{data_version, db_err, SqliteStore};
use crate::domain::{ClientKey, EventKind, GifName, MemberId, Millis, Presence, Room, RoomEvent, RoomId, Visibility};
use crate::store::{
    fold, Appended, GifPut, GifQuota, GifUsage, NewRoom, OutboxChange, OutboxEntry, Page, Result, RoomCursor,
    RoomQuery, RoomRecord, RoomsPage, SeatClaim, SessionRow, Store, StoreError, StoredGif,
};

/// Rooms with their live member count, shared by the single-room and list queries.
const ROOM_SELECT: &str =
    "SELECT r.id, r.title, r.capacity, r.password_hash, r.owner, r.persistent, r.created_at, r.entered,
    (SELECT count(*) FROM members m WHERE m.room_id = r.id AND m.present = 1), r.last_activity FROM rooms r";

fn room_from_row(row: &Row<'_>) -> rusqlite::Result<RoomRecord> {
    let id: String = row.get(0)?;
    let hash: Option<String> = row.get(3)?;
    let owner: Option<String> = row.get(4)?;
    Ok(RoomRecord {
        room: Room {
            id: RoomId::parse(&id).unwrap_or_else(RoomId::generate),
            title: row.get(1)?,
            capacity: row.get(2)?,
            secret: hash.is_some(),
            owner: owner.as_deref().and_then(MemberId::parse),
            member_count: row.get(8)?,
            persistent: row.get(5)?,
            created_at: row.get(6)?,
            activity_at: row.get(9)?,
        },
        password_hash: hash,
        entered: row.get(7)?,
    })
}

pub(super) fn event_from_row(row: &Row<'_>) -> rusqlite::Result<RoomEvent> {
    let room: String = row.get(0)?;
    let member: Option<String> = row.get(3)?;
    let body: String = row.get(4)?;
    let kind = serde_json::from_str(&body)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(RoomEvent {
        room: RoomId::parse(&room).unwrap_or_else(RoomId::generate),
        seq: row.get(1)?,
        at: row.get(2)?,
        member: member.as_deref().and_then(MemberId::parse),
        kind,
    })
}

const EVENT_SELECT: &str = "SELECT room_id, seq, at, member_id, body FROM events";

fn outbox_insert(conn: &Connection, origin: &str, kind: &str, room: &RoomId) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO outbox (origin, kind, room_id, at) VALUES (?1, ?2, ?3, ?4)",
        params![origin, kind, room.as_str(), crate::domain::now_millis()],
    )?;
    Ok(())
}

/// Rooms with somebody present, after `after` in (activity, id) descending order; `filter` uses `?1`.
fn active_rooms(
    conn: &Connection,
    filter: &str,
    title: Option<&str>,
    after: Option<(i64, &str)>,
    limit: usize,
) -> Result<Vec<Room>> {
    // `present_count > 0` verbatim, so SQLite picks the partial index `rooms_active`, already in order.
    let keyset = if after.is_some() { " AND (r.last_activity, r.id) < (?2, ?3)" } else { "" };
    let sql = format!(
        "{ROOM_SELECT} WHERE r.present_count > 0{filter}{keyset}
         ORDER BY r.last_activity DESC, r.id DESC LIMIT {limit}"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let (at, id) = after.unwrap_or((0, ""));
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    // Numbered parameters: `?1` is the title (NULL: no filter), so the keyset is always `?2`, `?3`.
    args.push(title.map(str::to_owned).into());
    if after.is_some() {
        args.push(at.into());
        args.push(id.to_owned().into());
    }
    let rows = stmt.query_map(rusqlite::params_from_iter(args), room_from_row).map_err(db_err)?;
    rows.map(|r| r.map(|rec| rec.room).map_err(db_err)).collect()
}

/// Empty rooms after the room `after`, newest first; `filter` uses `?1`.
fn idle_rooms(
    conn: &Connection,
    filter: &str,
    title: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Room>> {
    let keyset = if after.is_some() { " AND r.id < ?2" } else { "" };
    let sql = format!("{ROOM_SELECT} WHERE r.present_count = 0{filter}{keyset} ORDER BY r.id DESC LIMIT {limit}");
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut args: Vec<Option<String>> = vec![title.map(str::to_owned)];
    args.extend(after.map(|a| Some(a.to_owned())));
    let rows = stmt.query_map(rusqlite::params_from_iter(args), room_from_row).map_err(db_err)?;
    rows.map(|r| r.map(|rec| rec.room).map_err(db_err)).collect()
}

impl SqliteStore {
    /// Takes `member`'s seat away (marking them kicked when `kick`), only if they hold it; false otherwise.
    async fn vacate(&self, room: &RoomId, member: &MemberId, kick: bool) -> Result<bool> {
        let (room, member) = (room.clone(), member.clone());
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE members SET present = 0, kicked = kicked OR ?3
                     WHERE room_id = ?1 AND member_id = ?2 AND present = 1",
                    params![room.as_str(), member.as_str(), kick],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    // ---- rooms ----
    /// Creates a room and appends `RoomCreated` to the outbox in the same transaction.
    async fn create_room(&self, new: NewRoom, origin: &str) -> Result<Room> {
        let origin = origin.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction().map_err(db_err)?;
            tx.execute(
                "INSERT INTO rooms (id, title, capacity, password_hash, owner, persistent, created_at, last_activity,
                                    title_folded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
                params![
                    new.id.as_str(),
                    new.title,
                    new.capacity,
                    new.password_hash,
                    new.owner.as_ref().map(MemberId::as_str),
                    new.persistent,
                    new.created_at,
                    fold(&new.title)
                ],
            )
            .map_err(db_err)?;
            outbox_insert(&tx, &origin, "room_created", &new.id).map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok(new.into_room())
        })
        .await
    }

    /// One room with its secret parts, or `None`.
    async fn room(&self, id: &RoomId) -> Result<Option<RoomRecord>> {
        let id = id.clone();
        self.read(move |conn| {
            conn.query_row(&format!("{ROOM_SELECT} WHERE r.id = ?1"), [id.as_str()], room_from_row)
                .optional()
                .map_err(db_err)
        })
        .await
    }

    /// All rooms, oldest first, with live member counts.
    async fn rooms(&self) -> Result<Vec<Room>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{ROOM_SELECT} ORDER BY r.id")).map_err(db_err)?;
            let rows = stmt.query_map([], room_from_row).map_err(db_err)?;
            rows.map(|r| r.map(|rec| rec.room).map_err(db_err)).collect()
        })
        .await
    }

    /// One page of the lobby's listing: rooms with people by latest activity, then empty rooms newest first.
    async fn rooms_page(&self, query: &RoomQuery) -> Result<RoomsPage> {
        let query = query.clone();
        self.read(move |conn| {
            // Fetch one more than asked to learn whether a next page exists.
            let want = query.first as usize + 1;
            let mut rooms = Vec::with_capacity(want);
            let title = query.title.as_deref();
            // instr() is plain substring search: `%`, `_` and the like in the search text mean themselves.
            let filter = " AND (?1 IS NULL OR instr(r.title_folded, ?1) > 0)";
            let idle_after = match &query.after {
                None => {
                    rooms.extend(active_rooms(conn, filter, title, None, want)?);
                    None
                }
                Some(RoomCursor::Active { at, id }) => {
                    rooms.extend(active_rooms(conn, filter, title, Some((*at, id.as_str())), want)?);
                    None
                }
                Some(RoomCursor::Idle { id }) => Some(id.as_str().to_owned()),
            };
            // Empty rooms follow the rooms with people (all of them, once a cursor reached this part).
            if rooms.len() < want {
                let limit = want - rooms.len();
                rooms.extend(idle_rooms(conn, filter, title, idle_after.as_deref(), limit)?);
            }
            let has_next = rooms.len() > query.first as usize;
            rooms.truncate(query.first as usize);
            let total: i64 = conn
                .query_row(&format!("SELECT count(*) FROM rooms r WHERE 1 = 1{filter}"), [title], |r| r.get(0))
                .map_err(db_err)?;
            Ok(RoomsPage { rooms, has_next, total: total.max(0) as u64 })
        })
        .await
    }

    /// Sets the owner if it is still `expected`; false when someone else changed it first.
    async fn set_owner(&self, id: &RoomId, expected: Option<&MemberId>, owner: Option<&MemberId>) -> Result<bool> {
        let (id, expected, owner) = (id.clone(), expected.cloned(), owner.cloned());
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE rooms SET owner = ?3 WHERE id = ?1 AND owner IS ?2",
                    params![id.as_str(), expected.as_ref().map(MemberId::as_str), owner.as_ref().map(MemberId::as_str)],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    /// Deletes a room with its members, events and GIFs, appending `RoomRemoved`; false if it was gone.
    async fn delete_room(&self, id: &RoomId, origin: &str) -> Result<bool> {
        let (id, origin) = (id.clone(), origin.to_owned());
        let names = self
            .write(move |conn| {
                let tx = conn.transaction().map_err(db_err)?;
                let names: Vec<String> = {
                    let mut stmt = tx.prepare_cached("SELECT name FROM gifs WHERE room_id = ?1").map_err(db_err)?;
                    let rows = stmt.query_map([id.as_str()], |r| r.get(0)).map_err(db_err)?;
                    rows.collect::<rusqlite::Result<_>>().map_err(db_err)?
                };
                // Members, events and GIF rows go with the room (ON DELETE CASCADE).
                let n = tx.execute("DELETE FROM rooms WHERE id = ?1", [id.as_str()]).map_err(db_err)?;
                if n == 1 {
                    outbox_insert(&tx, &origin, "room_removed", &id).map_err(db_err)?;
                }
                tx.commit().map_err(db_err)?;
                Ok((n == 1).then_some(names))
            })
            .await?;
        let Some(names) = names else { return Ok(false) };
        // Files go after the commit: a crash in between leaves orphan files, never rows pointing at nothing.
        for name in names.iter().filter_map(|n| GifName::parse(n)) {
            match tokio::fs::remove_file(self.gif_path(&name)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(error = %e, "could not remove a GIF file of a deleted room"),
            }
        }
        Ok(true)
    }

    /// Non-persistent rooms with nobody present that were entered once, or were created before `unused_before`.
    async fn removable_rooms(&self, unused_before: Millis) -> Result<Vec<RoomId>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT r.id FROM rooms r WHERE r.persistent = 0
                       AND NOT EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.present = 1)
                       AND (r.entered = 1 OR r.created_at < ?1)",
                )
                .map_err(db_err)?;
            let rows = stmt.query_map([unused_before], |r| r.get::<_, String>(0)).map_err(db_err)?;
            Ok(rows.filter_map(|r| r.ok()).filter_map(|s| RoomId::parse(&s)).collect())
        })
        .await
    }

    // ---- members ----
    /// Takes a seat if the member is not kicked and a place is free — one atomic step.
    async fn claim_seat(&self, room: &RoomId, member: &MemberId, now: Millis) -> Result<SeatClaim> {
        let (room, member) = (room.clone(), member.clone());
        self.write(move |conn| {
            // IMMEDIATE: the count and the insert see the same state even with the CLI writing too.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let found: Option<(u32, Option<String>)> = tx
                .query_row("SELECT capacity, owner FROM rooms WHERE id = ?1", [room.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(db_err)?;
            let Some((capacity, owner)) = found else { return Ok(SeatClaim::NoRoom) };
            let mine: Option<(bool, bool)> = tx
                .query_row(
                    "SELECT present, kicked FROM members WHERE room_id = ?1 AND member_id = ?2",
                    [room.as_str(), member.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_err)?;
            match mine {
                Some((_, true)) => return Ok(SeatClaim::Kicked),
                Some((true, _)) => return Ok(SeatClaim::AlreadyPresent),
                _ => {}
            }
            let count: u32 = tx
                .query_row("SELECT count(*) FROM members WHERE room_id = ?1 AND present = 1", [room.as_str()], |r| {
                    r.get(0)
                })
                .map_err(db_err)?;
            if count >= capacity {
                return Ok(SeatClaim::Full);
            }
            tx.execute(
                "INSERT INTO members (room_id, member_id, joined_at, present) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (room_id, member_id) DO UPDATE SET present = 1, joined_at = excluded.joined_at",
                params![room.as_str(), member.as_str(), now],
            )
            .map_err(db_err)?;
            let became_owner = owner.is_none();
            if became_owner {
                tx.execute("UPDATE rooms SET owner = ?2 WHERE id = ?1", [room.as_str(), member.as_str()])
                    .map_err(db_err)?;
            }
            tx.execute("UPDATE rooms SET entered = 1 WHERE id = ?1", [room.as_str()]).map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok(SeatClaim::Claimed { became_owner })
        })
        .await
    }

    /// Gives up a seat; false if the member held none.
    async fn release_seat(&self, room: &RoomId, member: &MemberId) -> Result<bool> {
        self.vacate(room, member, false).await
    }

    /// Marks a member kicked (they lose their seat and cannot take one again); false if they held none.
    async fn kick_member(&self, room: &RoomId, member: &MemberId) -> Result<bool> {
        self.vacate(room, member, true).await
    }

    /// Whether the owner kicked `member` from `room` (they may not take a seat there again).
    async fn is_kicked(&self, room: &RoomId, member: &MemberId) -> Result<bool> {
        let (room, member) = (room.clone(), member.clone());
        self.read(move |conn| {
            let kicked: Option<bool> = conn
                .query_row(
                    "SELECT kicked FROM members WHERE room_id = ?1 AND member_id = ?2",
                    [room.as_str(), member.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            Ok(kicked.unwrap_or(false))
        })
        .await
    }

    /// Every room the owner kicked `member` from.
    async fn kicked_from(&self, member: &MemberId) -> Result<Vec<RoomId>> {
        let member = member.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT room_id FROM members WHERE member_id = ?1 AND kicked = 1")
                .map_err(db_err)?;
            let rows = stmt.query_map([member.as_str()], |r| r.get::<_, String>(0)).map_err(db_err)?;
            Ok(rows.filter_map(|r| r.ok()).filter_map(|s| RoomId::parse(&s)).collect())
        })
        .await
    }

    /// Members holding a seat, earliest first.
    async fn present_members(&self, room: &RoomId) -> Result<Vec<Presence>> {
        let room = room.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT member_id, joined_at FROM members WHERE room_id = ?1 AND present = 1
                     ORDER BY joined_at, member_id",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([room.as_str()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(db_err)?;
            Ok(rows
                .filter_map(|r| r.ok())
                .filter_map(|(m, at)| MemberId::parse(&m).map(|member| Presence { member, joined_at: at }))
                .collect())
        })
        .await
    }

    /// Every (room, member) seat in the store, for the grace period after a restart.
    async fn all_present(&self) -> Result<Vec<(RoomId, MemberId)>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT room_id, member_id FROM members WHERE present = 1").map_err(db_err)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(db_err)?;
            Ok(rows
                .filter_map(|r| r.ok())
                .filter_map(|(r, m)| Some((RoomId::parse(&r)?, MemberId::parse(&m)?)))
                .collect())
        })
        .await
    }

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
    ) -> Result<Appended> {
        let body = serde_json::to_string(kind).map_err(db_err)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        // Group commit: the writer thread answers after the transaction holding this event committed.
        self.inner.appender.submit(AppendRequest {
            room: room.clone(),
            member: member.cloned(),
            kind: kind.clone(),
            body,
            key: key.cloned(),
            now,
            reply,
        })?;
        answer.await.map_err(|_| StoreError::Backend("the event writer stopped before answering".into()))?
    }

    /// Events of a room visible to `reader`, ascending by `seq`.
    async fn events(&self, room: &RoomId, reader: &MemberId, page: Page) -> Result<Vec<RoomEvent>> {
        let (room, reader) = (room.clone(), reader.clone());
        self.read(move |conn| {
            let order = if page.newest { "DESC" } else { "ASC" };
            let sql = format!(
                "{EVENT_SELECT} WHERE room_id = ?1 AND seq > ?2 AND seq < ?3
                   AND (recipient IS NULL OR member_id = ?4 OR recipient = ?4)
                 ORDER BY seq {order} LIMIT ?5"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(
                    params![
                        room.as_str(),
                        page.after.unwrap_or(0),
                        page.before.unwrap_or(i64::MAX),
                        reader.as_str(),
                        page.limit
                    ],
                    event_from_row,
                )
                .map_err(db_err)?;
            let mut events: Vec<RoomEvent> = rows.collect::<rusqlite::Result<_>>().map_err(db_err)?;
            if page.newest {
                events.reverse();
            }
            Ok(events)
        })
        .await
    }

    // ---- sessions ----
    /// Inserts a session; false when the id exists (the caller picks another).
    async fn session_create(&self, id: &str, row: &SessionRow) -> Result<bool> {
        let (id, row) = (id.to_owned(), row.clone());
        self.write(move |conn| {
            let n = conn
                .execute(
                    "INSERT INTO sessions (id, data, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
                    params![id, row.data, row.expires_at],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    /// Inserts or replaces a session.
    async fn session_save(&self, id: &str, row: &SessionRow) -> Result<()> {
        let (id, row) = (id.to_owned(), row.clone());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO sessions (id, data, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
                params![id, row.data, row.expires_at],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    /// A session that has not expired at `now`.
    async fn session_load(&self, id: &str, now: Millis) -> Result<Option<SessionRow>> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT data, expires_at FROM sessions WHERE id = ?1 AND expires_at > ?2",
                params![id, now],
                |r| Ok(SessionRow { data: r.get(0)?, expires_at: r.get(1)? }),
            )
            .optional()
            .map_err(db_err)
        })
        .await
    }

    /// Removes a session.
    async fn session_delete(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.write(move |conn| conn.execute("DELETE FROM sessions WHERE id = ?1", [id]).map(|_| ()).map_err(db_err))
            .await
    }

    /// Removes expired sessions; returns how many.
    async fn sessions_purge(&self, now: Millis) -> Result<u64> {
        self.write(move |conn| {
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now]).map(|n| n as u64).map_err(db_err)
        })
        .await
    }

    // ---- GIFs ----
    async fn gif_put(
        &self,
        room: &RoomId,
        name: &GifName,
        visibility: &Visibility,
        bytes: Vec<u8>,
        quota: GifQuota,
    ) -> Result<GifPut> {
        // File first, then the row: a row never points at a missing file. A refused upload's file is
        // removed again; until then it is only on disk, never counted or served.
        let path = self.gif_path(name);
        let tmp = path.with_extension("part");
        tokio::fs::write(&tmp, &bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        let (room, name) = (room.clone(), name.clone());
        let size = bytes.len() as u64;
        let (sender, recipient) = match visibility {
            Visibility::Room => (None, None),
            Visibility::Pair(a, b) => (Some(a.as_str().to_owned()), Some(b.as_str().to_owned())),
        };
        let outcome = self
            .write(move |conn| {
                // IMMEDIATE: the counters read here cannot change before the insert, whichever connection
                // (another server process on the same directory, the CLI) writes next.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
                let room_bytes: Option<i64> = tx
                    .query_row("SELECT gif_bytes FROM rooms WHERE id = ?1", [room.as_str()], |r| r.get(0))
                    .optional()
                    .map_err(db_err)?;
                let Some(room_bytes) = room_bytes else {
                    return Err(StoreError::Backend(format!("room {room} does not exist")));
                };
                let total: i64 =
                    tx.query_row("SELECT bytes FROM gif_usage WHERE id = 1", [], |r| r.get(0)).map_err(db_err)?;
                let usage = GifUsage { room: room_bytes.max(0) as u64, total: total.max(0) as u64 };
                if let Some(scope) = quota.exceeded_by(usage, size) {
                    return Ok(GifPut::Refused(scope));
                }
                // The triggers add `size` to the room's and the total counter in this transaction.
                tx.execute(
                    "INSERT INTO gifs (name, room_id, sender, recipient, size) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![name.as_str(), room.as_str(), sender, recipient, size as i64],
                )
                .map_err(db_err)?;
                tx.commit().map_err(db_err)?;
                Ok(GifPut::Stored)
            })
            .await;
        if !matches!(outcome, Ok(GifPut::Stored)) {
            // Refused, or the room vanished meanwhile: do not leave the file behind.
            let _ = tokio::fs::remove_file(&path).await;
        }
        outcome
    }

    /// The bytes of a stored GIF with who may fetch them.
    async fn gif_get(&self, name: &GifName) -> Result<Option<StoredGif>> {
        let key = name.as_str().to_owned();
        let row = self
            .read(move |conn| {
                conn.query_row("SELECT sender, recipient FROM gifs WHERE name = ?1", [key], |r| {
                    Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .optional()
                .map_err(db_err)
            })
            .await?;
        // The row is written after the file and removed with its room: no row, no GIF.
        let Some(pair) = row else { return Ok(None) };
        let visibility = match pair {
            (Some(a), Some(b)) => match (MemberId::parse(&a), MemberId::parse(&b)) {
                (Some(a), Some(b)) => Visibility::Pair(a, b),
                _ => return Err(StoreError::Backend(format!("gif {name:?}: unreadable pair"))),
            },
            _ => Visibility::Room,
        };
        match tokio::fs::read(self.gif_path(name)).await {
            Ok(bytes) => Ok(Some(StoredGif { bytes, visibility })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Bytes of GIFs stored for `room` and in all rooms, from counters kept with every insert and delete
    /// (one cheap read, no scan); a deleted room's GIFs no longer count.
    async fn gif_usage(&self, room: &RoomId) -> Result<GifUsage> {
        let room = room.clone();
        self.read(move |conn| {
            let (room, total): (Option<i64>, i64) = conn
                .query_row(
                    "SELECT (SELECT gif_bytes FROM rooms WHERE id = ?1), (SELECT bytes FROM gif_usage WHERE id = 1)",
                    [room.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(db_err)?;
            Ok(GifUsage { room: room.unwrap_or(0).max(0) as u64, total: total.max(0) as u64 })
        })
        .await
    }

    // ---- outbox and health ----
    /// Outbox entries after `after`, oldest first.
    async fn outbox_after(&self, after: i64) -> Result<Vec<OutboxEntry>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id, origin, kind, room_id FROM outbox WHERE id > ?1 ORDER BY id")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([after], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
                })
                .map_err(db_err)?;
            Ok(rows
                .filter_map(|r| r.ok())
                .filter_map(|(id, origin, kind, room)| {
                    let room = RoomId::parse(&room)?;
                    let change = match kind.as_str() {
                        "room_created" => OutboxChange::RoomCreated(room),
                        "room_removed" => OutboxChange::RoomRemoved(room),
                        _ => return None,
                    };
                    Some(OutboxEntry { id, origin, change })
                })
                .collect())
        })
        .await
    }

    /// The newest outbox id (0 when empty); a server starts tailing from here.
    async fn outbox_head(&self) -> Result<i64> {
        self.read(|conn| conn.query_row("SELECT coalesce(max(id), 0) FROM outbox", [], |r| r.get(0)).map_err(db_err))
            .await
    }

    /// Cheap "has anything been committed by another connection since last time?" for tailing.
    async fn changed_elsewhere(&self) -> Result<bool> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = inner.watcher.lock().unwrap_or_else(|p| p.into_inner());
            let now = data_version(&guard.0).map_err(db_err)?;
            let changed = now != guard.1;
            guard.1 = now;
            Ok(changed)
        })
        .await
        .map_err(db_err)?
    }

    /// Drops outbox entries older than `before`.
    async fn outbox_prune(&self, before: Millis) -> Result<()> {
        self.write(move |conn| conn.execute("DELETE FROM outbox WHERE at < ?1", [before]).map(|_| ()).map_err(db_err))
            .await
    }

    /// Answers when the store is reachable (for `/readyz`).
    async fn ping(&self) -> Result<()> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err)).await
    }
}
