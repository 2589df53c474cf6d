//! Hostile input at the HTTP and WebSocket boundaries: every refusal is clear and loses nothing.

use std::time::Duration;

use futures::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

#[tokio::test]
async fn a_mutation_sent_by_get_is_refused_and_not_executed() {
    let app = TestApp::spawn().await;
    let url = format!("{}/graphql?query=mutation%7BcreateRoom(title%3A%22x%22)%7Bid%7D%7D", app.base);
    let resp = app.http().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(app.member().ok("{ rooms { nodes { id } } }", json!({})).await["rooms"]["nodes"], json!([]));
}

#[tokio::test]
async fn graphiql_is_served_to_browsers_with_its_own_csp() {
    let app = TestApp::spawn().await;
    let resp = app.http().get(format!("{}/graphql", app.base)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src https://unpkg.com"), "{csp}");
    let page = resp.text().await.unwrap();
    assert!(page.contains("/graphql/ws"));
}

#[tokio::test]
async fn batches_forms_and_garbage_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let post = |body: &'static str, ct: &'static str| {
        app.http().post(format!("{}/graphql", app.base)).header("content-type", ct).body(body).send()
    };
    let resp = post(r#"[{"query":"mutation{createRoom(title:\"a\"){id}}"},{"query":"{me{id}}"}]"#, "application/json")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("batched"));
    let resp = post(r#"query=mutation{createRoom(title:"a"){id}}"#, "application/x-www-form-urlencoded").await.unwrap();
    assert_eq!(resp.status(), 415);
    let resp = post(r#"{"query":"mutation{createRoom(title:\"a\"){id}}"}"#, "text/plain").await.unwrap();
    assert_eq!(resp.status(), 415);
    let resp = post("{not json", "application/json").await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    // Our own sentence, not the JSON parser's (which names a line and column).
    assert_eq!(body["errors"][0]["message"], "the body is not JSON", "{body}");
    assert_eq!(app.member().ok("{ rooms { nodes { id } } }", json!({})).await["rooms"]["nodes"], json!([]));
}

#[tokio::test]
async fn an_oversized_graphql_body_is_refused() {
    let app = TestApp::spawn().await;
    let big = json!({ "query": "{ me { id } }", "variables": { "pad": "x".repeat(100_000) } });
    let resp = app.http().post(format!("{}/graphql", app.base)).json(&big).send().await.unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn deep_complex_and_alias_heavy_queries_are_refused() {
    let app = TestApp::spawn().await;
    let m = app.member();
    // Introspection recurses through `ofType`: the classic way to build depth on a shallow schema.
    let deep =
        format!("{{ __schema {{ types {{ fields {{ type {} name {} }} }} }} }}", "{ ofType ".repeat(9), "}".repeat(9));
    let body = m.gql(&deep, json!({})).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("nested too deep"), "{body}");
    let aliases: String = (0..31).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let body = m.gql(&format!("{{ {aliases} }}"), json!({})).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("aliases"), "{body}");
    let ok_aliases: String = (0..30).map(|i| format!("a{i}: me {{ id }} ")).collect();
    m.ok(&format!("{{ {ok_aliases} }}"), json!({})).await;
    let strict = TestApp::spawn_with(|s| s.limits.complexity = 5).await;
    let body =
        strict.member().gql("{ rooms { nodes { id title capacity memberCount secret full } } }", json!({})).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("too complex"), "{body}");
}

#[tokio::test]
async fn a_foreign_or_null_origin_cannot_open_the_websocket() {
    let app = TestApp::spawn_with(|s| s.web.allowed_origins = vec!["https://chat.example".into()]).await;
    for origin in ["https://evil.example", "null", "http://localhost.evil.example"] {
        let err = Ws::connect(&app.base, None, Some(origin)).await.err().expect("refused");
        assert!(err.to_string().contains("403"), "{origin}: {err}");
    }
    let own = format!("http://{}", app.addr);
    for origin in [own.as_str(), "https://chat.example"] {
        Ws::connect(&app.base, None, Some(origin)).await.expect("allowed");
    }
    Ws::connect(&app.base, None, None).await.expect("non-browser clients send no Origin");
}

#[tokio::test]
async fn an_upload_from_a_foreign_origin_is_refused() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let room = m.create_room("x", 5, None).await;
    let form = reqwest::multipart::Form::new().part("gif", reqwest::multipart::Part::bytes(vec![1, 2, 3]));
    let resp = m
        .http
        .post(format!("{}/room/{room}/gif", app.base))
        .header("origin", "https://evil.example")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn the_password_form_refuses_a_foreign_origin_and_grants_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.member();
    let room = owner.create_room("origin", 5, Some("sesame")).await;
    // A visitor arriving by the room's link, with no session yet: a refused post must not create one.
    let guest = app.member();
    let history = "query($r: ID!) { messages(roomId: $r) { seq } }";
    let enter = |origin: String| {
        let (guest, room) = (guest.clone(), room.clone());
        async move {
            let url = format!("{}/room/{room}/enter", guest.base);
            let form = [("password", "sesame")];
            let resp = guest.http.post(url).header("origin", origin).form(&form).send().await.unwrap();
            (resp.status().as_u16(), resp.headers().get("location").map(|l| l.to_str().unwrap().to_owned()))
        }
    };
    // The right password from another site (a cross-site form post): refused, and nothing remembered.
    for origin in ["https://evil.example".to_owned(), "null".to_owned(), format!("http://{}.evil.example", app.addr)] {
        assert_eq!(enter(origin.clone()).await, (403, None), "{origin}");
    }
    assert_eq!(guest.err_code(history, json!({"r": room})).await, "FORBIDDEN", "a refused form granted the room");
    // Positive control: the same form from the server's own origin opens the room.
    assert_eq!(enter(app.base.clone()).await, (303, Some(format!("/room/{room}"))));
    guest.ok(history, json!({"r": room})).await;
}

