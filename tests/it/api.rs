//! Every mutation and query, with their error codes.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn me_is_stable_within_a_session_and_differs_between_sessions() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.member(), app.member());
    // Nobody yet: asking who you are creates no session.
    assert_eq!(a.me_opt().await, None);
    let room = a.create_room("who am I", 4, None).await;
    assert_eq!(b.enter(&room).await, None);
    let (a_id, a_color) = a.me().await;
    assert_eq!(a.me().await, (a_id.clone(), a_color.clone()));
    let (b_id, _) = b.me().await;
    assert_ne!(a_id, b_id);
    assert_eq!(a_color, gifchat::domain::Color::of(&a_id).to_string());
    assert!(a_color.starts_with('#') && a_color.len() == 7);
}

#[tokio::test]
async fn create_room_makes_the_creator_owner_and_lists_it() {
    let app = TestApp::spawn().await;
    let a = app.member();
    let d = a
        .ok(
            r#"mutation { createRoom(title: "  수다방  ", capacity: 4) { id title capacity memberCount full secret owner { id color } } }"#,
            json!({}),
        )
        .await;
    // The creator's session was made for this room: the owner is who `me` names from now on.
    let (me, color) = a.me().await;
    let room = &d["createRoom"];
    assert_eq!(room["title"], "수다방");
    assert_eq!(room["capacity"], 4);
    assert_eq!(room["memberCount"], 0);
    assert_eq!(room["secret"], false);
    assert_eq!(room["owner"]["id"], me.as_str());
    assert_eq!(room["owner"]["color"], color.as_str());
    let listed = app.member().ok("{ rooms { nodes { id title } } }", json!({})).await;
    assert_eq!(listed["rooms"]["nodes"][0]["id"], room["id"]);
    let one =
        app.member().ok("query($id: ID!) { room(id: $id) { title memberCount } }", json!({"id": room["id"]})).await;
    assert_eq!(one["room"]["title"], "수다방");
}

#[tokio::test]
async fn create_room_refuses_bad_titles_and_capacities_with_invalid_input() {
    let app = TestApp::spawn().await;
    let a = app.member();
    let q = "mutation($t: String!, $c: Int) { createRoom(title: $t, capacity: $c) { id } }";
    for (title, cap) in
        [("", 10), ("   ", 10), (&*"x".repeat(81), 10), ("evil\u{202E}txt", 10), ("ok", 1), ("ok", 101), ("ok", -3)]
    {
        assert_eq!(a.err_code(q, json!({"t": title, "c": cap})).await, "INVALID_INPUT", "{title:?} {cap}");
    }
    // A capacity that is not an integer is refused by GraphQL itself; nothing was created either way.
    let body = a.gql(q, json!({"t": "ok", "c": 2.5})).await;
    assert!(body["errors"].is_array());
    assert_eq!(a.ok("{ rooms { nodes { id } } }", json!({})).await["rooms"]["nodes"], json!([]));
}

