//! Reading everything out of the embedded store, for `gifchat migrate --from-data-dir` (moving to
//! MongoDB). Read-only: nothing here writes, so a copy can be retried from the same directory.

use rusqlite::params;

use super::{db_err, SqliteStore};
use crate::domain::{GifName, MemberId, Millis, RoomEvent, RoomId};
use crate::store::{Result, RoomRecord, SessionRow};

/// A room as stored, with its secret parts and every member row.
#[derive(Debug, Clone)]
pub struct StoredRoom {
    /// The room, password hash and `entered` flag.
    pub record: RoomRecord,
    /// Everyone who ever held a seat (present now or not, kicked or not).
    pub members: Vec<StoredMember>,
}

/// One member row of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    /// Who.
    pub member: MemberId,
    /// When they last took their seat.
    pub joined_at: Millis,
    /// Holds a seat now (a server restarting on the copy gives them one grace period).
    pub present: bool,
    /// Kicked: may not take a seat again.
    pub kicked: bool,
}

/// One event as stored, with the client key it was sent with.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The event.
    pub event: RoomEvent,
    /// The sender's idempotency key, if any.
    pub client_key: Option<String>,
}

impl SqliteStore {
    /// Every room with its member rows, oldest first.
    pub async fn export_rooms(&self) -> Result<Vec<StoredRoom>> {
        let ids: Vec<RoomId> = self
            .read(|conn| {
                let mut stmt = conn.prepare("SELECT id FROM rooms ORDER BY id").map_err(db_err)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
                Ok(rows.filter_map(|r| r.ok()).filter_map(|s| RoomId::parse(&s)).collect())
            })
            .await?;
        let mut rooms = Vec::with_capacity(ids.len());
        for id in ids {
            // A room deleted by a running server meanwhile is simply not copied.
            let Some(record) = crate::store::Store::room(self, &id).await? else { continue };
            let members = self
                .read(move |conn| {
                    let mut stmt = conn
                        .prepare("SELECT member_id, joined_at, present, kicked FROM members WHERE room_id = ?1 ORDER BY joined_at")
                        .map_err(db_err)?;
                    let rows = stmt
                        .query_map([id.as_str()], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, bool>(2)?, r.get::<_, bool>(3)?))
                        })
                        .map_err(db_err)?;
                    Ok(rows
                        .filter_map(|r| r.ok())
                        .filter_map(|(m, joined_at, present, kicked)| {
                            Some(StoredMember { member: MemberId::parse(&m)?, joined_at, present, kicked })
                        })
                        .collect())
                })
                .await?;
            rooms.push(StoredRoom { record, members });
        }
        Ok(rooms)
    }

    /// Up to `limit` events of `room` with `seq > after`, ascending, whispers included.
    pub async fn export_events(&self, room: &RoomId, after: i64, limit: u32) -> Result<Vec<StoredEvent>> {
        let room = room.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT room_id, seq, at, member_id, body, client_key FROM events
                     WHERE room_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![room.as_str(), after, limit], |r| {
                    Ok(StoredEvent { event: super::ops::event_from_row(r)?, client_key: r.get(5)? })
                })
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<_>>().map_err(db_err)
        })
        .await
    }

    /// Every session that has not expired at `now`, with its id.
    pub async fn export_sessions(&self, now: Millis) -> Result<Vec<(String, SessionRow)>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare("SELECT id, data, expires_at FROM sessions WHERE expires_at > ?1 ORDER BY id")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([now], |r| Ok((r.get(0)?, SessionRow { data: r.get(1)?, expires_at: r.get(2)? })))
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<_>>().map_err(db_err)
        })
        .await
    }

    /// The names of `room`'s GIFs (their bytes come from `gif_get`).
    pub async fn export_gif_names(&self, room: &RoomId) -> Result<Vec<GifName>> {
        let room = room.clone();
        self.read(move |conn| {
            let mut stmt = conn.prepare("SELECT name FROM gifs WHERE room_id = ?1 ORDER BY name").map_err(db_err)?;
            let rows = stmt.query_map([room.as_str()], |r| r.get::<_, String>(0)).map_err(db_err)?;
            Ok(rows.filter_map(|r| r.ok()).filter_map(|n| GifName::parse(&n)).collect())
        })
        .await
    }
}
