//! `Store` for MongoDB, in the trait's order: rooms → members → events → sessions → GIFs → outbox.

use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, spec::BinarySubtype, Binary, Bson, DateTime, Document};

use super::{db_err, flag, int, is_duplicate_key, is_opt, opt_str, pair_of, put_opt, put_pair, MongoStore};
use crate::domain::{ClientKey, EventKind, GifName, MemberId, Millis, Presence, Room, RoomEvent, RoomId, Visibility};
use crate::store::{
    fold, literal_pattern, Appended, GifPut, GifQuota, GifUsage, NewRoom, OutboxChange, OutboxEntry, Page, Result,
    RoomCursor, RoomQuery, RoomRecord, RoomsPage, SeatClaim, SessionRow, Store, StoreError, StoredGif,
};

/// Conflicting writers retry this often before giving up; each lost race means another writer won,
/// so only extreme contention gets near it.
const MAX_ATTEMPTS: u32 = 1000;

/// Largest GIF the `gifs` collection takes: a BSON document is at most 16 MiB including the other fields.
const GIF_MAX: usize = 15 * 1024 * 1024;

fn room_from_doc(d: &Document) -> Result<RoomRecord> {
    let id = d.get_str("_id").map_err(|e| StoreError::Backend(e.to_string()))?;
    let hash = opt_str(d, "password_hash").map(str::to_owned);
    Ok(RoomRecord {
        room: Room {
            id: RoomId::parse(id).ok_or_else(|| StoreError::Backend(format!("room id {id:?} is not a ULID")))?,
            title: d.get_str("title").unwrap_or_default().to_owned(),
            capacity: int(d, "capacity")?.try_into().unwrap_or(0),
            secret: hash.is_some(),
            owner: opt_str(d, "owner").and_then(MemberId::parse),
            member_count: int(d, "present_count")?.try_into().unwrap_or(0),
            persistent: flag(d, "persistent"),
            created_at: int(d, "created_at")?,
            activity_at: match d.get("last_activity") {
                Some(_) => int(d, "last_activity")?,
                None => int(d, "created_at")?,
            },
        },
        password_hash: hash,
        entered: flag(d, "entered"),
    })
}

fn event_from_doc(d: &Document) -> Result<RoomEvent> {
    let room = d.get_str("room_id").ok().and_then(RoomId::parse);
    let body = d.get_document("body").map_err(|e| StoreError::Backend(e.to_string()))?;
    let kind: EventKind = mongodb::bson::from_document(body.clone()).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(RoomEvent {
        room: room.ok_or_else(|| StoreError::Backend("event without a room id".into()))?,
        seq: int(d, "seq")?,
        at: int(d, "at")?,
        member: opt_str(d, "member").and_then(MemberId::parse),
        kind,
    })
}

/// The room's seats as (member, joined_at): `present` lists who holds a seat (the array the atomic
/// filters test), `joined` maps each of them to when they sat down.
fn seats_of(d: &Document) -> Vec<(String, Millis)> {
    let Ok(present) = d.get_array("present") else { return Vec::new() };
    let joined = d.get_document("joined").ok();
    present
        .iter()
        .filter_map(|m| m.as_str())
        .map(|m| (m.to_owned(), joined.and_then(|j| int(j, m).ok()).unwrap_or(0)))
        .collect()
}

fn has_string(d: &Document, key: &str, value: &str) -> bool {
    d.get_array(key).map(|a| a.iter().any(|v| v.as_str() == Some(value))).unwrap_or(false)
}

/// A short pause after a lost race, growing with the attempt, so writers stop colliding in lockstep.
async fn back_off(attempt: u32) {
    if attempt > 2 {
        let cap = u64::from(attempt.min(20));
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % cap)).await;
    } else {
        tokio::task::yield_now().await;
    }
}

