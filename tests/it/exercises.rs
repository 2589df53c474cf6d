//! The book's five exercises and the typing indicator: member list, stored system messages, whispers,
//! owner handoff, kick, delete — each rule and its races.

use std::time::Duration;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

const MEMBERS: &str =
    "query($id: ID!) { room(id: $id) { owner { id } memberCount members { member { id color } owner } } }";

/// A room with `n` seated members (the first owns it); each socket has seen everyone's joins.
async fn room_with(app: &TestApp, n: usize) -> (String, Vec<(Member, Ws, String)>) {
    let owner = app.member();
    let room = owner.create_room("exercises", 10, None).await;
    let mut seated: Vec<(Member, Ws, String)> = Vec::new();
    for i in 0..n {
        let m = if i == 0 { owner.clone() } else { app.member() };
        assert_eq!(m.enter(&room).await, None);
        let id = m.me().await.0;
        let mut ws = m.join(&room, None).await;
        assert_eq!(ws.next_event("r").await["kind"], "JOINED");
        for (_, other, _) in seated.iter_mut() {
            assert_eq!(other.next_event("r").await["member"]["id"], id.as_str());
        }
        seated.push((m, ws, id));
    }
    (room, seated)
}

#[tokio::test]
async fn members_are_listed_with_colours_and_the_owner_counting_members_not_tabs() {
    let app = TestApp::spawn().await;
    let (room, seated) = room_with(&app, 3).await;
    // Read once the second tab holds the seat (`join` waits for that), so a tab counted twice shows.
    let _second_tab = seated[1].0.join(&room, None).await;
    let d = seated[2].0.ok(MEMBERS, json!({"id": room})).await;
    let members = d["room"]["members"].as_array().unwrap();
    assert_eq!(d["room"]["memberCount"], 3);
    let ids: Vec<&str> = members.iter().map(|m| m["member"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, seated.iter().map(|s| s.2.as_str()).collect::<Vec<_>>(), "longest present first");
    assert_eq!(members[0]["owner"], true);
    assert_eq!(members[1]["owner"], false);
    assert_eq!(members[2]["member"]["color"], gifchat::domain::Color::of(&seated[2].2).to_string());
}

#[tokio::test]
async fn system_messages_are_stored_in_order() {
    let app = TestApp::spawn_with(|s| s.hub.grace = Duration::from_millis(200)).await;
    let (room, mut seated) = room_with(&app, 3).await;
    let (_kicked, _, kicked_id) = seated.pop().unwrap();
    let (_b, wb, _) = seated.pop().unwrap();
    let (a, mut wa, _) = seated.pop().unwrap();
    a.ok("mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }", json!({"r": room, "m": kicked_id})).await;
    assert_eq!(wa.next_event("r").await["kind"], "KICKED");
    wb.close().await;
    assert_eq!(wa.next_event("r").await["kind"], "LEFT");
    let d = a.ok("query($r: ID!) { messages(roomId: $r) { seq kind } }", json!({"r": room})).await;
    let kinds: Vec<&str> = d["messages"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["JOINED", "JOINED", "JOINED", "KICKED", "LEFT"]);
    let seqs: Vec<i64> = d["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

/// Every text frame a socket receives within `d`.
async fn frames_for(ws: &mut Ws, d: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + d;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next_frame()).await {
        if let Message::Text(t) = msg {
            out.push(t.to_string());
        }
    }
    out
}

#[tokio::test]
async fn a_whisper_reaches_only_sender_and_recipient_live_and_in_history() {
    let app = TestApp::spawn().await;
    let (room, mut seated) = room_with(&app, 3).await;
    let (c, mut wc, _) = seated.pop().unwrap();
    let (b, mut wb, b_id) = seated.pop().unwrap();
    let (a, mut wa, a_id) = seated.pop().unwrap();
    let secret = "psst-the-password-is-swordfish";
    let d = a
        .ok(
            "mutation($r: ID!, $m: ID!, $t: String!) { whisper(roomId: $r, memberId: $m, text: $t) { seq kind text target { id } } }",
            json!({"r": room, "m": b_id, "t": secret}),
        )
        .await;
    let seq = d["whisper"]["seq"].as_i64().unwrap();
    assert_eq!(d["whisper"]["kind"], "WHISPER");
    for ws in [&mut wa, &mut wb] {
        let e = ws.next_event("r").await;
        assert_eq!(
            (e["kind"].as_str(), e["text"].as_str(), e["seq"].as_i64()),
            (Some("WHISPER"), Some(secret), Some(seq))
        );
        assert_eq!(e["member"]["id"], a_id.as_str());
        assert_eq!(e["target"]["id"], b_id.as_str());
    }
    // The third member's raw frames never carry it; a later public message shows the hole in the numbering.
    let public = a.send(&room, "public").await;
    assert_eq!(public, seq + 1);
    let frames = frames_for(&mut wc, Duration::from_millis(500)).await;
    assert!(frames.iter().all(|f| !f.contains(secret) && !f.contains("WHISPER")), "{frames:?}");
    assert!(frames.iter().any(|f| f.contains("\"public\"")), "C still gets public messages: {frames:?}");
    let history = |m: Member| {
        let room = room.clone();
        async move {
            m.ok("query($r: ID!) { messages(roomId: $r) { seq kind text } }", json!({"r": room})).await.to_string()
        }
    };
    assert!(!history(c.clone()).await.contains(secret));
    assert!(history(a.clone()).await.contains(secret));
    assert!(history(b.clone()).await.contains(secret));
    // A resume from before the whisper does not leak it either.
    let mut late = c.join(&room, Some(seq - 1)).await;
    let next = late.next_event("r").await;
    assert_eq!(next["seq"], public, "the whisper's seq is a hole for C");
}

#[tokio::test]
async fn whispering_to_someone_not_in_the_room_is_refused() {
    let app = TestApp::spawn().await;
    let (room, seated) = room_with(&app, 1).await;
    let a = &seated[0].0;
    // Someone real (entered, so they have a session) who never took a seat.
    let outsider = app.member();
    assert_eq!(outsider.enter(&room).await, None);
    let outsider = outsider.me().await.0;
    let q = "mutation($r: ID!, $m: ID!) { whisper(roomId: $r, memberId: $m, text: \"hi\") { seq } }";
    let body = a.gql(q, json!({"r": room, "m": outsider})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("not in this room"));
    assert_eq!(a.err_code(q, json!({"r": room, "m": "garbage"})).await, "INVALID_INPUT");
    let stranger = app.member();
    assert_eq!(stranger.err_code(q, json!({"r": room, "m": seated[0].2})).await, "FORBIDDEN");
}

#[tokio::test]
async fn when_the_owner_drops_the_longest_present_member_becomes_owner_and_lobbies_hear() {
    let app = TestApp::spawn_with(|s| s.hub.grace = Duration::from_millis(300)).await;
    let (_room, mut seated) = room_with(&app, 3).await;
    let watcher = app.member();
    let mut lobby = watcher.ws().await;
    lobby
        .subscribe(
            "l",
            "subscription { lobby { __typename ... on RoomUpdated { room { id owner { id color } } } } }",
            json!({}),
        )
        .await;
    lobby.recv().await.unwrap();
    let (_c, mut wc, _) = seated.pop().unwrap();
    let (_b, _wb, b_id) = seated.pop().unwrap();
    let (_a, wa, _) = seated.pop().unwrap();
    wa.close().await; // the owner drops; after the grace period B (present longest) takes over
    assert_eq!(wc.next_event("r").await["kind"], "LEFT");
    let changed = wc.next_event("r").await;
    assert_eq!(changed["kind"], "OWNER_CHANGED");
    assert_eq!(changed["member"]["id"], b_id.as_str());
    let owner = loop {
        let m = lobby.recv().await.unwrap();
        let owner = m["payload"]["data"]["lobby"]["room"]["owner"]["id"].clone();
        if owner == b_id.as_str() {
            break m;
        }
    };
    assert_eq!(
        owner["payload"]["data"]["lobby"]["room"]["owner"]["color"],
        gifchat::domain::Color::of(&b_id).to_string()
    );
}

#[tokio::test]
async fn the_owner_hands_over_explicitly_and_of_two_concurrent_transfers_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let (room, seated) = room_with(&app, 3).await;
    let a = seated[0].0.clone();
    let q = "mutation($r: ID!, $m: ID!) { transferOwnership(roomId: $r, memberId: $m) { owner { id } } }";
    assert_eq!(seated[1].0.err_code(q, json!({"r": room, "m": seated[2].2})).await, "FORBIDDEN");
    let (to_b, to_c) = (json!({"r": room, "m": seated[1].2}), json!({"r": room, "m": seated[2].2}));
    let (r1, r2) = tokio::join!(a.gql(q, to_b), a.gql(q, to_c));
    let wins: Vec<&Value> = [&r1, &r2].into_iter().filter(|r| r.get("errors").is_none()).collect();
    assert_eq!(wins.len(), 1, "{r1} {r2}");
    let loser = if r1.get("errors").is_some() { &r1 } else { &r2 };
    assert_eq!(loser["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let winner = wins[0]["data"]["transferOwnership"]["owner"]["id"].clone();
    let d = a.ok(MEMBERS, json!({"id": room})).await;
    assert_eq!(d["room"]["owner"]["id"], winner);
    let history = a.ok("query($r: ID!) { messages(roomId: $r) { kind member { id } } }", json!({"r": room})).await;
    let changes: Vec<&Value> =
        history["messages"].as_array().unwrap().iter().filter(|m| m["kind"] == "OWNER_CHANGED").collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["member"]["id"], winner);
}

#[tokio::test]
async fn a_kicked_member_is_ended_at_once_and_cannot_come_back() {
    let app = TestApp::spawn().await;
    let (room, mut seated) = room_with(&app, 3).await;
    let (c, mut wc, c_id) = seated.pop().unwrap();
    let (b, mut wb, _) = seated.pop().unwrap();
    let (a, _wa, a_id) = seated.pop().unwrap();
    // A second tab posts nothing; resuming after the three joins, it receives the next message whether
    // its subscription starts before or after that message is stored — proof that it is live.
    let mut c_tab2 = c.join(&room, Some(3)).await;
    let sync = a.send(&room, "sync").await;
    for ws in [&mut c_tab2, &mut wb] {
        assert_eq!(ws.next_event("r").await["seq"], sync);
    }
    let q = "mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }";
    assert_eq!(b.err_code(q, json!({"r": room, "m": c_id})).await, "FORBIDDEN", "only the owner kicks");
    a.ok(q, json!({"r": room, "m": c_id})).await;
    let seen = wb.next_event("r").await;
    assert_eq!((seen["kind"].as_str(), seen["target"]["id"].as_str()), (Some("KICKED"), Some(c_id.as_str())));
    assert_eq!(seen["member"]["id"], a_id.as_str());
    for ws in [&mut wc, &mut c_tab2] {
        loop {
            let item = ws.next_item("r").await;
            if item["__typename"] == "RoomClosed" {
                assert_eq!(item["reason"], "KICKED");
                break;
            }
        }
    }
    let mut again = c.ws().await;
    again.subscribe_room("r", &room, None).await;
    let refused = again.recv().await.unwrap();
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(refused["payload"][0]["extensions"]["reason"], "REMOVED");
    // enterRoom and the room page refuse at once too, before any history is shown.
    let body = c.gql("mutation($id: ID!) { enterRoom(id: $id) { id } }", json!({"id": room})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "REMOVED");
    let page = c.http.get(format!("{}/room/{room}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/?error=REMOVED");
    assert_eq!(
        c.err_code(
            "mutation($r: ID!, $t: String!) { sendMessage(roomId: $r, text: $t) { seq } }",
            json!({"r": room, "t": "still here"})
        )
        .await,
        "FORBIDDEN"
    );
    let d = a.ok(MEMBERS, json!({"id": room})).await;
    assert_eq!(d["room"]["memberCount"], 2);
}

#[tokio::test]
async fn a_kick_racing_the_targets_leave_leaves_one_exit() {
    for _ in 0..5 {
        let app = TestApp::spawn().await;
        let (room, mut seated) = room_with(&app, 3).await;
        let (c, _wc, c_id) = seated.pop().unwrap();
        let a = seated[0].0.clone();
        let kick =
            a.gql("mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }", json!({"r": room, "m": c_id}));
        let leave = c.gql("mutation($id: ID!) { leaveRoom(id: $id) }", json!({"id": room}));
        let (k, l) = tokio::join!(kick, leave);
        assert!(l.get("errors").is_none(), "{l}");
        let d = a
            .ok("query($r: ID!) { messages(roomId: $r) { kind member { id } target { id } } }", json!({"r": room}))
            .await;
        let exits: Vec<&Value> = d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| (m["kind"] == "LEFT" && m["member"]["id"] == c_id.as_str()) || m["kind"] == "KICKED")
            .collect();
        assert_eq!(exits.len(), 1, "exactly one exit for C: {d} (kick said {k})");
        assert_eq!(a.ok(MEMBERS, json!({"id": room})).await["room"]["memberCount"], 2);
    }
}

#[tokio::test]
async fn a_kick_racing_the_owners_leave_leaves_the_right_owner() {
    for _ in 0..5 {
        let app = TestApp::spawn().await;
        let (room, seated) = room_with(&app, 3).await;
        let (a, b_id, c_id) = (seated[0].0.clone(), seated[1].2.clone(), seated[2].2.clone());
        let kick =
            a.gql("mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }", json!({"r": room, "m": c_id}));
        let leave = a.gql("mutation($id: ID!) { leaveRoom(id: $id) }", json!({"id": room}));
        let (k, l) = tokio::join!(kick, leave);
        assert!(l.get("errors").is_none(), "{l}");
        let d = seated[1].0.ok(MEMBERS, json!({"id": room})).await;
        assert_eq!(d["room"]["owner"]["id"], b_id.as_str(), "the longest present remaining member owns the room");
        let members: Vec<&str> =
            d["room"]["members"].as_array().unwrap().iter().map(|m| m["member"]["id"].as_str().unwrap()).collect();
        // A kick that came first removed C; one that came after the leave was refused (A no longer owns).
        let kicked = match k.get("errors") {
            None => true,
            Some(_) => {
                assert_eq!(k["errors"][0]["extensions"]["code"], "FORBIDDEN", "{k}");
                false
            }
        };
        let expected: Vec<&str> = if kicked { vec![&b_id] } else { vec![&b_id, &c_id] };
        assert_eq!(members, expected, "A is gone, and C exactly when the kick won");
    }
}

#[tokio::test]
async fn deleting_tells_everyone_inside() {
    let app = TestApp::spawn().await;
    let (room, mut seated) = room_with(&app, 2).await;
    let (_b, mut wb, _) = seated.pop().unwrap();
    let (a, mut wa, _) = seated.pop().unwrap();
    a.ok("mutation($id: ID!) { deleteRoom(id: $id) }", json!({"id": room})).await;
    for ws in [&mut wa, &mut wb] {
        let item = ws.next_item("r").await;
        assert_eq!((item["__typename"].as_str(), item["reason"].as_str()), (Some("RoomClosed"), Some("DELETED")));
    }
}

#[tokio::test]
async fn typing_reaches_the_others_live_only_throttled_and_never_stored() {
    let app = TestApp::spawn().await;
    let (room, mut seated) = room_with(&app, 2).await;
    let (b, mut wb, _) = seated.pop().unwrap();
    let (a, mut wa, a_id) = seated.pop().unwrap();
    let q = "mutation($r: ID!) { typing(roomId: $r) }";
    a.ok(q, json!({"r": room})).await;
    a.ok(q, json!({"r": room})).await; // within the throttle interval: not sent again
    let item = wb.next_item("r").await;
    assert_eq!(item, json!({"__typename": "MemberTyping", "member": {"id": a_id}}), "who types, and nothing else");
    let seq = a.send(&room, "done typing").await;
    assert_eq!(wb.next_event("r").await["seq"], seq, "the second typing call was throttled");
    assert_eq!(wa.next_event("r").await["seq"], seq, "the typer does not see their own indicator");
    let history = b.ok("query($r: ID!) { messages(roomId: $r) { seq kind } }", json!({"r": room})).await;
    // Stored events are exactly seq 1..=seq (no whispers here): a stored typing signal would add one.
    let seqs: Vec<i64> = history["messages"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seq).collect::<Vec<_>>(), "{history}");
    assert_eq!(history["messages"][seqs.len() - 1]["kind"], "MESSAGE");
    let mut late = b.join(&room, Some(0)).await;
    for _ in 0..3 {
        assert_eq!(late.next_item("r").await["__typename"], "RoomEvent", "typing is never replayed");
    }
    assert_eq!(app.member().err_code(q, json!({"r": room})).await, "FORBIDDEN");
}

#[tokio::test]
async fn a_secret_rooms_members_are_only_listed_to_those_with_its_password() {
    let app = TestApp::spawn().await;
    let owner = app.member();
    let room = owner.create_room("secret", 5, Some("pw")).await;
    let q = "query($id: ID!) { room(id: $id) { members { member { id } } } }";
    assert_eq!(app.member().err_code(q, json!({"id": room})).await, "FORBIDDEN");
    owner.ok(q, json!({"id": room})).await;
    let guest = app.member();
    guest.ok("mutation($id: ID!) { enterRoom(id: $id, password: \"pw\") { id } }", json!({"id": room})).await;
    guest.ok(q, json!({"id": room})).await;
}
