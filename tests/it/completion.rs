//! Writes run to completion even when the client stops waiting: a dropped HTTP connection or a
//! `complete` sent for a mutation must not cut a write between two of its steps.

use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::*;

/// Room creation with a password is slow on purpose (Argon2id), so the client is long gone before it ends.
const CREATE: &str = r#"mutation { createRoom(title: "finished anyway", password: "slow-to-hash") { id } }"#;

async fn room_titles(app: &TestApp) -> Vec<String> {
    let d = app.member().ok("{ rooms(first: 100) { nodes { title } } }", json!({})).await;
    d["rooms"]["nodes"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_write_completes_after_the_http_client_hangs_up() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": CREATE }).to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        app.addr,
        body.len()
    );
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp.shutdown().await.unwrap();
    drop(tcp); // gone before the hash is done
    eventually("the room exists", || async {
        room_titles(&app).await.contains(&"finished anyway".to_owned()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_mutation_completed_by_the_client_over_the_socket_still_finishes() {
    let app = TestApp::spawn().await;
    let m = app.member();
    // A socket cannot create a session: this member got theirs over HTTP, as a page would.
    m.create_room("a session first", 5, None).await;
    let mut ws = m.ws().await;
    ws.subscribe("m", CREATE, json!({})).await;
    ws.send_json(json!({"type": "complete", "id": "m"})).await;
    ws.close().await;
    eventually("the room exists", || async {
        room_titles(&app).await.contains(&"finished anyway".to_owned()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_named_subscription_ends_when_its_socket_closes() {
    // Named operations parse differently from anonymous ones; both must be recognised as subscriptions,
    // or a closed socket would leave the seat held until the room's next event.
    let app = TestApp::spawn_with(|s| s.hub.grace = std::time::Duration::from_millis(200)).await;
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("named", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    assert_eq!(b.enter(&room).await, None);
    let mut wb = b.ws().await;
    let named = ROOM_SUB.replacen("subscription(", "subscription Room(", 1);
    wb.subscribe("r", &named, json!({"id": room})).await;
    assert_eq!(wb.next_event("r").await["kind"], "JOINED");
    assert_eq!(wa.next_event("r").await["kind"], "JOINED");
    wb.close().await;
    let left = wa.next_event("r").await;
    assert_eq!(left["kind"], "LEFT", "B's seat is released after the grace period");
}
