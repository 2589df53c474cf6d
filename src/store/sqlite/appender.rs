//! Group commit for room events: one writer thread takes every append waiting in its queue — from any
//! number of rooms — and commits them in one write transaction, then answers each request. An answer is
//! only sent after `COMMIT` returned, so an ack still means "committed".
//!
//! Why: at thousands of sends per second the cost of a transaction (taking the write lock, the WAL
//! append and its frame headers, waking a blocking-pool thread per call) dominates the insert itself;
//! sharing one transaction among everything that queued up while the previous batch was committing
//! divides that cost by the batch size without adding any wait when the load is light (a lone append
//! finds an idle thread and commits at once).
//!
//! Per-room `seq` stays gap-free and in commit order: requests are applied in queue order inside the
//! batch, each taking `last_seq + 1` of its room in the same transaction as its insert. A request that
//! fails on its own (its room is gone) changed nothing and fails alone. Any other failure rolls the
//! whole batch back and replays its requests one transaction each, so only the request that fails again
//! is refused and nothing committed can be missing a number.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;

use super::{db_err, ops::event_from_row};
use crate::domain::{ClientKey, EventKind, MemberId, Millis, RoomEvent, RoomId};
use crate::store::{Appended, Result, StoreError};

/// Most appends in one transaction; bounds the time one batch holds the write lock (readers are
/// unaffected in WAL mode, other writers — seats, sessions — wait at most one batch).
const MAX_BATCH: usize = 512;

/// One event to persist, with where to send the outcome.
pub(super) struct AppendRequest {
    pub room: RoomId,
    pub member: Option<MemberId>,
    pub kind: EventKind,
    /// `kind` as stored (serialised by the caller, off the writer thread).
    pub body: String,
    pub key: Option<ClientKey>,
    pub now: Millis,
    pub reply: oneshot::Sender<Result<Appended>>,
}

/// The queue into the writer thread. Dropping it (with the store) ends the thread.
pub(super) struct Appender {
    queue: mpsc::Sender<AppendRequest>,
    /// The most requests one transaction has carried (observability; tests prove batching happened).
    largest: Arc<AtomicUsize>,
}

impl Appender {
    /// Starts the writer thread over `writer`, the store's one write connection (shared with the
    /// store's other writes through its mutex).
    pub fn start(writer: Arc<Mutex<Connection>>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<AppendRequest>();
        let largest = Arc::new(AtomicUsize::new(0));
        let seen = largest.clone();
        std::thread::Builder::new().name("sqlite-appender".into()).spawn(move || run(&writer, &rx, &seen))?;
        Ok(Self { queue: tx, largest })
    }

    /// The most appends committed together so far.
    pub fn largest_batch(&self) -> usize {
        self.largest.load(Ordering::Relaxed)
    }

    /// Queues `req`; its reply arrives after its batch committed (or failed).
    pub fn submit(&self, req: AppendRequest) -> Result<()> {
        self.queue.send(req).map_err(|_| StoreError::Backend("the event writer has stopped".into()))
    }
}

/// The writer thread: block for one request, take whatever else is already queued, commit, answer.
fn run(writer: &Mutex<Connection>, rx: &mpsc::Receiver<AppendRequest>, largest: &AtomicUsize) {
    let mut batch = Vec::with_capacity(64);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        largest.fetch_max(batch.len(), Ordering::Relaxed);
        let outcomes = {
            // A poisoned lock only means another call panicked mid-way; SQLite rolled its transaction back.
            let mut conn = writer.lock().unwrap_or_else(|p| p.into_inner());
            commit_batch(&mut conn, &batch)
        };
        for (req, outcome) in batch.drain(..).zip(outcomes) {
            // The caller may have gone away (its task was cancelled); the event is committed regardless.
            let _ = req.reply.send(outcome);
        }
    }
}

/// Why one request could not be applied inside a shared transaction.
enum ItemError {
    /// Refused without changing anything (the room is gone): fail this request, keep the batch.
    Alone(StoreError),
    /// The transaction may hold a partial change: roll everything back.
    Batch(rusqlite::Error),
}

