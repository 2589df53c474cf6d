//! Versioned schema for MongoDB: collections and indexes, with the version in a `meta` document.
//!
//! Every step is idempotent (creating an existing collection or an identical index is a no-op), and the
//! version is recorded only after its step finished, so a crash or two `migrate` runs at once simply
//! redo a step harmlessly.

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

use super::{db_err, int, MongoStore};
use crate::store::{Result, StoreError};

/// The schema version this build needs. Append steps to [`step`] and bump this.
pub const SCHEMA_VERSION: i64 = 4;

/// The collections of version 1.
const COLLECTIONS: &[&str] = &["meta", "rooms", "events", "sessions", "gifs", "outbox"];

/// MongoDB's "collection already exists" error code.
const NAMESPACE_EXISTS: i32 = 48;

/// MongoDB's "index not found" error code (dropping an index that is already gone).
const INDEX_NOT_FOUND: i32 = 27;

/// The version recorded in the database (0 when none).
pub async fn current(db: &Database) -> Result<i64> {
    let meta = db.collection::<Document>("meta").find_one(doc! { "_id": "schema" }).await.map_err(db_err)?;
    meta.as_ref().map(|d| int(d, "version")).transpose().map(|v| v.unwrap_or(0))
}

/// Applies every pending step; returns the versions applied (empty when already current).
pub async fn apply(db: &Database) -> Result<Vec<i64>> {
    let mut applied = Vec::new();
    loop {
        let version = current(db).await?;
        if version >= SCHEMA_VERSION {
            return Ok(applied);
        }
        step(db, version + 1).await?;
        db.collection::<Document>("meta")
            .update_one(doc! { "_id": "schema" }, doc! { "$set": { "version": version + 1 } })
            .upsert(true)
            .await
            .map_err(db_err)?;
        applied.push(version + 1);
    }
}

/// Brings the schema to version `to`.
async fn step(db: &Database, to: i64) -> Result<()> {
    match to {
        1 => initial(db).await,
        2 => listing(db).await,
        3 => gif_usage(db).await,
        4 => listing_sorts(db).await,
        _ => Err(StoreError::Backend(format!("no migration step to version {to}"))),
    }
}

/// Version 1: the collections and every index the store's atomic rules depend on.
async fn initial(db: &Database) -> Result<()> {
    for name in COLLECTIONS {
        match db.create_collection(*name).await {
            Ok(()) => {}
            Err(e) if matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == NAMESPACE_EXISTS) => {
            }
            Err(e) => return Err(db_err(e)),
        }
    }
    let unique = |name: &str| IndexOptions::builder().unique(true).name(name.to_owned()).build();
    let named = |name: &str| IndexOptions::builder().name(name.to_owned()).build();
    let indexes: [(&str, Document, IndexOptions); 7] = [
        // Gap-free seq: a second writer of the same number fails here and retries with the next one.
        ("events", doc! { "room_id": 1, "seq": 1 }, unique("room_seq")),
        // Client-key idempotency, only for events that carry a key.
        (
            "events",
            doc! { "room_id": 1, "member": 1, "client_key": 1 },
            IndexOptions::builder()
                .unique(true)
                .name("room_member_client_key".to_owned())
                .partial_filter_expression(doc! { "client_key": { "$exists": true } })
                .build(),
        ),
        // MongoDB deletes a session about a minute after `expires`; reads filter expired ones themselves.
        (
            "sessions",
            doc! { "expires": 1 },
            IndexOptions::builder().name("expires_ttl".to_owned()).expire_after(Duration::ZERO).build(),
        ),
        ("sessions", doc! { "expires_at": 1 }, named("expires_at")),
        // Outbox positions: gap-free and in commit order, allocated like `seq`; tailers read ranges of it.
        ("outbox", doc! { "n": 1 }, unique("position")),
        // GIFs and outbox entries are deleted by room and by age.
        ("gifs", doc! { "room_id": 1 }, named("room")),
        ("outbox", doc! { "at": 1 }, named("at")),
    ];
    for (collection, keys, options) in indexes {
        let model = IndexModel::builder().keys(keys).options(options).build();
        db.collection::<Document>(collection).create_index(model).await.map_err(db_err)?;
    }
    Ok(())
}