impl MongoStore {
    /// Appends an outbox entry at position (newest `n`) + 1 against the unique `n` index, so positions
    /// are gap-free and in commit order, as readers tailing `n > cursor` need.
    async fn outbox_insert(&self, origin: &str, kind: &str, room: &RoomId) -> Result<()> {
        let id = ulid::Ulid::new().to_string();
        for attempt in 0..MAX_ATTEMPTS {
            let n = self.outbox_head().await? + 1;
            let entry = doc! {
                "_id": &id, "n": n, "origin": origin, "kind": kind, "room_id": room.as_str(),
                "at": crate::domain::now_millis(),
            };
            match self.outbox().insert_one(entry).await {
                Ok(_) => return Ok(()),
                Err(e) if is_duplicate_key(&e) => {
                    // A duplicate `_id` means an earlier attempt of ours landed after all.
                    if self.outbox().find_one(doc! { "_id": &id }).await.map_err(db_err)?.is_some() {
                        return Ok(());
                    }
                    back_off(attempt).await;
                }
                Err(e) => return Err(db_err(e)),
            }
        }
        Err(StoreError::Backend("outbox: too many conflicting writers".into()))
    }

    /// The event holding `member`'s client `key` in `room`, if any.
    async fn event_by_key(
        &self,
        room: &RoomId,
        member: Option<&MemberId>,
        key: &ClientKey,
    ) -> Result<Option<RoomEvent>> {
        let mut filter = doc! { "room_id": room.as_str(), "client_key": key.as_str() };
        filter.extend(is_opt("member", member.map(MemberId::as_str)));
        self.events().find_one(filter).await.map_err(db_err)?.as_ref().map(event_from_doc).transpose()
    }

    /// The newest `seq` stored for `room` (0 when none).
    pub(super) async fn last_seq(&self, room: &RoomId) -> Result<i64> {
        let newest = self
            .events()
            .find_one(doc! { "room_id": room.as_str() })
            .sort(doc! { "seq": -1 })
            .projection(doc! { "seq": 1 })
            .await
            .map_err(db_err)?;
        newest.as_ref().map(|d| int(d, "seq")).transpose().map(|s| s.unwrap_or(0))
    }

    /// Whether the room document exists (a cheap `_id`-only read).
    pub(super) async fn room_exists(&self, room: &RoomId) -> Result<bool> {
        let found = self.rooms().find_one(doc! { "_id": room.as_str() }).projection(doc! { "_id": 1 }).await;
        Ok(found.map_err(db_err)?.is_some())
    }

    /// Rooms matching `filter` in `sort` order, at most `limit`.
    async fn find_rooms(&self, filter: Document, sort: Document, limit: usize) -> Result<Vec<Room>> {
        let docs: Vec<Document> = self
            .rooms()
            .find(filter)
            .sort(sort)
            .limit(limit as i64)
            .await
            .map_err(db_err)?
            .try_collect()
            .await
            .map_err(db_err)?;
        docs.iter().map(|d| room_from_doc(d).map(|r| r.room)).collect()
    }

    /// Takes `member`'s seat away (plus `extra` update operators, e.g. marking them kicked), conditional on
    /// their holding it, so the count can never be decremented twice; false if they held none.
    async fn vacate(&self, room: &RoomId, member: &MemberId, extra: Document) -> Result<bool> {
        let filter = doc! { "_id": room.as_str(), "present": member.as_str() };
        let mut update = doc! {
            "$pull": { "present": member.as_str() },
            "$inc": { "present_count": -1_i64 },
            "$unset": { format!("joined.{member}"): "" },
        };
        update.extend(extra);
        Ok(self.rooms().update_one(filter, update).await.map_err(db_err)?.matched_count == 1)
    }
}

#[async_trait]
impl Store for MongoStore {
    // ---- rooms ----
    /// Creates a room and appends `RoomCreated` to the outbox in the same transaction.
    async fn create_room(&self, new: NewRoom, origin: &str) -> Result<Room> {
        // No transaction on a standalone server: the room first, then the outbox entry. A crash between
        // them only means other processes learn of the room at their next room-list read.
        let mut room = doc! {
            "_id": new.id.as_str(),
            "title": &new.title,
            "capacity": i64::from(new.capacity),
            "persistent": new.persistent,
            "entered": false,
            "created_at": new.created_at,
            "last_activity": new.created_at,
            "title_folded": fold(&new.title),
            "present": [],
            "joined": {},
            "present_count": 0_i64,
            "kicked": [],
            "gif_bytes": 0_i64,
        };
        put_opt(&mut room, "password_hash", new.password_hash.as_deref());
        put_opt(&mut room, "owner", new.owner.as_ref().map(MemberId::as_str));
        self.rooms().insert_one(room).await.map_err(db_err)?;
        self.outbox_insert(origin, "room_created", &new.id).await?;
        Ok(new.into_room())
    }

