//! The socket's life as the server manages it: the close handshake, silent clients, messages too big to
//! send, and operation ids reused after `complete`.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

#[tokio::test]
async fn a_client_initiated_close_gets_the_servers_close_reply() {
    let app = TestApp::spawn().await;
    let m = app.member();
    for code in [1000u16, 4321] {
        let mut ws = m.ws().await;
        let frame = CloseFrame { code: CloseCode::from(code), reason: "bye".into() };
        ws.inner.send(Message::Close(Some(frame))).await.expect("send close");
        // An abnormal end (1006) shows up here as `None`: the reply must carry the client's code back.
        assert_eq!(ws.close_code().await, Some(code), "close handshake completed for {code}");
    }
}

#[tokio::test]
async fn a_close_before_any_graphql_message_gets_the_reply_too_even_without_a_code() {
    let app = TestApp::spawn().await;
    // A bare WebSocket client: no session cookie, no connection_init, only the subprotocol the upgrade needs.
    let mut ws = Ws::connect(&app.base, None, None).await.expect("upgrade");
    let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
    ws.inner.send(Message::Close(Some(frame))).await.expect("send close");
    assert_eq!(ws.close_code().await, Some(1000), "coded close before connection_init");
    // An empty close frame is answered with an empty one; an unanswered close would end the stream or
    // fail with a reset instead (which `close_code` cannot tell apart from an empty reply).
    let mut ws = Ws::connect(&app.base, None, None).await.expect("upgrade");
    ws.inner.send(Message::Close(None)).await.expect("send close");
    let reply = tokio::time::timeout(WAIT, ws.inner.next()).await.expect("a reply or an end");
    assert!(matches!(reply, Some(Ok(Message::Close(None)))), "the server's close reply: {reply:?}");
}

#[tokio::test]
async fn a_client_that_stops_answering_is_closed_and_its_seat_follows_the_grace_rules() {
    let app = TestApp::spawn_with(|s| {
        s.web.ws.ping_after = Duration::from_millis(200);
        s.web.ws.idle_timeout = Duration::from_millis(700);
    })
    .await;
    let (alive, silent) = (app.member(), app.member());
    let room = alive.create_room("pings", 5, None).await;
    let mut wa = alive.join(&room, None).await;
    wa.next_event("r").await;
    let mut ws = silent.join(&room, None).await;
    ws.next_event("r").await;
    wa.next_event("r").await;

    // The silent client reads nothing (so it never answers the server's pings), as a vanished phone would.
    // The live one keeps reading, so its WebSocket layer answers each ping: it must outlast the timeout.
    let left = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let e = wa.next_event("r").await;
            if e["kind"] == "LEFT" {
                return e;
            }
        }
    })
    .await
    .expect("the silent member's seat was released within the idle timeout plus grace");
    assert_eq!(left["member"]["id"], silent.me().await.0.as_str());
    // The silent socket was closed by the server with a code, not just dropped.
    let mut closed_with = None;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(2), ws.next_frame()).await {
        match msg {
            Ok(Message::Close(Some(frame))) => {
                closed_with = Some(u16::from(frame.code));
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert_eq!(closed_with, Some(1001));
    // Positive control: the member who kept answering pings is still seated and still receives.
    let seq = alive.send(&room, "still here").await;
    assert_eq!(wa.next_event("r").await["seq"], seq);
}

#[tokio::test]
async fn a_frame_too_big_to_send_closes_with_1009_and_the_server_keeps_serving() {
    let app = TestApp::spawn_with(|s| s.web.ws.max_outgoing = 4 * 1024).await;
    let m = app.member();
    let lobby = "subscription { lobby { ... on LobbySnapshot { rooms { title } } } }";
    // Positive control: a snapshot that fits arrives.
    m.create_room("작은 방", 5, None).await;
    let mut ws = m.ws().await;
    ws.subscribe("l", lobby, json!({})).await;
    let first = ws.recv().await.expect("snapshot");
    assert_eq!(first["type"], "next", "{first}");
    ws.close().await;

    for i in 0..80 {
        m.create_room(&format!("{i:02} {}", "긴 제목".repeat(12)), 5, None).await;
    }
    let mut ws = m.ws().await;
    ws.subscribe("l", lobby, json!({})).await;
    assert_eq!(ws.close_code().await, Some(1009), "a too-big snapshot closes with 1009, never silently");
    // Nothing else broke: a new socket still gets answers.
    let mut again = m.ws().await;
    again.subscribe("q", "{ me { id } }", json!({})).await;
    assert_eq!(again.recv().await.expect("answer")["type"], "next");
}

#[tokio::test]
async fn nothing_is_sent_for_an_id_after_its_complete_even_by_a_running_mutation() {
    let app = TestApp::spawn().await;
    let (owner, m) = (app.member(), app.member());
    let room = owner.create_room("reuse", 5, Some("비밀번호")).await;
    // The socket carries a session made over HTTP (a socket cannot make one), as a page's would.
    let public = owner.create_room("public", 5, None).await;
    assert_eq!(m.enter(&public).await, None);
    let mut ws = m.ws().await;
    // enterRoom checks the password with Argon2 on the blocking pool: it is still running when the
    // client completes its id and reuses it for a subscription at once.
    ws.subscribe("x", "mutation($r: ID!) { enterRoom(id: $r, password: \"비밀번호\") { id } }", json!({ "r": room }))
        .await;
    ws.send_json(json!({ "type": "complete", "id": "x" })).await;
    ws.subscribe("x", "subscription { lobby { __typename } }", json!({})).await;
    let mut seen = Vec::new();
    let first = ws.recv().await.expect("open");
    seen.push(first.clone());
    // Let the mutation finish (its effect is visible: the grant lets the member subscribe to the room).
    eventually("the mutation finished", || async {
        let d = m.gql("query($r: ID!) { messages(roomId: $r) { seq } }", json!({ "r": room })).await;
        d.get("errors").is_none().then_some(())
    })
    .await;
    // A lobby change must still reach the reused id: nothing completed or replaced it.
    owner.create_room("another", 5, None).await;
    loop {
        let msg = ws.recv().await.expect("socket open");
        seen.push(msg.clone());
        if msg["payload"]["data"]["lobby"]["__typename"] == "RoomCreated" {
            break;
        }
    }
    for msg in &seen {
        assert_eq!(msg["id"], "x");
        assert_eq!(msg["type"], "next", "only the subscription speaks for x: {seen:?}");
        assert!(msg["payload"]["data"].get("enterRoom").is_none(), "the completed mutation answered: {msg}");
    }
}