/// Version 2: what the lobby sorts and filters on. `last_activity` is set by `append_event` for chat
/// (messages, whispers, GIFs) and `title_folded` with the title (Rust's Unicode lowercase, as in the
/// embedded store); rooms from version 1 get both here, with a partial index on `last_activity` that
/// version 3 replaces by one that also holds the `_id` tie-break.
async fn listing(db: &Database) -> Result<()> {
    let rooms = db.collection::<Document>("rooms");
    let events = db.collection::<Document>("events");
    let old: Vec<Document> = rooms
        .find(doc! { "$or": [ { "last_activity": { "$exists": false } }, { "title_folded": { "$exists": false } } ] })
        .projection(doc! { "_id": 1, "title": 1, "created_at": 1 })
        .await
        .map_err(db_err)?
        .try_collect()
        .await
        .map_err(db_err)?;
    for room in old {
        let Ok(id) = room.get_str("_id") else { continue };
        let newest_chat = events
            .find_one(doc! { "room_id": id, "kind": { "$in": ["message", "whisper", "gif"] } })
            .sort(doc! { "seq": -1 })
            .projection(doc! { "at": 1 })
            .await
            .map_err(db_err)?;
        let at = match newest_chat.as_ref().map(|e| int(e, "at")) {
            Some(at) => at?,
            None => int(&room, "created_at")?,
        };
        let folded = crate::store::fold(room.get_str("title").unwrap_or_default());
        // Only fills what is missing: a room that saw chat meanwhile keeps its newer time.
        rooms
            .update_one(
                doc! { "_id": id },
                doc! { "$max": { "last_activity": at }, "$set": { "title_folded": folded } },
            )
            .await
            .map_err(db_err)?;
    }
    let named = |name: &str| IndexOptions::builder().name(name.to_owned()).build();
    let indexes: [(Document, IndexOptions); 2] = [
        (
            doc! { "last_activity": -1 },
            IndexOptions::builder()
                .name("active_by_activity".to_owned())
                .partial_filter_expression(doc! { "present_count": { "$gt": 0 } })
                .build(),
        ),
        // `kicked_from`: the rooms a member was removed from (a multikey index on the array).
        (doc! { "kicked": 1 }, named("kicked")),
    ];
    for (keys, options) in indexes {
        let model = IndexModel::builder().keys(keys).options(options).build();
        rooms.create_index(model).await.map_err(db_err)?;
    }
    Ok(())
}

/// Version 3: the GIF counters the storage quotas check (see `quota.rs`): each room's `gif_bytes` is the
/// sum of its GIF documents' sizes, and the total is the sum over rooms (GIFs left behind by a room whose
/// deletion was interrupted belong to no room and count nowhere). Setting, not adding, makes a repeated
/// step harmless. Run it with no server of an older version uploading: their GIFs would go uncounted.
async fn gif_usage(db: &Database) -> Result<()> {
    let store = MongoStore { db: db.clone() };
    let rooms = db.collection::<Document>("rooms");
    let ids: Vec<Document> =
        rooms.find(doc! {}).projection(doc! { "_id": 1 }).await.map_err(db_err)?.try_collect().await.map_err(db_err)?;
    let mut total = 0_i64;
    for room in ids {
        let Ok(id) = room.get_str("_id") else { continue };
        let bytes = store.sum_gif_bytes(id).await?;
        rooms.update_one(doc! { "_id": id }, doc! { "$set": { "gif_bytes": bytes } }).await.map_err(db_err)?;
        total = total.saturating_add(bytes);
    }
    db.collection::<Document>("meta")
        .update_one(doc! { "_id": super::quota::USAGE_ID }, doc! { "$set": { "bytes": total } })
        .upsert(true)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Version 4: indexes that hold the whole sort of each part of the lobby's listing (MongoDB's rule for
/// compound indexes: equality fields, then the sort fields in the sort's order), so neither part sorts
/// in memory however many rooms there are. Rooms with people sort on (`last_activity`, `_id`), both
/// descending, through a partial index on exactly them; empty rooms are `present_count` 0 in `_id`
/// order. The version 2 index on `last_activity` alone is then redundant and dropped.
async fn listing_sorts(db: &Database) -> Result<()> {
    let rooms = db.collection::<Document>("rooms");
    let indexes = [
        (
            doc! { "last_activity": -1, "_id": -1 },
            IndexOptions::builder()
                .name("active_by_activity_then_id".to_owned())
                .partial_filter_expression(doc! { "present_count": { "$gt": 0 } })
                .build(),
        ),
        (doc! { "present_count": 1, "_id": -1 }, IndexOptions::builder().name("idle_by_age".to_owned()).build()),
    ];
    for (keys, options) in indexes {
        let model = IndexModel::builder().keys(keys).options(options).build();
        rooms.create_index(model).await.map_err(db_err)?;
    }
    match rooms.drop_index("active_by_activity").await {
        Ok(()) => Ok(()),
        // Already dropped by an earlier run of this step.
        Err(e) if matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == INDEX_NOT_FOUND) => {
            Ok(())
        }
        Err(e) => Err(db_err(e)),
    }
}