async fn fresh_ws(app: &TestApp) -> Ws {
    Ws::connect(&app.base, None, None).await.unwrap()
}

#[tokio::test]
async fn websocket_protocol_violations_close_with_the_specified_codes() {
    let app = TestApp::spawn_with(|s| s.web.ws.init_timeout = Duration::from_millis(300)).await;
    // Subscribe before connection_init → 4401.
    let mut ws = fresh_ws(&app).await;
    ws.subscribe("1", "{ me { id } }", json!({})).await;
    assert_eq!(ws.close_code().await, Some(4401));
    // A second connection_init → 4429.
    let mut ws = fresh_ws(&app).await;
    ws.init().await;
    ws.send_json(json!({"type": "connection_init"})).await;
    assert_eq!(ws.close_code().await, Some(4429));
    // Never initialising → 4408.
    let mut ws = fresh_ws(&app).await;
    assert_eq!(ws.close_code().await, Some(4408));
    // Invalid JSON, unknown type, binary frames → 4400.
    for bad in [
        Message::Text("{oops".into()),
        Message::Text(r#"{"type":"nonsense"}"#.into()),
        Message::Binary(vec![1, 2, 3].into()),
    ] {
        let mut ws = fresh_ws(&app).await;
        ws.init().await;
        ws.inner.send(bad).await.unwrap();
        assert_eq!(ws.close_code().await, Some(4400));
    }
    // Duplicate subscription id → 4409.
    let m = app.member();
    let room = m.create_room("dup", 5, None).await;
    let mut ws = m.ws().await;
    ws.subscribe_room("same", &room, None).await;
    ws.subscribe_room("same", &room, None).await;
    assert_eq!(ws.close_code().await, Some(4409));
}

#[tokio::test]
async fn empty_and_over_long_operation_ids_close_with_4400() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let lobby = "subscription { lobby { __typename } }";
    for id in [String::new(), "i".repeat(129), "가".repeat(43)] {
        let mut ws = m.ws().await;
        ws.subscribe(&id, lobby, json!({})).await;
        assert_eq!(ws.close_code().await, Some(4400), "subscribe with {} bytes of id", id.len());
        let mut ws = m.ws().await;
        ws.send_json(json!({"type": "complete", "id": id})).await;
        assert_eq!(ws.close_code().await, Some(4400), "complete with {} bytes of id", id.len());
    }
    // Positive control: an id of exactly 128 bytes subscribes, and completing it keeps the socket open.
    let mut ws = m.ws().await;
    let longest = "i".repeat(128);
    ws.subscribe(&longest, lobby, json!({})).await;
    let next = ws.recv().await.expect("open");
    assert_eq!((next["type"].as_str(), next["id"].as_str()), (Some("next"), Some(longest.as_str())));
    ws.send_json(json!({"type": "complete", "id": longest})).await;
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await.expect("still open")["type"], "pong");
}