    /// One room with its secret parts, or `None`.
    async fn room(&self, id: &RoomId) -> Result<Option<RoomRecord>> {
        let found = self.rooms().find_one(doc! { "_id": id.as_str() }).await.map_err(db_err)?;
        found.as_ref().map(room_from_doc).transpose()
    }

    /// All rooms, oldest first, with live member counts.
    async fn rooms(&self) -> Result<Vec<Room>> {
        // ULIDs sort by creation time, so `_id` order is age order, as in the embedded store.
        let docs: Vec<Document> = self
            .rooms()
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(db_err)?
            .try_collect()
            .await
            .map_err(db_err)?;
        docs.iter().map(|d| room_from_doc(d).map(|r| r.room)).collect()
    }

    /// One page of the lobby's listing: rooms with people by latest activity, then empty rooms newest first.
    async fn rooms_page(&self, query: &RoomQuery) -> Result<RoomsPage> {
        // Fetch one more than asked to learn whether a next page exists.
        let want = query.first as usize + 1;
        // `$regex` on the folded title with every operator escaped: the search text matches literally.
        let title = query.title.as_deref().map(|t| doc! { "title_folded": { "$regex": literal_pattern(t) } });
        let filtered = |mut f: Document| {
            if let Some(t) = &title {
                f.extend(t.clone());
            }
            f
        };
        let by_activity = doc! { "last_activity": -1, "_id": -1 };
        let mut rooms = Vec::with_capacity(want);
        let idle_after = match &query.after {
            None => {
                let active = filtered(doc! { "present_count": { "$gt": 0 } });
                rooms.extend(self.find_rooms(active, by_activity, want).await?);
                None
            }
            Some(RoomCursor::Active { at, id }) => {
                let active = filtered(doc! {
                    "present_count": { "$gt": 0 },
                    "$or": [ { "last_activity": { "$lt": at } }, { "last_activity": at, "_id": { "$lt": id.as_str() } } ],
                });
                rooms.extend(self.find_rooms(active, by_activity, want).await?);
                None
            }
            Some(RoomCursor::Idle { id }) => Some(id.as_str()),
        };
        // Empty rooms follow the rooms with people (all of them, once a cursor reached this part).
        if rooms.len() < want {
            let mut idle = filtered(doc! { "present_count": 0 });
            if let Some(id) = idle_after {
                idle.insert("_id", doc! { "$lt": id });
            }
            rooms.extend(self.find_rooms(idle, doc! { "_id": -1 }, want - rooms.len()).await?);
        }
        let has_next = rooms.len() > query.first as usize;
        rooms.truncate(query.first as usize);
        let total = self.rooms().count_documents(filtered(doc! {})).await.map_err(db_err)?;
        Ok(RoomsPage { rooms, has_next, total })
    }

    /// Sets the owner if it is still `expected`; false when someone else changed it first.
    async fn set_owner(&self, id: &RoomId, expected: Option<&MemberId>, owner: Option<&MemberId>) -> Result<bool> {
        // One conditional write: it matches only while the owner is still `expected` (absent = none).
        let mut filter = doc! { "_id": id.as_str() };
        filter.extend(is_opt("owner", expected.map(MemberId::as_str)));
        let update = match owner {
            Some(o) => doc! { "$set": { "owner": o.as_str() } },
            None => doc! { "$unset": { "owner": "" } },
        };
        let r = self.rooms().update_one(filter, update).await.map_err(db_err)?;
        Ok(r.matched_count == 1)
    }