/// Commits `batch` in one transaction; falls back to one transaction per request when it cannot.
fn commit_batch(conn: &mut Connection, batch: &[AppendRequest]) -> Vec<Result<Appended>> {
    match try_batch(conn, batch) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            if batch.len() > 1 {
                tracing::warn!(error = %e, size = batch.len(), "event batch rolled back; committing one by one");
            }
            batch.iter().map(|req| commit_alone(conn, req)).collect()
        }
    }
}

/// The shared transaction; `Err` means it was rolled back and nothing of it is stored.
fn try_batch(conn: &mut Connection, batch: &[AppendRequest]) -> rusqlite::Result<Vec<Result<Appended>>> {
    // IMMEDIATE: take the write lock now, so the CLI writing at the same moment waits (busy timeout)
    // instead of failing mid-transaction.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for req in batch {
        match apply(&tx, req) {
            Ok(appended) => outcomes.push(Ok(appended)),
            Err(ItemError::Alone(e)) => outcomes.push(Err(e)),
            // Dropping `tx` rolls back.
            Err(ItemError::Batch(e)) => return Err(e),
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// One request in a transaction of its own (the fallback after a batch failed).
fn commit_alone(conn: &mut Connection, req: &AppendRequest) -> Result<Appended> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let appended = match apply(&tx, req) {
        Ok(a) => a,
        Err(ItemError::Alone(e)) => return Err(e),
        Err(ItemError::Batch(e)) => return Err(db_err(e)),
    };
    tx.commit().map_err(db_err)?;
    Ok(appended)
}

/// Applies one request: an earlier event with the same client key, or a new event at the room's next seq.
fn apply(conn: &Connection, req: &AppendRequest) -> Result<Appended, ItemError> {
    let member = req.member.as_ref().map(MemberId::as_str);
    if let Some(key) = &req.key {
        // Uses the unique index on (room_id, member_id, client_key); sees earlier requests of this batch.
        let first = conn
            .prepare_cached(
                "SELECT room_id, seq, at, member_id, body FROM events
                 WHERE room_id = ?1 AND member_id IS ?2 AND client_key = ?3",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![req.room.as_str(), member, key.as_str()], event_from_row).optional()
            })
            .map_err(ItemError::Batch)?;
        if let Some(first) = first {
            return Ok(Appended::Existing(first));
        }
    }
    // The seq is taken in the same transaction as the insert, so a rollback takes both back: no gap.
    let seq: Option<i64> = conn
        // Chat (not notices) counts as activity for the lobby's order; max() keeps it from going back.
        .prepare_cached(
            "UPDATE rooms SET last_seq = last_seq + 1,
               last_activity = CASE WHEN ?2 THEN max(last_activity, ?3) ELSE last_activity END
             WHERE id = ?1 RETURNING last_seq",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![req.room.as_str(), req.kind.is_chat(), req.now], |r| r.get(0)).optional()
        })
        .map_err(ItemError::Batch)?;
    let Some(seq) = seq else {
        // Nothing was changed: the rest of the batch is unaffected.
        return Err(ItemError::Alone(StoreError::Backend(format!("room {} does not exist", req.room))));
    };
    // Whispers and whispered GIFs: the history query filters on this column.
    let recipient = req.kind.recipient().map(MemberId::as_str);
    conn.prepare_cached(
        "INSERT INTO events (room_id, seq, at, member_id, recipient, kind, body, client_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            req.room.as_str(),
            seq,
            req.now,
            member,
            recipient,
            req.kind.name(),
            req.body,
            req.key.as_ref().map(ClientKey::as_str)
        ])
    })
    .map_err(ItemError::Batch)?;
    Ok(Appended::New(RoomEvent {
        room: req.room.clone(),
        seq,
        at: req.now,
        member: req.member.clone(),
        kind: req.kind.clone(),
    }))
}
