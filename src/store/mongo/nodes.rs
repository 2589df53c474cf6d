//! Who serves on this database: each serving node's registration in `nodes`, and the `writer` claim (one
//! document in `meta`) that keeps one node the only writer while nodes have no bus to hear each other.
//!
//! Leases are measured on the MongoDB server's clock (`hello`'s `localTime`), never on the nodes' own, so
//! two machines whose clocks disagree still agree on whose lease ran out. Both fields are integers
//! (milliseconds), like every other time the store keeps.
//!
//! The claim is one conditional upsert of `{_id: "writer"}` filtered on "held by me, or expired". Whatever
//! the interleaving, at most one node holds it:
//! - no document yet: every claimant's upsert inserts `_id: "writer"`, the `_id` index is unique, one
//!   insert wins and the others fail with a duplicate key. (The server retries an upsert's duplicate key
//!   itself only when the filter is equality-only, which this one is not; and a retry would meet the
//!   winner's fresh document, match nothing, and fail alike.)
//! - held by another and unexpired: the filter matches nothing, so the upsert inserts, and fails alike.
//! - expired: a single-document update is atomic; once the first claimant's update has made it unexpired,
//!   a concurrent one no longer matches, turns into an insert, and fails alike.
//!
//! A duplicate key therefore means "someone else holds it", and the claimant reads who, to say so.

use std::time::Duration;

use mongodb::bson::{doc, Bson, Document};
use mongodb::Collection;

use super::{db_err, int, is_duplicate_key, opt_str, MongoStore};
use crate::domain::Millis;
use crate::store::{Result, StoreError};

/// The claim's `_id` in `meta`.
const WRITER: &str = "writer";

/// How often a claim may change hands under one claimant's feet before it gives up asking.
const CLAIM_ATTEMPTS: usize = 3;

/// A serving node as other nodes and operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// Fresh for every start (a ULID).
    pub id: String,
    /// The machine's host name.
    pub host: String,
    /// The process id on that machine.
    pub pid: u32,
    /// The address it listens on.
    pub listen: String,
    /// When it started.
    pub started_at: Millis,
}

impl std::fmt::Display for NodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on host {}, listening on {}, node {}", self.pid, self.host, self.listen, self.id)
    }
}

/// Outcome of [`MongoStore::claim_writer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterClaim {
    /// This node holds the claim until `expires_at` (server clock).
    Held {
        /// When it runs out unless renewed.
        expires_at: Millis,
    },
    /// Another node holds it.
    Taken {
        /// Who.
        holder: NodeRecord,
        /// How long until its lease runs out, unless it renews it.
        expires_in: Duration,
    },
}

impl MongoStore {
    fn nodes(&self) -> Collection<Document> {
        self.db.collection("nodes")
    }

    /// The MongoDB server's clock, which every lease is measured on.
    pub async fn server_time(&self) -> Result<Millis> {
        let hello = self.db.run_command(doc! { "hello": 1 }).await.map_err(db_err)?;
        match hello.get("localTime") {
            Some(Bson::DateTime(t)) => Ok(t.timestamp_millis()),
            other => Err(StoreError::Backend(format!("hello: expected the server's localTime, found {other:?}"))),
        }
    }

    /// Takes or renews the `writer` claim for `node` for `lease`: held when it was free, expired or
    /// already this node's; otherwise who holds it.
    pub async fn claim_writer(&self, node: &NodeRecord, lease: Duration) -> Result<WriterClaim> {
        let lease = Millis::try_from(lease.as_millis()).unwrap_or(Millis::MAX);
        for _ in 0..CLAIM_ATTEMPTS {
            let now = self.server_time().await?;
            let expires_at = now.saturating_add(lease);
            let filter = doc! { "_id": WRITER, "$or": [ { "node": &node.id }, { "expires_at": { "$lt": now } } ] };
            let mut set = node_fields(node, expires_at);
            set.insert("node", &node.id);
            match self.meta().update_one(filter, doc! { "$set": set }).upsert(true).await {
                Ok(_) => return Ok(WriterClaim::Held { expires_at }),
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(db_err(e)),
            }
            // Held by someone else: who, and until when? Released or lapsed since: ask again.
            let Some(claim) = self.meta().find_one(doc! { "_id": WRITER }).await.map_err(db_err)? else { continue };
            let until = int(&claim, "expires_at").map_err(unreadable)?;
            let now = self.server_time().await?;
            if until < now {
                continue;
            }
            let holder = record(&claim, "node").map_err(unreadable)?;
            let expires_in = Duration::from_millis(u64::try_from(until - now).unwrap_or(0));
            return Ok(WriterClaim::Taken { holder, expires_in });
        }
        Err(StoreError::Backend(format!(
            "the writer claim changed hands {CLAIM_ATTEMPTS} times while asking; try again"
        )))
    }

    /// Gives up the `writer` claim if `node_id` still holds it (never another node's); false if it did not.
    pub async fn release_writer(&self, node_id: &str) -> Result<bool> {
        let deleted = self.meta().delete_one(doc! { "_id": WRITER, "node": node_id }).await.map_err(db_err)?;
        Ok(deleted.deleted_count == 1)
    }

    /// Records `node` in `nodes` (or renews its registration) until `expires_at`.
    pub async fn register_node(&self, node: &NodeRecord, expires_at: Millis) -> Result<()> {
        let set = node_fields(node, expires_at);
        self.nodes().update_one(doc! { "_id": &node.id }, doc! { "$set": set }).upsert(true).await.map_err(db_err)?;
        Ok(())
    }

    /// Removes a node's registration (on its clean shutdown).
    pub async fn deregister_node(&self, node_id: &str) -> Result<()> {
        self.nodes().delete_one(doc! { "_id": node_id }).await.map_err(db_err)?;
        Ok(())
    }

    /// Forgets registrations whose lease ran out before `before` (nodes that ended without deregistering:
    /// killed, or cut off from the database); returns how many.
    pub async fn forget_nodes(&self, before: Millis) -> Result<u64> {
        let deleted = self.nodes().delete_many(doc! { "expires_at": { "$lt": before } }).await.map_err(db_err)?;
        Ok(deleted.deleted_count)
    }
}

/// The fields a registration and the claim share (the claim adds `node`, a registration's `_id`).
fn node_fields(node: &NodeRecord, expires_at: Millis) -> Document {
    doc! {
        "host": &node.host, "pid": i64::from(node.pid), "listen": &node.listen,
        "started_at": node.started_at, "expires_at": expires_at,
    }
}

/// The node a claim (`id_key` = "node") or registration (`"_id"`) describes.
fn record(doc: &Document, id_key: &str) -> Result<NodeRecord> {
    let text = |key: &str| opt_str(doc, key).map(str::to_owned).ok_or_else(|| StoreError::Backend(format!("no {key}")));
    Ok(NodeRecord {
        id: text(id_key)?,
        host: text("host")?,
        pid: u32::try_from(int(doc, "pid")?).map_err(|_| StoreError::Backend("pid out of range".into()))?,
        listen: text("listen")?,
        started_at: int(doc, "started_at")?,
    })
}

/// A claim document gifchat cannot read blocks every start until someone removes it: say how.
fn unreadable(e: StoreError) -> StoreError {
    StoreError::Backend(format!(
        "the writer claim (meta, _id \"writer\") is unreadable ({e}); if no gifchat serve runs on this database, \
         delete that document"
    ))
}