    /// Deletes a room with its members, events and GIFs, appending `RoomRemoved`; false if it was gone.
    async fn delete_room(&self, id: &RoomId, origin: &str) -> Result<bool> {
        // The room document (with its seats) goes first, so it vanishes from every list at once; events
        // and GIFs follow. A crash in between leaves orphans nobody can reach, never a room without history.
        // Deleting returns the room's GIF counter as it was at that instant: every reservation made for
        // the room until then is in it, and none can be made after. That much leaves the total.
        let gone = self
            .rooms()
            .find_one_and_delete(doc! { "_id": id.as_str() })
            .projection(doc! { "gif_bytes": 1 })
            .await
            .map_err(db_err)?;
        let Some(gone) = gone else { return Ok(false) };
        let freed = if gone.contains_key("gif_bytes") { int(&gone, "gif_bytes")? } else { 0 };
        if freed != 0 {
            self.gif_usage_add(-freed).await?;
        }
        self.outbox_insert(origin, "room_removed", id).await?;
        self.events().delete_many(doc! { "room_id": id.as_str() }).await.map_err(db_err)?;
        self.gifs().delete_many(doc! { "room_id": id.as_str() }).await.map_err(db_err)?;
        Ok(true)
    }

    /// Non-persistent rooms with nobody present that were entered once, or were created before `unused_before`.
    async fn removable_rooms(&self, unused_before: Millis) -> Result<Vec<RoomId>> {
        let filter = doc! {
            "persistent": false,
            "present_count": 0,
            "$or": [ { "entered": true }, { "created_at": { "$lt": unused_before } } ],
        };
        self.room_ids(filter).await
    }

    // ---- members ----
    /// Takes a seat if the member is not kicked and a place is free — one atomic step.
    async fn claim_seat(&self, room: &RoomId, member: &MemberId, now: Millis) -> Result<SeatClaim> {
        for attempt in 0..MAX_ATTEMPTS {
            // Read to learn the capacity and to tell the refusals apart; the write below re-checks
            // everything in its filter, so nothing read here is trusted for the decision itself.
            let Some(d) = self.rooms().find_one(doc! { "_id": room.as_str() }).await.map_err(db_err)? else {
                return Ok(SeatClaim::NoRoom);
            };
            if has_string(&d, "kicked", member.as_str()) {
                return Ok(SeatClaim::Kicked);
            }
            if seats_of(&d).iter().any(|(m, _)| m == member.as_str()) {
                return Ok(SeatClaim::AlreadyPresent);
            }
            let capacity = int(&d, "capacity")?;
            if int(&d, "present_count")? >= capacity {
                return Ok(SeatClaim::Full);
            }
            // The one atomic step: matches only while a place is free and the member is neither seated
            // nor kicked, so N concurrent claims for k free places succeed exactly k times.
            let filter = doc! {
                "_id": room.as_str(),
                "capacity": capacity,
                "present_count": { "$lt": capacity },
                "present": { "$ne": member.as_str() },
                "kicked": { "$ne": member.as_str() },
            };
            let update = doc! {
                "$push": { "present": member.as_str() },
                "$inc": { "present_count": 1_i64 },
                "$set": { "entered": true, format!("joined.{member}"): now },
            };
            if self.rooms().update_one(filter, update).await.map_err(db_err)?.matched_count == 1 {
                // An owner-less (CLI-made) room goes to whoever is first to claim it, conditionally.
                let owned = self
                    .rooms()
                    .update_one(
                        doc! { "_id": room.as_str(), "owner": { "$exists": false } },
                        doc! { "$set": { "owner": member.as_str() } },
                    )
                    .await
                    .map_err(db_err)?;
                return Ok(SeatClaim::Claimed { became_owner: owned.modified_count == 1 });
            }
            // The room changed between read and write (someone joined, left, kicked): decide again.
            back_off(attempt).await;
        }
        Err(StoreError::Backend("claim_seat: too many conflicting writers".into()))
    }

    /// Gives up a seat; false if the member held none.
    async fn release_seat(&self, room: &RoomId, member: &MemberId) -> Result<bool> {
        self.vacate(room, member, doc! {}).await
    }

    /// Marks a member kicked (they lose their seat and cannot take one again); false if they held none.
    async fn kick_member(&self, room: &RoomId, member: &MemberId) -> Result<bool> {
        self.vacate(room, member, doc! { "$addToSet": { "kicked": member.as_str() } }).await
    }

    /// Whether the owner kicked `member` from `room` (they may not take a seat there again).
    async fn is_kicked(&self, room: &RoomId, member: &MemberId) -> Result<bool> {
        let filter = doc! { "_id": room.as_str(), "kicked": member.as_str() };
        Ok(self.rooms().count_documents(filter).await.map_err(db_err)? > 0)
    }

