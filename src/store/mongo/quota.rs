//! GIF storage counters on MongoDB: each room document's `gif_bytes`, and one `meta` document
//! (`_id: "gif_usage"`) holding the bytes of all rooms together — shared by every server on the database.
//!
//! Without multi-document transactions, an upload *reserves* its bytes before its GIF is inserted: first
//! on the total, then on its room, each with one conditional `$inc` that only matches while the limit
//! leaves room, so concurrent uploads on any number of servers can never together pass a limit. The
//! rules that keep the counters equal to what is stored:
//! - a step that fails gives back what the earlier steps reserved;
//! - deleting a room takes the room's counter, as it was when the document went, off the total — so once
//!   an upload's room reservation has succeeded, the room's deletion (not the upload) returns its bytes;
//! - a process that dies between reserving and inserting leaves its bytes counted (never fewer bytes
//!   counted than stored, so no crash lets a quota be passed); the room's share goes with the room, and
//!   only a death between the two reservations keeps bytes in the total for good.
//!
//! Both limits nearly full on several servers: an upload refused by its room may hold total bytes for a
//! moment, so a concurrent upload elsewhere can be refused although it would have fitted. On one server
//! the hub's room lock and the read below make the room's answer exact before the total is touched.

use mongodb::bson::{doc, Document};
use mongodb::Collection;

use super::{db_err, int, is_duplicate_key, MongoStore};
use crate::domain::RoomId;
use crate::store::{GifQuota, GifUsage, QuotaScope, Result, StoreError};

/// The `meta` document holding the total.
pub(super) const USAGE_ID: &str = "gif_usage";

impl MongoStore {
    /// The `meta` collection: the GIF total here, the writer claim in `nodes.rs`.
    pub(super) fn meta(&self) -> Collection<Document> {
        self.db.collection("meta")
    }

    /// The total counter (0 when it was never written).
    pub(super) async fn gif_usage_total(&self) -> Result<i64> {
        let found = self.meta().find_one(doc! { "_id": USAGE_ID }).await.map_err(db_err)?;
        Ok(match found {
            Some(d) if d.contains_key("bytes") => int(&d, "bytes")?,
            _ => 0,
        })
    }

    /// Adds `delta` (negative: frees) to the total counter, unconditionally.
    pub(super) async fn gif_usage_add(&self, delta: i64) -> Result<()> {
        self.meta().update_one(doc! { "_id": USAGE_ID }, doc! { "$inc": { "bytes": delta } }).await.map_err(db_err)?;
        Ok(())
    }

    /// Reserves `size` bytes for a GIF in `room` within `quota`: `Ok(None)` when both counters now
    /// include them, the quota that refused otherwise (then nothing stays reserved). A room that does not
    /// exist is an error, as for the embedded store's foreign key.
    pub(super) async fn reserve_gif_bytes(
        &self,
        room: &RoomId,
        size: i64,
        quota: GifQuota,
    ) -> Result<Option<QuotaScope>> {
        let found = self
            .rooms()
            .find_one(doc! { "_id": room.as_str() })
            .projection(doc! { "gif_bytes": 1 })
            .await
            .map_err(db_err)?;
        let Some(found) = found else { return Err(no_room(room)) };
        let room_limit = quota.room.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        // Already full by this read: refuse before touching the total (exact on one server, where the hub
        // holds the room's lock; the conditional update below decides with several).
        let used = if found.contains_key("gif_bytes") { int(&found, "gif_bytes")? } else { 0 };
        if room_limit.is_some_and(|l| used.saturating_add(size) > l) {
            // Named like the embedded store does: the total first when both are full.
            let usage = GifUsage { room: used.max(0) as u64, total: self.gif_usage_total().await?.max(0) as u64 };
            return Ok(Some(quota.exceeded_by(usage, size as u64).unwrap_or(QuotaScope::Room)));
        }
        // The total: matches only while `size` more still fits. The upsert creates the counter if it was
        // never written; when it exists but does not match, the upsert's insert collides with its `_id`
        // (duplicate key), which is MongoDB's way of saying "no room".
        let total_filter = match quota.total {
            Some(limit) => {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                if size > limit {
                    return Ok(Some(QuotaScope::Total));
                }
                doc! { "_id": USAGE_ID, "bytes": { "$lte": limit - size } }
            }
            None => doc! { "_id": USAGE_ID },
        };
        match self.meta().update_one(total_filter, doc! { "$inc": { "bytes": size } }).upsert(true).await {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => return Ok(Some(QuotaScope::Total)),
            Err(e) => return Err(db_err(e)),
        }
        // The room: the same conditional step on its document. A room written by an older gifchat has no
        // counter yet; `$inc` starts it.
        let mut room_filter = doc! { "_id": room.as_str() };
        if let Some(limit) = room_limit {
            room_filter.insert(
                "$or",
                vec![doc! { "gif_bytes": { "$lte": limit - size } }, doc! { "gif_bytes": { "$exists": false } }],
            );
        }
        let r = self.rooms().update_one(room_filter, doc! { "$inc": { "gif_bytes": size } }).await.map_err(db_err)?;
        if r.matched_count == 1 {
            return Ok(None);
        }
        self.gif_usage_add(-size).await?;
        if !self.room_exists(room).await? {
            return Err(no_room(room));
        }
        Ok(Some(QuotaScope::Room))
    }

    /// Gives back a reservation whose GIF was not stored. If the room is gone, its deletion already took
    /// these bytes off the total with the room's counter.
    pub(super) async fn release_gif_bytes(&self, room: &RoomId, size: i64) -> Result<()> {
        let r = self
            .rooms()
            .update_one(doc! { "_id": room.as_str() }, doc! { "$inc": { "gif_bytes": -size } })
            .await
            .map_err(db_err)?;
        if r.matched_count == 1 {
            self.gif_usage_add(-size).await?;
        }
        Ok(())
    }

    /// The bytes of the GIF documents stored for `room`, summed from the documents (for the migration
    /// and the copy from an embedded store, not for uploads).
    pub(super) async fn sum_gif_bytes(&self, room: &str) -> Result<i64> {
        use futures::TryStreamExt;
        let mut sizes =
            self.gifs().find(doc! { "room_id": room }).projection(doc! { "size": 1 }).await.map_err(db_err)?;
        let mut sum = 0_i64;
        while let Some(d) = sizes.try_next().await.map_err(db_err)? {
            sum = sum.saturating_add(int(&d, "size")?);
        }
        Ok(sum)
    }
}

fn no_room(room: &RoomId) -> StoreError {
    StoreError::Backend(format!("room {room} does not exist"))
}
