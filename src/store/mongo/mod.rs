//! The MongoDB store: every collection of the embedded store — rooms with their seats, events, sessions,
//! GIF bytes and the outbox — in one database, so any number of server processes can share it.
//!
//! No multi-document transactions (they need a replica set, and a standalone server is a valid setup):
//! every rule that must be atomic is one conditional single-document write. Capacity and kicks are a
//! conditional update of the room document; `seq` is an insert against a unique `(room_id, seq)` index,
//! retried on conflict; outbox ids are allocated the same way. Nothing relies on the hub's in-process
//! room lock for correctness.

mod import;
mod migrations;
mod nodes;
mod ops;
mod quota;

pub use import::ImportReport;
pub use migrations::SCHEMA_VERSION;
pub use nodes::{NodeRecord, WriterClaim};

use std::time::Duration;

use mongodb::bson::{Bson, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};

use super::{Result, StoreError};

/// Database used when the URI names none.
pub const DEFAULT_DATABASE: &str = "gifchat";

/// How long a request waits for a reachable server before failing; also bounds the start-up check, so
/// `serve` against an unreachable MongoDB exits well within 10 s. A URI's own
/// `serverSelectionTimeoutMS` wins.
const SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long opening one connection may take (URI's `connectTimeoutMS` wins).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// MongoDB-backed [`Store`](super::Store).
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
}

impl std::fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URI: it may carry credentials.
        f.debug_struct("MongoStore").field("database", &self.db.name()).finish()
    }
}

impl MongoStore {
    /// Connects and pings, without looking at the schema (for `migrate`). Fails within a few seconds
    /// when no server answers.
    pub async fn connect(uri: &str) -> Result<Self> {
        let mut options = ClientOptions::parse(uri).await.map_err(|e| StoreError::Backend(one_line(&e)))?;
        options.server_selection_timeout.get_or_insert(SELECTION_TIMEOUT);
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        options.app_name.get_or_insert_with(|| "gifchat".to_owned());
        let hosts: Vec<String> = options.hosts.iter().map(|h| h.to_string()).collect();
        let name = options.default_database.clone().unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        let client = Client::with_options(options).map_err(|e| StoreError::Backend(one_line(&e)))?;
        let store = Self { db: client.database(&name) };
        // The driver connects lazily; ping now so an unreachable server is reported at start, naming
        // the hosts (not the URI, which may hold a password).
        store.db.run_command(mongodb::bson::doc! { "ping": 1 }).await.map_err(|e| {
            StoreError::Backend(format!("cannot reach MongoDB at {}: {}", hosts.join(","), one_line(&e)))
        })?;
        Ok(store)
    }

    /// Connects, pings and refuses a schema older than this build needs (for `serve` and `rooms`).
    pub async fn open(uri: &str) -> Result<Self> {
        let store = Self::connect(uri).await?;
        let found = store.applied_version().await?;
        if found < SCHEMA_VERSION {
            return Err(StoreError::SchemaTooOld { found, needed: SCHEMA_VERSION });
        }
        Ok(store)
    }

    /// The schema version recorded in the database (0 for a new one).
    pub async fn applied_version(&self) -> Result<i64> {
        migrations::current(&self.db).await
    }

    /// Creates collections and indexes and records the version; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        migrations::apply(&self.db).await
    }

    /// The database's name (from the URI, or [`DEFAULT_DATABASE`]).
    pub fn database_name(&self) -> &str {
        self.db.name()
    }

    fn rooms(&self) -> Collection<Document> {
        self.db.collection("rooms")
    }

    /// The ids of the rooms matching `filter`.
    async fn room_ids(&self, filter: Document) -> Result<Vec<crate::domain::RoomId>> {
        use futures::TryStreamExt;
        let docs: Vec<Document> = self
            .rooms()
            .find(filter)
            .projection(mongodb::bson::doc! { "_id": 1 })
            .await
            .map_err(db_err)?
            .try_collect()
            .await
            .map_err(db_err)?;
        Ok(docs.iter().filter_map(|d| d.get_str("_id").ok()).filter_map(crate::domain::RoomId::parse).collect())
    }

    fn events(&self) -> Collection<Document> {
        self.db.collection("events")
    }

    fn sessions(&self) -> Collection<Document> {
        self.db.collection("sessions")
    }

    fn gifs(&self) -> Collection<Document> {
        self.db.collection("gifs")
    }

    fn outbox(&self) -> Collection<Document> {
        self.db.collection("outbox")
    }
}

/// The driver's error as one log-friendly line.
fn one_line(e: &mongodb::error::Error) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Maps a driver error to the store's one error type (the text is for logs only).
pub(crate) fn db_err(e: mongodb::error::Error) -> StoreError {
    StoreError::Backend(one_line(&e))
}

/// Whether a write failed on a unique index.
fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// An integer field, read leniently: servers and `$inc` may hand back Int32, Int64 or a double.
fn int(doc: &Document, key: &str) -> Result<i64> {
    match doc.get(key) {
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(Bson::Double(f)) if f.fract() == 0.0 => Ok(*f as i64),
        other => Err(StoreError::Backend(format!("field {key}: expected an integer, found {other:?}"))),
    }
}

/// An optional string field (absent and null both mean `None`).
fn opt_str<'a>(doc: &'a Document, key: &str) -> Option<&'a str> {
    match doc.get(key) {
        Some(Bson::String(s)) => Some(s),
        _ => None,
    }
}

/// A boolean field, read leniently (some servers hand back a `$set` boolean as 1); absent means false.
fn flag(doc: &Document, key: &str) -> bool {
    match doc.get(key) {
        Some(Bson::Boolean(b)) => *b,
        Some(Bson::Int32(n)) => *n != 0,
        Some(Bson::Int64(n)) => *n != 0,
        _ => false,
    }
}

/// Sets an optional string field only when there is a value: "none" is an absent field, never null,
/// so filters say `$exists: false` and no query depends on how null compares.
fn put_opt(doc: &mut Document, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        doc.insert(key, v);
    }
}

/// Records a whispered GIF's pair as `sender` and `recipient`; a public GIF has neither field.
fn put_pair(doc: &mut Document, visibility: &crate::domain::Visibility) {
    if let crate::domain::Visibility::Pair(a, b) = visibility {
        doc.insert("sender", a.as_str());
        doc.insert("recipient", b.as_str());
    }
}

/// Who may fetch a GIF document: its pair when it has `sender` and `recipient`, everyone otherwise.
fn pair_of(doc: &Document) -> Result<crate::domain::Visibility> {
    use crate::domain::{MemberId, Visibility};
    match (opt_str(doc, "sender"), opt_str(doc, "recipient")) {
        (Some(a), Some(b)) => match (MemberId::parse(a), MemberId::parse(b)) {
            (Some(a), Some(b)) => Ok(Visibility::Pair(a, b)),
            _ => Err(StoreError::Backend("gif: unreadable sender or recipient".into())),
        },
        _ => Ok(Visibility::Room),
    }
}

/// The filter clause "`key` is `value`", where `None` means the field is absent.
fn is_opt(key: &str, value: Option<&str>) -> Document {
    match value {
        Some(v) => mongodb::bson::doc! { key: v },
        None => mongodb::bson::doc! { key: { "$exists": false } },
    }
}