    /// Every room the owner kicked `member` from.
    async fn kicked_from(&self, member: &MemberId) -> Result<Vec<RoomId>> {
        // Equality on an array field matches any element, through the multikey index on `kicked`.
        self.room_ids(doc! { "kicked": member.as_str() }).await
    }

    /// Members holding a seat, earliest first.
    async fn present_members(&self, room: &RoomId) -> Result<Vec<Presence>> {
        let Some(d) = self.rooms().find_one(doc! { "_id": room.as_str() }).await.map_err(db_err)? else {
            return Ok(Vec::new());
        };
        let mut seats: Vec<Presence> = seats_of(&d)
            .into_iter()
            .filter_map(|(m, at)| MemberId::parse(&m).map(|member| Presence { member, joined_at: at }))
            .collect();
        seats.sort_by(|a, b| (a.joined_at, &a.member).cmp(&(b.joined_at, &b.member)));
        Ok(seats)
    }

    /// Every (room, member) seat in the store, for the grace period after a restart.
    async fn all_present(&self) -> Result<Vec<(RoomId, MemberId)>> {
        let docs: Vec<Document> = self
            .rooms()
            .find(doc! { "present_count": { "$gt": 0 } })
            .projection(doc! { "_id": 1, "present": 1, "joined": 1 })
            .await
            .map_err(db_err)?
            .try_collect()
            .await
            .map_err(db_err)?;
        Ok(docs
            .iter()
            .filter_map(|d| Some((RoomId::parse(d.get_str("_id").ok()?)?, seats_of(d))))
            .flat_map(|(room, seats)| {
                seats.into_iter().filter_map(move |(m, _)| Some((room.clone(), MemberId::parse(&m)?)))
            })
            .collect())
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
        if let Some(key) = key {
            if let Some(first) = self.event_by_key(room, member, key).await? {
                return Ok(Appended::Existing(first));
            }
        }
        let body = mongodb::bson::to_document(kind).map_err(|e| StoreError::Backend(e.to_string()))?;
        // Whispers and whispered GIFs: the history filter below reads this field.
        let recipient = kind.recipient().map(MemberId::as_str);
        // One id for every attempt: a duplicate on `_id` means an earlier attempt of ours did land.
        let id = ulid::Ulid::new().to_string();
        for attempt in 0..MAX_ATTEMPTS {
            // (newest seq) + 1 against the unique (room_id, seq) index: a writer that lost the race gets a
            // duplicate-key error and tries the next number, so seq k only ever exists after k - 1 did —
            // gap-free and in commit order, across any number of processes.
            let seq = self.last_seq(room).await? + 1;
            let mut event = doc! {
                "_id": &id, "room_id": room.as_str(), "seq": seq, "at": now, "kind": kind.name(), "body": body.clone(),
            };
            put_opt(&mut event, "member", member.map(MemberId::as_str));
            put_opt(&mut event, "recipient", recipient);
            if let Some(key) = key {
                event.insert("client_key", key.as_str());
            }
            match self.events().insert_one(event).await {
                Ok(_) => {}
                Err(e) if is_duplicate_key(&e) => {
                    if let Some(mine) = self.events().find_one(doc! { "_id": &id }).await.map_err(db_err)? {
                        return Ok(Appended::New(event_from_doc(&mine)?));
                    }
                    if let Some(key) = key {
                        if let Some(first) = self.event_by_key(room, member, key).await? {
                            return Ok(Appended::Existing(first));
                        }
                    }
                    back_off(attempt).await;
                    continue;
                }
                Err(e) => return Err(db_err(e)),
            }
            // Checked after the insert, not before: a room deleted meanwhile either is already gone here
            // (so this event is removed again) or is deleted later, taking this event with it.
            if !self.room_exists(room).await? {
                self.events().delete_one(doc! { "_id": &id }).await.map_err(db_err)?;
                return Err(StoreError::Backend(format!("room {room} does not exist")));
            }
            if kind.is_chat() {
                // Chat moves the room up the lobby; `$max` keeps concurrent writers from moving it back.
                let activity = doc! { "$max": { "last_activity": now } };
                self.rooms().update_one(doc! { "_id": room.as_str() }, activity).await.map_err(db_err)?;
            }
            return Ok(Appended::New(RoomEvent {
                room: room.clone(),
                seq,
                at: now,
                member: member.cloned(),
                kind: kind.clone(),
            }));
        }
        Err(StoreError::Backend("append_event: too many conflicting writers".into()))
    }