#[tokio::test]
async fn ping_gets_pong_and_queries_work_over_the_socket() {
    let app = TestApp::spawn().await;
    let m = app.member();
    m.create_room("a session", 5, None).await;
    let (id, _) = m.me().await;
    let mut ws = m.ws().await;
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await.unwrap()["type"], "pong");
    ws.subscribe("q", "{ me { id } }", json!({})).await;
    let next = ws.recv().await.unwrap();
    assert_eq!(next["payload"]["data"]["me"]["id"], id.as_str(), "the cookie identifies the member on the socket");
    assert_eq!(ws.recv().await.unwrap()["type"], "complete");
}

#[tokio::test]
async fn a_message_over_the_cap_closes_with_1009_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let mut ws = fresh_ws(&app).await;
    ws.init().await;
    let huge = json!({"type": "ping", "payload": {"pad": "x".repeat(200 * 1024)}}).to_string();
    let _ = ws.inner.send(Message::Text(huge.into())).await;
    assert_eq!(ws.close_code().await, Some(1009));
    fresh_ws(&app).await.init().await;
}

#[tokio::test]
async fn a_socket_holds_at_most_twenty_subscriptions() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let mut ws = m.ws().await;
    for i in 0..21 {
        ws.subscribe(&format!("s{i}"), "subscription { lobby { __typename } }", json!({})).await;
    }
    let mut refused: Option<Value> = None;
    let mut snapshots = 0;
    while refused.is_none() || snapshots < 20 {
        let m = ws.recv().await.unwrap();
        match m["type"].as_str() {
            Some("next") => snapshots += 1,
            Some("error") => refused = Some(m),
            other => panic!("unexpected {other:?}"),
        }
    }
    let refused = refused.unwrap();
    assert_eq!(refused["id"], "s20");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    // Completing one frees a place at once: the socket reads its frames in order.
    ws.send_json(json!({"type": "complete", "id": "s0"})).await;
    ws.subscribe("again", "subscription { lobby { __typename } }", json!({})).await;
    let m = ws.recv().await.unwrap();
    assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("next"), Some("again")));
}

