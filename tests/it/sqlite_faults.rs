//! The server while the embedded store is slow or refuses a write, made so for real: a second SQLite
//! connection holds the write lock (every write waits behind it), or a trigger makes one insert fail.
//! These tests always run on SQLite (the MongoDB outage has its own test in mongo.rs).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use gifchat::domain::RoomId;
use gifchat::hub::Creator;
use gifchat::store::{SqliteStore, Store};

use crate::support::*;

/// A server on a fresh SQLite store, with the directory (and so the database file) it uses.
async fn sqlite_app(adjust: impl FnOnce(&mut Settings)) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    (TestApp::spawn_on(dir.path(), store, adjust).await, dir)
}

/// Another connection to the server's database file.
fn raw(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("gifchat.sqlite3")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

const HISTORY: &str = "query($r: ID!) { messages(roomId: $r) { seq kind text member { id } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_is_never_published_and_leaves_no_seq_gap() {
    let (app, dir) = sqlite_app(|_| {}).await;
    let a = app.member();
    let room = a.create_room("faults", 5, None).await;
    let mut wa = a.join(&room, None).await;
    assert_eq!(wa.next_event("r").await["kind"], "JOINED");
    let before = a.send(&room, "before").await;
    assert_eq!(wa.next_event("r").await["seq"], before);

    // The disk "refuses" this one message: its insert fails inside SQLite.
    let db = raw(dir.path());
    db.execute_batch(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.body LIKE '%boom%'
         BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;",
    )
    .unwrap();
    let q = "mutation($r: ID!, $t: String!) { sendMessage(roomId: $r, text: $t) { seq } }";
    let refused = a.gql(q, json!({"r": room, "t": "boom"})).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "INTERNAL", "{refused}");
    assert!(!refused.to_string().contains("injected"), "store details stay on the server: {refused}");
    db.execute_batch("DROP TRIGGER refuse_boom").unwrap();

    // The next message takes the very next number, and it is the next thing the subscriber hears: the
    // failed one was never published.
    let after = a.send(&room, "after").await;
    assert_eq!(after, before + 1, "the failed write took a seq");
    let heard = wa.next_event("r").await;
    assert_eq!((heard["seq"].as_i64(), heard["text"].as_str()), (Some(after), Some("after")));
    let history = a.ok(HISTORY, json!({"r": room})).await;
    let seqs: Vec<i64> = history["messages"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=after).collect::<Vec<_>>(), "{history}");
    let texts: Vec<&str> = history["messages"].as_array().unwrap().iter().filter_map(|e| e["text"].as_str()).collect();
    assert_eq!(texts, ["before", "after"]);
}

/// How a client lets go of a subscription.
#[derive(Debug, Clone, Copy)]
enum LetGo {
    /// It closes the socket.
    Close,
    /// It sends `complete` for the subscription and keeps the socket.
    Complete,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_dropped_while_its_seat_is_taken_leaves_no_member_behind() {
    for how in [LetGo::Close, LetGo::Complete] {
        let (app, dir) = sqlite_app(|s| s.hub.grace = Duration::from_millis(300)).await;
        // A kept room nobody is in: the first connection to it makes its in-memory state, which shows
        // that the seat is being taken; kept, so it is still there to look at once it is empty again.
        let kept = Creator::Operator { persistent: true };
        let room = app.hub.create_room(kept, "drop", Some(5), None).await.unwrap().id.to_string();
        let b = app.member();
        // Let in over HTTP first (which creates B's session but takes no seat), as the room's page does.
        assert_eq!(b.enter(&room).await, None);
        let b_id = b.me().await.0;
        let mut ws = b.ws().await;

        // Every write waits behind this lock, so the seat claim starts and cannot finish.
        let lock = raw(dir.path());
        lock.execute_batch("BEGIN IMMEDIATE").unwrap();
        let rooms_before = app.hub.live_rooms();
        ws.subscribe_room("r", &room, None).await;
        eventually("the seat is being taken", || async { (app.hub.live_rooms() > rooms_before).then_some(()) }).await;
        match how {
            LetGo::Close => {
                let normal = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                ws.inner.close(Some(normal)).await.unwrap();
                assert_eq!(ws.close_code().await, Some(1000), "the server answered the close");
            }
            LetGo::Complete => {
                ws.send_json(json!({"type": "complete", "id": "r"})).await;
                // Frames are read in order: once the ping is answered, the complete was handled.
                ws.send_json(json!({"type": "ping"})).await;
                assert_eq!(ws.recv().await.unwrap()["type"], "pong");
            }
        }
        lock.execute_batch("COMMIT").unwrap();

        // The claim went through after the client let go; with nobody holding it, the seat is released
        // after the grace period: B joined, then left, and nobody is left in the room.
        let reader = app.member();
        let events = eventually("B's seat was taken and released", || async {
            let history = reader.ok(HISTORY, json!({"r": room})).await["messages"].clone();
            let mine: Vec<String> = history
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["member"]["id"] == b_id.as_str())
                .map(|e| e["kind"].as_str().unwrap().to_owned())
                .collect();
            mine.contains(&"LEFT".to_owned()).then_some(mine)
        })
        .await;
        assert_eq!(events, ["JOINED", "OWNER_CHANGED", "LEFT"], "{how:?}");
        let d = reader
            .ok(
                "query($id: ID!) { room(id: $id) { memberCount owner { id } members { member { id } } } }",
                json!({"id": room}),
            )
            .await;
        assert_eq!(d["room"], json!({"memberCount": 0, "owner": null, "members": []}), "{how:?}");
        let (room_id, member) = (RoomId::parse(&room).unwrap(), gifchat::domain::MemberId::parse(&b_id).unwrap());
        assert!(!app.hub.is_member(&room_id, &member).await, "{how:?}: a ghost seat in memory");
        if let LetGo::Complete = how {
            // Nothing was sent for the completed id, and the socket still serves.
            ws.send_json(json!({"type": "ping"})).await;
            assert_eq!(ws.recv().await.unwrap()["type"], "pong", "{how:?}");
        }
    }
}
