//! Group commit on the embedded store: appends queued together share one transaction, and a request
//! that fails inside it fails alone, without a gap in any room's `seq`.
//!
//! To make a batch deterministic, a second connection holds SQLite's write lock while the appends are
//! queued: the writer thread takes the first request and waits for the lock (busy timeout), everything
//! queued meanwhile goes into the next transaction together.

use std::sync::Arc;
use std::time::Duration;

use gifchat::domain::{now_millis, EventKind, MemberId, RoomId};
use gifchat::store::{Appended, NewRoom, Page, SqliteStore, Store};
use rusqlite::Connection;

/// Appends queued in one batch (beside the one taken first).
const QUEUED: usize = 12;

fn new_room() -> NewRoom {
    NewRoom {
        id: RoomId::generate(),
        title: "batch".into(),
        capacity: 10,
        password_hash: None,
        owner: None,
        persistent: false,
        created_at: now_millis(),
    }
}

fn text(s: &str) -> EventKind {
    EventKind::Message { text: s.into() }
}

/// A store, `n` rooms in it, and a raw connection to the same file.
async fn setup(n: usize) -> (tempfile::TempDir, SqliteStore, Vec<RoomId>, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let mut rooms = Vec::new();
    for _ in 0..n {
        rooms.push(store.create_room(new_room(), "t").await.unwrap().id);
    }
    let raw = Connection::open(dir.path().join("gifchat.sqlite3")).unwrap();
    raw.busy_timeout(Duration::from_secs(5)).unwrap();
    (dir, store, rooms, raw)
}

/// Queues one append per room while `raw` holds the write lock, runs `meanwhile` inside that lock, then
/// lets the batch go; returns each room's outcome (the seq, or the error text).
async fn batched(store: &SqliteStore, rooms: &[RoomId], raw: &Connection, meanwhile: &str) -> Vec<Result<i64, String>> {
    let store: Arc<dyn Store> = Arc::new(store.clone());
    raw.execute_batch("BEGIN IMMEDIATE").unwrap();
    // The first append is taken alone and waits for the lock; the rest queue up behind it.
    let opener = MemberId::generate();
    let first = {
        let (store, room) = (store.clone(), rooms[0].clone());
        tokio::spawn(async move { store.append_event(&room, Some(&opener), &text("first"), None, now_millis()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let tasks: Vec<_> = rooms[1..]
        .iter()
        .map(|room| {
            let (store, room) = (store.clone(), room.clone());
            tokio::spawn(async move {
                let m = MemberId::generate();
                match store.append_event(&room, Some(&m), &text("batched"), None, now_millis()).await {
                    Ok(Appended::New(e)) => Ok(e.seq),
                    Ok(Appended::Existing(e)) => panic!("no key, yet an existing event {e:?}"),
                    Err(e) => Err(e.to_string()),
                }
            })
        })
        .collect();
    // A functional wait: let every spawned append reach the queue.
    tokio::time::sleep(Duration::from_millis(300)).await;
    raw.execute_batch(meanwhile).unwrap();
    raw.execute_batch("COMMIT").unwrap();
    first.await.unwrap().expect("the first append succeeds");
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn seqs_of(store_events: &[gifchat::domain::RoomEvent]) -> Vec<i64> {
    store_events.iter().map(|e| e.seq).collect()
}

const ALL: Page = Page { after: None, before: None, limit: 1000, newest: false };

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_room_deleted_before_its_batch_fails_only_its_own_append() {
    let (_dir, store, rooms, raw) = setup(QUEUED + 1).await;
    let gone = rooms[5].clone();
    // Deleted by another connection while the appends wait (as `gifchat rooms delete` may do).
    let outcomes = batched(&store, &rooms, &raw, &format!("DELETE FROM rooms WHERE id = '{}'", gone.as_str())).await;
    assert!(store.largest_append_batch() >= QUEUED, "the appends were committed together");
    for (room, outcome) in rooms[1..].iter().zip(&outcomes) {
        if *room == gone {
            let err = outcome.as_ref().expect_err("the deleted room's append fails");
            assert!(err.contains("does not exist"), "{err}");
        } else {
            assert_eq!(outcome, &Ok(1), "the other rooms' appends in the same batch are committed");
            let stored = store.events(room, &MemberId::generate(), ALL).await.unwrap();
            assert_eq!(seqs_of(&stored), vec![1]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_constraint_failure_on_one_append_fails_only_it_and_leaves_no_gap() {
    let (_dir, store, rooms, raw) = setup(QUEUED + 1).await;
    let blocked = rooms[7].clone();
    // A row already sits where the blocked room's next event goes: its insert violates the primary key.
    let squat = format!(
        "INSERT INTO events (room_id, seq, at, kind, body) VALUES ('{}', 1, 0, 'message', '{{}}')",
        blocked.as_str()
    );
    let outcomes = batched(&store, &rooms, &raw, &squat).await;
    assert!(store.largest_append_batch() >= QUEUED, "the appends were queued together");
    for (room, outcome) in rooms[1..].iter().zip(&outcomes) {
        if *room == blocked {
            let err = outcome.as_ref().expect_err("the conflicting append fails");
            assert!(err.contains("UNIQUE") || err.contains("constraint"), "{err}");
        } else {
            assert_eq!(outcome, &Ok(1), "the other appends of the batch are committed");
        }
    }
    // The failed append took no number: once the squatter is gone, the room's next event is seq 1.
    raw.execute("DELETE FROM events WHERE room_id = ?1", [blocked.as_str()]).unwrap();
    let m = MemberId::generate();
    let Appended::New(e) = store.append_event(&blocked, Some(&m), &text("again"), None, now_millis()).await.unwrap()
    else {
        panic!("no key, yet an existing event")
    };
    assert_eq!(e.seq, 1, "no gap after the failed append");
    let stored = store.events(&blocked, &m, ALL).await.unwrap();
    assert_eq!(seqs_of(&stored), vec![1]);
    assert_eq!(stored[0].kind, text("again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lone_append_is_committed_without_waiting_for_company() {
    let (_dir, store, rooms, _raw) = setup(1).await;
    let m = MemberId::generate();
    // A generous deadline on a functional wait: a lone append must not sit waiting for a batch to fill.
    let appended = tokio::time::timeout(
        Duration::from_secs(5),
        store.append_event(&rooms[0], Some(&m), &text("alone"), None, now_millis()),
    )
    .await
    .expect("a lone append is answered")
    .unwrap();
    assert!(matches!(appended, Appended::New(ref e) if e.seq == 1), "{appended:?}");
    assert_eq!(store.largest_append_batch(), 1);
}