    /// Events of a room visible to `reader`, ascending by `seq`.
    async fn events(&self, room: &RoomId, reader: &MemberId, page: Page) -> Result<Vec<RoomEvent>> {
        let filter = doc! {
            "room_id": room.as_str(),
            "seq": { "$gt": page.after.unwrap_or(0), "$lt": page.before.unwrap_or(i64::MAX) },
            "$or": [
                { "recipient": { "$exists": false } }, { "member": reader.as_str() }, { "recipient": reader.as_str() },
            ],
        };
        let order = if page.newest { -1 } else { 1 };
        let docs: Vec<Document> = self
            .events()
            .find(filter)
            .sort(doc! { "seq": order })
            .limit(i64::from(page.limit))
            .await
            .map_err(db_err)?
            .try_collect()
            .await
            .map_err(db_err)?;
        let mut events = docs.iter().map(event_from_doc).collect::<Result<Vec<_>>>()?;
        if page.newest {
            events.reverse();
        }
        Ok(events)
    }

    // ---- sessions ----
    /// Inserts a session; false when the id exists (the caller picks another).
    async fn session_create(&self, id: &str, row: &SessionRow) -> Result<bool> {
        match self.sessions().insert_one(session_doc(id, row)).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(db_err(e)),
        }
    }

    /// Inserts or replaces a session.
    async fn session_save(&self, id: &str, row: &SessionRow) -> Result<()> {
        self.sessions().replace_one(doc! { "_id": id }, session_doc(id, row)).upsert(true).await.map_err(db_err)?;
        Ok(())
    }

    /// A session that has not expired at `now`.
    async fn session_load(&self, id: &str, now: Millis) -> Result<Option<SessionRow>> {
        // The TTL monitor runs about once a minute, so expired documents may linger: filter them here.
        let found = self.sessions().find_one(doc! { "_id": id, "expires_at": { "$gt": now } }).await.map_err(db_err)?;
        let Some(d) = found else { return Ok(None) };
        Ok(Some(SessionRow { data: d.get_str("data").unwrap_or("{}").to_owned(), expires_at: int(&d, "expires_at")? }))
    }

    /// Removes a session.
    async fn session_delete(&self, id: &str) -> Result<()> {
        self.sessions().delete_one(doc! { "_id": id }).await.map_err(db_err)?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    async fn sessions_purge(&self, now: Millis) -> Result<u64> {
        let r = self.sessions().delete_many(doc! { "expires_at": { "$lte": now } }).await.map_err(db_err)?;
        Ok(r.deleted_count)
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
        if bytes.len() > GIF_MAX {
            return Err(StoreError::Backend(format!("a GIF of {} bytes does not fit a MongoDB document", bytes.len())));
        }
        let size = bytes.len() as i64;
        // No transaction spans documents here: the bytes are reserved first, with conditional `$inc`s
        // that only match while the limit leaves room (the total, then the room), and the GIF is
        // inserted after. A reservation is undone when a later step fails; see `reserve_gif_bytes`.
        if let Some(scope) = self.reserve_gif_bytes(room, size, quota).await? {
            return Ok(GifPut::Refused(scope));
        }
        let mut gif = doc! {
            "_id": name.as_str(), "room_id": room.as_str(), "size": size,
            "bytes": Binary { subtype: BinarySubtype::Generic, bytes },
        };
        put_pair(&mut gif, visibility);
        if let Err(e) = self.gifs().insert_one(gif).await {
            self.release_gif_bytes(room, size).await?;
            return Err(db_err(e));
        }
        // Like the embedded store's foreign key: a GIF for a room deleted meanwhile is not kept. Its bytes
        // left the total with the room's counter, so nothing is released here.
        if !self.room_exists(room).await? {
            self.gifs().delete_one(doc! { "_id": name.as_str() }).await.map_err(db_err)?;
            return Err(StoreError::Backend(format!("room {room} does not exist")));
        }
        Ok(GifPut::Stored)
    }

    /// The bytes of a stored GIF with who may fetch them.
    async fn gif_get(&self, name: &GifName) -> Result<Option<StoredGif>> {
        let Some(found) = self.gifs().find_one(doc! { "_id": name.as_str() }).await.map_err(db_err)? else {
            return Ok(None);
        };
        let bytes = match found.get("bytes") {
            Some(Bson::Binary(b)) => b.bytes.clone(),
            other => return Err(StoreError::Backend(format!("gif {name:?}: bytes field is {other:?}"))),
        };
        Ok(Some(StoredGif { bytes, visibility: pair_of(&found)? }))
    }

    /// Bytes of GIFs stored for `room` and in all rooms, from counters kept with every insert and delete
    /// (one cheap read, no scan); a deleted room's GIFs no longer count.
    async fn gif_usage(&self, room: &RoomId) -> Result<GifUsage> {
        let found = self
            .rooms()
            .find_one(doc! { "_id": room.as_str() })
            .projection(doc! { "gif_bytes": 1 })
            .await
            .map_err(db_err)?;
        let room = match found {
            Some(d) if d.contains_key("gif_bytes") => int(&d, "gif_bytes")?,
            _ => 0,
        };
        Ok(GifUsage { room: room.max(0) as u64, total: self.gif_usage_total().await?.max(0) as u64 })
    }

    // ---- outbox and health ----
    /// Outbox entries after `after`, oldest first.
    async fn outbox_after(&self, after: i64) -> Result<Vec<OutboxEntry>> {
        // A range on the unique `n` index: cheap even when polled every tick.
        let docs: Vec<Document> = self
            .outbox()
            .find(doc! { "n": { "$gt": after } })
            .sort(doc! { "n": 1 })
            .await
            .map_err(db_err)?
            .try_collect()
            .await
            .map_err(db_err)?;
        let mut entries = Vec::with_capacity(docs.len());
        for d in &docs {
            let (Some(room), Some(origin)) = (opt_str(d, "room_id").and_then(RoomId::parse), opt_str(d, "origin"))
            else {
                continue;
            };
            let change = match opt_str(d, "kind") {
                Some("room_created") => OutboxChange::RoomCreated(room),
                Some("room_removed") => OutboxChange::RoomRemoved(room),
                _ => continue,
            };
            entries.push(OutboxEntry { id: int(d, "n")?, origin: origin.to_owned(), change });
        }
        Ok(entries)
    }

    /// The newest outbox id (0 when empty); a server starts tailing from here.
    async fn outbox_head(&self) -> Result<i64> {
        let newest =
            self.outbox().find_one(doc! {}).sort(doc! { "n": -1 }).projection(doc! { "n": 1 }).await.map_err(db_err)?;
        newest.as_ref().map(|d| int(d, "n")).transpose().map(|n| n.unwrap_or(0))
    }

    /// Cheap "has anything been committed by another connection since last time?" for tailing; backends
    /// without such a signal return true.
    async fn changed_elsewhere(&self) -> Result<bool> {
        // Change streams would be the signal, but need a replica set; `outbox_after` is an indexed range read.
        Ok(true)
    }

    /// Drops outbox entries older than `before`.
    async fn outbox_prune(&self, before: Millis) -> Result<()> {
        // The newest entry always stays: positions are allocated from it, and a reused position would
        // hide an entry from tailers whose cursor is already past it.
        let head = self.outbox_head().await?;
        self.outbox().delete_many(doc! { "at": { "$lt": before }, "n": { "$lt": head } }).await.map_err(db_err)?;
        Ok(())
    }

    /// Answers when the store is reachable (for `/readyz`).
    async fn ping(&self) -> Result<()> {
        self.db.run_command(doc! { "ping": 1 }).await.map_err(db_err)?;
        Ok(())
    }
}

/// A session document; `expires` (a date) drives the TTL index, `expires_at` (millis) the queries.
fn session_doc(id: &str, row: &SessionRow) -> Document {
    doc! { "_id": id, "data": &row.data, "expires_at": row.expires_at, "expires": DateTime::from_millis(row.expires_at) }
}