#[tokio::test]
async fn no_api_answer_ever_contains_the_password() {
    let app = TestApp::spawn().await;
    let a = app.member();
    let d = a
        .ok(r#"mutation { createRoom(title: "secret-title-7f3a", password: "pa55-word!") { id secret } }"#, json!({}))
        .await;
    assert_eq!(d["createRoom"]["secret"], true);
    let everything = a.gql("{ rooms { nodes { id title secret owner { id } capacity createdAt } } }", json!({})).await;
    // Positive control: the answer does carry the room made in the same call.
    assert!(everything.to_string().contains("secret-title-7f3a"), "{everything}");
    assert!(!everything.to_string().contains("pa55-word!"));
    let db = app.raw_store_bytes().await;
    // Positive control: the room written in the same call is found where the password must not be.
    assert!(db.windows(17).any(|w| w == b"secret-title-7f3a"), "the search does not see what was just stored");
    assert!(!db.windows(10).any(|w| w == b"pa55-word!"), "the password is stored in clear");
}

#[tokio::test]
async fn enter_room_checks_existence_then_password_then_capacity() {
    let app = TestApp::spawn().await;
    let owner = app.member();
    let room = owner.create_room("secret", 2, Some("sesame")).await;
    let q = "mutation($id: ID!, $p: String) { enterRoom(id: $id, password: $p) { id memberCount } }";
    let guest = app.member();
    assert_eq!(guest.err_code(q, json!({"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "p": null})).await, "NOT_FOUND");
    assert_eq!(guest.err_code(q, json!({"id": "not-an-id", "p": null})).await, "NOT_FOUND");
    assert_eq!(guest.err_code(q, json!({"id": room, "p": null})).await, "WRONG_PASSWORD");
    let body = guest.gql(q, json!({"id": room, "p": "sesam"})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "WRONG_PASSWORD");
    assert_eq!(body["errors"][0]["message"], "비밀번호가 틀렸습니다.");
    guest.ok(q, json!({"id": room, "p": "sesame"})).await;
    // The grant is remembered in the session: no password needed the second time.
    guest.ok(q, json!({"id": room, "p": null})).await;
    // The owner never needs the password.
    owner.ok(q, json!({"id": room, "p": null})).await;
    // Fill the room (owner + guest), then a third visitor with the right password is refused as full.
    let _o = owner.join(&room, None).await;
    let _g = guest.join(&room, None).await;
    let third = app.member();
    eventually("both seats taken", || async {
        let d = third.ok("query($id: ID!) { room(id: $id) { memberCount } }", json!({"id": room})).await;
        (d["room"]["memberCount"] == 2).then_some(())
    })
    .await;
    let body = third.gql(q, json!({"id": room, "p": "sesame"})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "ROOM_FULL");
    assert_eq!(body["errors"][0]["message"], "허용 인원이 초과하였습니다.");
}

#[tokio::test]
async fn a_secret_room_refuses_history_and_seats_without_the_password() {
    let app = TestApp::spawn().await;
    let owner = app.member();
    let room = owner.create_room("secret", 5, Some("pw")).await;
    let stranger = app.member();
    let code = stranger.err_code("query($r: ID!) { messages(roomId: $r) { seq } }", json!({"r": room})).await;
    assert_eq!(code, "FORBIDDEN");
    // A stranger with a session of their own (from another room), so the refusal is about this room.
    let public = owner.create_room("public", 5, None).await;
    assert_eq!(stranger.enter(&public).await, None);
    let mut ws = stranger.ws().await;
    ws.subscribe_room("s", &room, None).await;
    let m = ws.recv().await.unwrap();
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(m["payload"][0]["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test]
async fn a_password_given_is_honoured_by_the_very_next_request_of_that_session_only() {
    // Sessions are cached in memory: the grant saved by `enterRoom` must not be hidden by the copy the
    // earlier refusal loaded.
    let app = TestApp::spawn().await;
    let owner = app.member();
    let room = owner.create_room("secret", 5, Some("pw")).await;
    let history = "query($r: ID!) { messages(roomId: $r) { seq } }";
    let (guest, stranger) = (app.member(), app.member());
    for visitor in [&guest, &stranger] {
        assert_eq!(visitor.err_code(history, json!({"r": room})).await, "FORBIDDEN", "no password yet");
    }
    guest
        .ok("mutation($r: ID!, $p: String) { enterRoom(id: $r, password: $p) { id } }", json!({"r": room, "p": "pw"}))
        .await;
    assert!(guest.ok(history, json!({"r": room})).await["messages"].is_array(), "the grant is seen at once");
    assert_eq!(stranger.err_code(history, json!({"r": room})).await, "FORBIDDEN", "another session is not granted");
}

#[tokio::test]
async fn send_message_requires_a_seat_and_valid_text() {
    let app = TestApp::spawn().await;
    let a = app.member();
    let room = a.create_room("talk", 5, None).await;
    let q = "mutation($r: ID!, $t: String!) { sendMessage(roomId: $r, text: $t) { seq } }";
    assert_eq!(a.err_code(q, json!({"r": room, "t": "hi"})).await, "FORBIDDEN", "not seated yet");
    let _ws = a.join(&room, None).await;
    wait_seated(&app, &a, &room).await;
    for bad in ["", "   ", &"가".repeat(1001), "bell\u{7}"] {
        assert_eq!(a.err_code(q, json!({"r": room, "t": bad})).await, "INVALID_INPUT");
    }
    assert_eq!(a.err_code(q, json!({"r": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "t": "x"})).await, "FORBIDDEN");
    let seq = a.send(&room, " hello ").await;
    let history = a.ok("query($r: ID!) { messages(roomId: $r) { seq kind text } }", json!({"r": room})).await;
    let last = history["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["seq"], seq);
    assert_eq!(last["text"], "hello");
}

#[tokio::test]
async fn a_retried_send_with_the_same_client_key_posts_once() {
    let app = TestApp::spawn().await;
    let a = app.member();
    let room = a.create_room("retry", 5, None).await;
    let _ws = a.join(&room, None).await;
    wait_seated(&app, &a, &room).await;
    let q =
        "mutation($r: ID!, $t: String!, $k: String) { sendMessage(roomId: $r, text: $t, clientKey: $k) { seq text } }";
    let first = a.ok(q, json!({"r": room, "t": "once", "k": "key-1"})).await;
    let again = a.ok(q, json!({"r": room, "t": "once", "k": "key-1"})).await;
    assert_eq!(first, again);
    let other = a.ok(q, json!({"r": room, "t": "twice", "k": "key-2"})).await;
    assert_eq!(other["sendMessage"]["seq"].as_i64().unwrap(), first["sendMessage"]["seq"].as_i64().unwrap() + 1);
    let texts: Vec<_> = a.ok("query($r: ID!) { messages(roomId: $r) { kind text } }", json!({"r": room})).await
        ["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "MESSAGE")
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["once", "twice"]);
    assert_eq!(a.err_code(q, json!({"r": room, "t": "x", "k": "has space"})).await, "INVALID_INPUT");
}

#[tokio::test]
async fn only_the_owner_deletes_a_room() {
    let app = TestApp::spawn().await;
    let (owner, other) = (app.member(), app.member());
    let room = owner.create_room("mine", 5, None).await;
    let q = "mutation($id: ID!) { deleteRoom(id: $id) }";
    assert_eq!(other.err_code(q, json!({"id": room})).await, "FORBIDDEN");
    assert_eq!(other.err_code(q, json!({"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"})).await, "NOT_FOUND");
    assert_eq!(owner.ok(q, json!({"id": room})).await["deleteRoom"], true);
    assert_eq!(owner.ok("{ rooms { nodes { id } } }", json!({})).await["rooms"]["nodes"], json!([]));
}

#[tokio::test]
async fn room_creation_is_rate_limited() {
    let app = TestApp::spawn_with(|s| s.hub.limits.rooms.member = 3).await;
    let a = app.member();
    for i in 0..3 {
        a.create_room(&format!("r{i}"), 2, None).await;
    }
    let code = a.err_code(r#"mutation { createRoom(title: "one too many") { id } }"#, json!({})).await;
    assert_eq!(code, "RATE_LIMITED");
    // Another member has their own allowance.
    app.member().create_room("fine", 2, None).await;
}

#[tokio::test]
async fn sending_is_rate_limited_per_member() {
    let app = TestApp::spawn_with(|s| s.hub.limits.messages.member = 5).await;
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("flood", 5, None).await;
    let _wa = a.join(&room, None).await;
    let _wb = b.join(&room, None).await;
    wait_seated(&app, &b, &room).await;
    for i in 0..5 {
        a.send(&room, &format!("m{i}")).await;
    }
    let q = "mutation($r: ID!) { sendMessage(roomId: $r, text: \"one too many\") { seq } }";
    assert_eq!(a.err_code(q, json!({"r": room})).await, "RATE_LIMITED");
    b.send(&room, "B has its own allowance").await;
}

#[tokio::test]
async fn messages_pages_are_capped_and_ordered() {
    let app = TestApp::spawn().await;
    let a = app.member();
    let room = a.create_room("pages", 5, None).await;
    let _ws = a.join(&room, None).await;
    wait_seated(&app, &a, &room).await;
    for i in 0..120 {
        a.send(&room, &format!("m{i}")).await;
    }
    let q = "query($r: ID!, $after: Int, $before: Int, $last: Int) { messages(roomId: $r, after: $after, before: $before, last: $last) { seq } }";
    let seqs = |v: serde_json::Value| -> Vec<i64> {
        v["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect()
    };
    let latest = seqs(a.ok(q, json!({"r": room, "last": 1000})).await);
    assert_eq!(latest.len(), 100, "pages are capped at 100");
    assert!(latest.windows(2).all(|w| w[1] == w[0] + 1));
    let newest = *latest.last().unwrap();
    let before = seqs(a.ok(q, json!({"r": room, "before": latest[0], "last": 10})).await);
    assert_eq!(before, ((latest[0] - 10)..latest[0]).collect::<Vec<_>>());
    let after = seqs(a.ok(q, json!({"r": room, "after": newest - 3})).await);
    assert_eq!(after, ((newest - 2)..=newest).collect::<Vec<_>>());
}

/// Waits until `m` holds a seat in `room` (its subscription was accepted).
pub async fn wait_seated(app: &TestApp, m: &Member, room: &str) {
    let (room, member) = (parse_room(room), member_id(m).await);
    eventually("seated", || async { app.hub.is_member(&room, &member).await.then_some(()) }).await;
}

pub fn parse_room(id: &str) -> gifchat::domain::RoomId {
    gifchat::domain::RoomId::parse(id).unwrap()
}

pub async fn member_id(m: &Member) -> gifchat::domain::MemberId {
    gifchat::domain::MemberId::parse(&m.me().await.0).unwrap()
}