#[tokio::test]
async fn internal_details_never_reach_clients_and_unknown_paths_get_the_book_404() {
    let app = TestApp::spawn().await;
    let resp = app.http().delete(format!("{}/room/x", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    // The seed's sentence, now inside the styled 404 page (issue 11).
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("<p id=\"not-found-text\">DELETE /room/x 라우터가 존재하지 않습니다.</p>"));
    let resp = app.http().post(format!("{}/room/x/chat", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 404, "the book's chat route is replaced by GraphQL");
}

#[tokio::test]
async fn healthz_answers_while_the_store_is_reachable() {
    let app = TestApp::spawn().await;
    let resp = app.http().get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("set-cookie").is_none());
    app.assert_a_new_session_sets_a_cookie().await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_lax() {
    // A room's creation is what gives a visitor their session (and the cookie).
    let create = json!({"query": r#"mutation { createRoom(title: "cookie") { id } }"#});
    let app = TestApp::spawn().await;
    let resp = app.http().post(format!("{}/graphql", app.base)).json(&create).send().await.unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("gifchat="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http by default: {cookie}");
    let secure = TestApp::spawn_with(|s| s.web.secure_cookies = true).await;
    let resp = secure.http().post(format!("{}/graphql", secure.base)).json(&create).send().await.unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-gifchat=") && cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn a_forged_session_cookie_gets_a_fresh_identity() {
    let app = TestApp::spawn().await;
    let forged = "gifchat=AAAAAAAAAAAAAAAAAAAAAA";
    // Runs `query` with `cookie`; returns `data` and the session cookie set, if any.
    let run = |cookie: String, query: &'static str| {
        let app = &app;
        async move {
            let resp = app
                .http()
                .post(format!("{}/graphql", app.base))
                .header("cookie", &cookie)
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            // A removal (empty value) of an unknown cookie is not a session.
            let set = resp
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
                .find(|c| c.len() > "gifchat=".len());
            let body: Value = resp.json().await.unwrap();
            (body["data"].clone(), set)
        }
    };
    let me = "{ me { id } }";
    // Looking with a forged cookie: it names nobody, and nothing is issued for it.
    assert_eq!(run(forged.to_owned(), me).await, (json!({ "me": null }), None));
    // Acting with it: the server issues its own session id; the forged one is not adopted (no fixation).
    let (created, set) = run(forged.to_owned(), r#"mutation { createRoom(title: "mine") { owner { id } } }"#).await;
    let id = created["createRoom"]["owner"]["id"].as_str().expect("the creator has an identity").to_owned();
    let issued = set.expect("a fresh session cookie is issued");
    assert!(issued.starts_with("gifchat=") && issued != forged, "{issued}");
    // Positive control: the issued cookie carries that identity on the next request ...
    assert_eq!(run(issued, me).await.0["me"]["id"], id.as_str());
    // ... while the forged one still names nobody.
    assert_eq!(run(forged.to_owned(), me).await.0["me"], Value::Null, "the forged id was adopted as a session");
}

#[tokio::test]
async fn requests_naming_rooms_that_do_not_exist_leave_no_state_behind() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let before = app.hub.live_rooms();
    for _ in 0..50 {
        let id = ulid::Ulid::new().to_string();
        let other = ulid::Ulid::new().to_string();
        for (q, vars) in [
            ("mutation($r: ID!) { leaveRoom(id: $r) }", json!({ "r": id })),
            ("mutation($r: ID!) { deleteRoom(id: $r) }", json!({ "r": id })),
            ("mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }", json!({ "r": id, "m": other })),
            (
                "mutation($r: ID!, $m: ID!) { transferOwnership(roomId: $r, memberId: $m) { id } }",
                json!({ "r": id, "m": other }),
            ),
        ] {
            assert_eq!(m.err_code(q, vars).await, "NOT_FOUND");
        }
    }
    assert_eq!(app.hub.live_rooms(), before, "200 requests for unknown rooms grew the hub's state");
    // Positive control: a real room someone enters does get live state.
    let room = m.create_room("real", 5, None).await;
    let mut ws = m.join(&room, None).await;
    ws.next_event("r").await;
    assert_eq!(app.hub.live_rooms(), before + 1);
}

#[tokio::test]
async fn a_kicked_member_can_no_longer_read_the_rooms_history() {
    let app = TestApp::spawn().await;
    let (owner, kicked) = (app.member(), app.member());
    let room = owner.create_room("kick history", 5, None).await;
    let mut wo = owner.join(&room, None).await;
    wo.next_event("r").await;
    let mut wk = kicked.join(&room, None).await;
    wk.next_event("r").await;
    let history = "query($r: ID!) { messages(roomId: $r) { seq text } }";
    // Positive control: a member reads the history.
    assert!(kicked.ok(history, json!({ "r": room })).await["messages"].is_array());
    let kicked_id = kicked.me().await.0;
    owner
        .ok("mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }", json!({ "r": room, "m": kicked_id }))
        .await;
    owner.send(&room, "said after the kick").await;
    let refused = kicked.gql(history, json!({ "r": room })).await;
    let ext = &refused["errors"][0]["extensions"];
    assert_eq!((ext["code"].as_str(), ext["reason"].as_str()), (Some("FORBIDDEN"), Some("REMOVED")), "{refused}");
    assert_eq!(refused["data"], Value::Null, "no history at all: {refused}");
    // Positive control: the message is there for a member.
    assert!(owner.ok(history, json!({ "r": room })).await.to_string().contains("said after the kick"));
}

#[tokio::test]
async fn a_kicked_subscriber_that_lagged_past_its_kick_is_still_closed_as_kicked() {
    use futures::StreamExt;
    let app = TestApp::spawn_with(|s| s.hub.replay_cap = 100_000).await;
    let (owner, kicked) = (app.member(), app.member());
    let room = owner.create_room("lagging kick", 5, None).await;
    let mut wo = owner.join(&room, None).await;
    wo.next_event("r").await;
    assert_eq!(kicked.enter(&room).await, None);
    let kicked_id = crate::api::member_id(&kicked).await;
    // Not polled while far more than the bus buffers (256) is posted, the kick in the middle of it.
    let stream = app.hub.join(&crate::api::parse_room(&room), &kicked_id, None, false, None).await.expect("join");
    let mut stream = Box::pin(stream);
    for i in 0..300 {
        owner.send(&room, &format!("m{i}")).await;
    }
    owner
        .ok(
            "mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }",
            json!({ "r": room, "m": kicked_id.to_string() }),
        )
        .await;
    for i in 0..300 {
        owner.send(&room, &format!("n{i}")).await;
    }
    let end = loop {
        let item = tokio::time::timeout(WAIT, stream.next()).await.expect("stream stalled").expect("stream ended");
        if let gifchat::hub::RoomUpdate::Closed(reason) = item {
            break reason;
        }
    };
    assert_eq!(end, gifchat::hub::ClosedReason::Kicked);
    assert!(stream.next().await.is_none(), "nothing after the kick");
}
