//! Copying an embedded store into MongoDB (`gifchat migrate --from-data-dir`): rooms with their password
//! hashes and seats, every event with its `seq`, live sessions and GIF bytes.
//!
//! Re-runnable: rooms and sessions are upserted by id, GIFs (immutable under their name) are inserted
//! unless present, and events continue after the newest `seq` already copied for the room, so an
//! interrupted copy is finished by running it again.

use mongodb::bson::{doc, spec::BinarySubtype, Binary, Bson, Document};

use super::{db_err, is_duplicate_key, put_opt, put_pair, MongoStore};
use crate::domain::MemberId;
use crate::store::sqlite::{StoredEvent, StoredRoom};
use crate::store::{Result, SqliteStore, Store, StoreError};

/// Events copied per round trip; bounds memory for long histories.
const BATCH: u32 = 1000;

/// What one copy wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rooms copied (or refreshed).
    pub rooms: u64,
    /// Events newly copied.
    pub events: u64,
    /// Unexpired sessions copied.
    pub sessions: u64,
    /// GIFs copied.
    pub gifs: u64,
}

/// The room document; `gif_bytes` is what its GIFs already in the database take (the copy adds each GIF it
/// inserts to the counters, so a repeated copy counts nothing twice).
fn room_doc(stored: &StoredRoom, gif_bytes: i64) -> Document {
    let r = &stored.record.room;
    let seated: Vec<_> = stored.members.iter().filter(|m| m.present && !m.kicked).collect();
    let present: Vec<&str> = seated.iter().map(|m| m.member.as_str()).collect();
    let joined: Document = seated.iter().map(|m| (m.member.as_str().to_owned(), Bson::Int64(m.joined_at))).collect();
    let kicked: Vec<&str> = stored.members.iter().filter(|m| m.kicked).map(|m| m.member.as_str()).collect();
    let mut d = doc! {
        "_id": r.id.as_str(),
        "title": &r.title,
        "capacity": i64::from(r.capacity),
        "persistent": r.persistent,
        "entered": stored.record.entered,
        "created_at": r.created_at,
        "last_activity": r.activity_at,
        "title_folded": crate::store::fold(&r.title),
        "present_count": present.len() as i64,
        "present": present,
        "joined": joined,
        "kicked": kicked,
        "gif_bytes": gif_bytes,
    };
    put_opt(&mut d, "password_hash", stored.record.password_hash.as_deref());
    put_opt(&mut d, "owner", r.owner.as_ref().map(MemberId::as_str));
    d
}

fn event_doc(stored: &StoredEvent) -> Result<Document> {
    let e = &stored.event;
    let recipient = e.kind.recipient().map(MemberId::as_str);
    let body = mongodb::bson::to_document(&e.kind).map_err(|err| StoreError::Backend(err.to_string()))?;
    let mut d = doc! {
        // Deterministic, so a repeated copy can never add the same event twice.
        "_id": format!("{}:{}", e.room, e.seq),
        "room_id": e.room.as_str(), "seq": e.seq, "at": e.at, "kind": e.kind.name(), "body": body,
    };
    put_opt(&mut d, "member", e.member.as_ref().map(MemberId::as_str));
    put_opt(&mut d, "recipient", recipient);
    if let Some(key) = &stored.client_key {
        d.insert("client_key", key.as_str());
    }
    Ok(d)
}

impl MongoStore {
    /// Copies everything from `source` into this database (whose schema must be current).
    pub async fn import_from(&self, source: &SqliteStore) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        for stored in source.export_rooms().await? {
            let id = stored.record.room.id.clone();
            let gif_bytes = self.sum_gif_bytes(id.as_str()).await?;
            self.rooms()
                .replace_one(doc! { "_id": id.as_str() }, room_doc(&stored, gif_bytes))
                .upsert(true)
                .await
                .map_err(db_err)?;
            report.rooms += 1;
            let mut after = self.last_seq(&id).await?;
            loop {
                let batch = source.export_events(&id, after, BATCH).await?;
                let Some(last) = batch.last() else { break };
                after = last.event.seq;
                let docs = batch.iter().map(event_doc).collect::<Result<Vec<_>>>()?;
                report.events += docs.len() as u64;
                self.events().insert_many(docs).await.map_err(db_err)?;
            }
            for name in source.export_gif_names(&id).await? {
                // A row whose file went missing has nothing to copy; the event then shows a broken image,
                // as it did before.
                let Some(stored) = source.gif_get(&name).await? else { continue };
                let size = stored.bytes.len() as i64;
                let mut gif = doc! {
                    "_id": name.as_str(), "room_id": id.as_str(), "size": size,
                    "bytes": Binary { subtype: BinarySubtype::Generic, bytes: stored.bytes },
                };
                // A whispered GIF stays fetchable by its pair only.
                put_pair(&mut gif, &stored.visibility);
                // GIF bytes never change under a name: a duplicate means an earlier run copied it.
                // Copied GIFs count toward the quotas like uploaded ones, but are never refused: the copy
                // moves what an operator already has.
                match self.gifs().insert_one(gif).await {
                    Ok(_) => {
                        report.gifs += 1;
                        self.rooms()
                            .update_one(doc! { "_id": id.as_str() }, doc! { "$inc": { "gif_bytes": size } })
                            .await
                            .map_err(db_err)?;
                        self.gif_usage_add(size).await?;
                    }
                    Err(e) if is_duplicate_key(&e) => {}
                    Err(e) => return Err(db_err(e)),
                }
            }
        }
        for (id, row) in source.export_sessions(crate::domain::now_millis()).await? {
            self.session_save(&id, &row).await?;
            report.sessions += 1;
        }
        Ok(report)
    }
}
