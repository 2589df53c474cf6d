//! Sessions are written only when needed: looking (pages, queries, the lobby over a socket) stores no
//! session and sets no cookie; creating or entering a room does, exactly once. Active use slides the
//! expiry forward (a few writes per idle period, never one per request); an idle session expires. Unknown,
//! forged and garbage cookies name nobody and create nothing.

use std::time::Duration;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::support::*;

/// The session cookie a response sets (`name=value`), ignoring removals (an empty value).
fn session_set(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("gifchat=") && !c.starts_with("gifchat=;"))
}

/// `Max-Age` of a Set-Cookie line, in seconds.
fn max_age(set_cookie: &str) -> i64 {
    set_cookie
        .split(';')
        .find_map(|p| p.trim().strip_prefix("Max-Age="))
        .unwrap_or_else(|| panic!("no Max-Age: {set_cookie}"))
        .parse()
        .unwrap()
}

/// POSTs one GraphQL operation with an optional Cookie header; returns the body and the session set.
async fn post_gql(app: &TestApp, cookie: Option<&str>, query: &str, variables: Value) -> (Value, Option<String>) {
    let mut req = app.http().post(format!("{}/graphql", app.base));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = req.json(&json!({ "query": query, "variables": variables })).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let set = session_set(&resp);
    (resp.json().await.unwrap(), set)
}

/// GETs a page with an optional Cookie header; returns the status, the session set and the HTML.
async fn get_page(app: &TestApp, cookie: Option<&str>, path: &str) -> (u16, Option<String>, String) {
    let mut req = app.http().get(format!("{}{path}", app.base));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = req.send().await.unwrap();
    let set = session_set(&resp);
    (resp.status().as_u16(), set, resp.text().await.unwrap())
}

/// The ids of the stored session rows.
async fn session_ids(app: &TestApp) -> Vec<String> {
    app.session_rows().await.into_iter().map(|(id, _, _)| id).collect()
}

#[tokio::test]
async fn looking_at_pages_and_queries_creates_no_session_and_sets_no_cookie() {
    let app = TestApp::spawn().await;
    let owner = app.member();
    let public = owner.create_room("구경만 하는 방", 5, None).await;
    let secret = owner.create_room("비밀방", 5, Some("pw")).await;
    let full = owner.create_room("꽉 찬 방", 2, None).await;
    let _seats = [owner.join(&full, None).await, {
        let guest = app.member();
        guest.join(&full, None).await
    }];
    eventually("the full room is full", || async {
        let d = owner.ok("query($r: ID!) { room(id: $r) { full } }", json!({ "r": full })).await;
        (d["room"]["full"] == true).then_some(())
    })
    .await;
    let before = session_ids(&app).await;
    assert_eq!(before.len(), 2, "the owner's and the guest's: {before:?}");

    // Pages: the lobby (and its search), a secret room's password form, a full room, a missing room.
    for path in
        ["/", "/?q=방", &format!("/room/{secret}"), &format!("/room/{full}"), "/room/01ARZ3NDEKTSV4RRFFQ69G5FAV"]
    {
        let (status, set, html) = get_page(&app, None, path).await;
        assert!(status < 500, "{path}: {status}");
        assert_eq!(set, None, "{path} set a session cookie");
        if path == "/" {
            assert!(
                html.contains("방을 만들거나 방에 들어가면 내 색이 정해집니다."),
                "the lobby says when a colour comes"
            );
            assert!(
                html.contains("<p class=\"me no-color\">") && !html.contains("<p class=\"me\">"),
                "no colour for nobody"
            );
        }
    }
    // Queries over HTTP: the room list, one room, its history, who am I.
    let queries = [
        ("{ rooms { totalCount nodes { id title } edges { removed } } }", json!({})),
        ("query($r: ID!) { room(id: $r) { title memberCount } }", json!({ "r": public })),
        ("query($r: ID!) { messages(roomId: $r) { seq } }", json!({ "r": public })),
        ("{ me { id color } }", json!({})),
    ];
    for (q, vars) in queries {
        let (body, set) = post_gql(&app, None, q, vars).await;
        assert!(body.get("errors").is_none(), "{q}: {body}");
        assert_eq!(set, None, "{q} set a session cookie");
    }
    assert_eq!(post_gql(&app, None, "{ me { id } }", json!({})).await.0["data"]["me"], Value::Null);
    // A refused member-only action is no reason to remember anyone either.
    let (body, set) = post_gql(
        &app,
        None,
        "mutation($r: ID!) { sendMessage(roomId: $r, text: \"hi\") { seq } }",
        json!({ "r": public }),
    )
    .await;
    assert_eq!((body["errors"][0]["extensions"]["code"].as_str(), set), (Some("FORBIDDEN"), None));
    assert_eq!(session_ids(&app).await, before, "looking stored a session");

    // Positive controls: creating a room stores exactly one session and sets its cookie ...
    let (body, set) =
        post_gql(&app, None, r#"mutation { createRoom(title: "내 방") { owner { id } } }"#, json!({})).await;
    let set = set.expect("createRoom sets the session cookie");
    let after_create = session_ids(&app).await;
    assert_eq!(after_create.len(), before.len() + 1, "{after_create:?}");
    let cookie = set.split(';').next().unwrap().to_owned();
    assert!(after_create.contains(&cookie["gifchat=".len()..].to_owned()), "the cookie names the new row");
    let (me, again) = post_gql(&app, Some(&cookie), "{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"]["id"], body["data"]["createRoom"]["owner"]["id"]);
    assert_eq!(again, None, "a fresh session is not written again on its next use");
    // ... and so does opening a room's link, which lets the visitor in (the page is theirs to chat on).
    let (status, set, html) = get_page(&app, None, &format!("/room/{public}")).await;
    assert_eq!(status, 200);
    let cookie = set.expect("opening a room sets the session cookie");
    let cookie = cookie.split(';').next().unwrap();
    assert_eq!(session_ids(&app).await.len(), before.len() + 2);
    let (me, _) = post_gql(&app, Some(cookie), "{ me { id } }", json!({})).await;
    let me = me["data"]["me"]["id"].as_str().unwrap().to_owned();
    assert!(html.contains(&format!("data-me=\"{me}\"")), "the page is rendered for the session's member");
}

/// Opens a socket (with an optional Cookie), returning it and whether its handshake set a cookie.
async fn raw_socket(app: &TestApp, cookie: Option<&str>) -> (Ws, bool) {
    let mut req = format!("ws://{}/graphql/ws", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", HeaderValue::from_str(c).unwrap());
    }
    let (inner, resp) = tokio_tungstenite::connect_async(req).await.expect("upgrade");
    let set = resp.headers().get_all("set-cookie").iter().any(|v| !v.to_str().unwrap().starts_with("gifchat=;"));
    let mut ws = Ws::from_raw(inner);
    ws.init().await;
    (ws, set)
}

/// The first message for operation `id`.
async fn first_for(ws: &mut Ws, id: &str) -> Value {
    loop {
        let m = ws.recv().await.expect("socket open");
        if m["id"] == id {
            return m;
        }
    }
}

#[tokio::test]
async fn a_socket_without_a_session_watches_the_lobby_but_an_action_is_refused_with_no_session() {
    let app = TestApp::spawn().await;
    let owner = app.member();
    let room = owner.create_room("소켓 방", 5, None).await;
    let before = session_ids(&app).await;

    let (mut ws, set) = raw_socket(&app, None).await;
    assert!(!set, "the upgrade of a cookie-less visitor set a cookie");
    ws.subscribe("l", "subscription { lobby { __typename ... on LobbySnapshot { rooms { id } } } }", json!({})).await;
    let snapshot = first_for(&mut ws, "l").await;
    assert_eq!(snapshot["payload"]["data"]["lobby"]["rooms"][0]["id"], room.as_str(), "{snapshot}");
    ws.subscribe("me", "{ me { id } }", json!({})).await;
    assert_eq!(first_for(&mut ws, "me").await["payload"]["data"]["me"], Value::Null);
    // Actions that need an identity cannot create one here: there is no response to carry its cookie.
    ws.subscribe_room("r", &room, None).await;
    let refused = first_for(&mut ws, "r").await;
    assert_eq!(
        (refused["type"].as_str(), refused["payload"][0]["extensions"]["code"].as_str()),
        (Some("error"), Some("NO_SESSION")),
        "{refused}"
    );
    ws.subscribe("c", r#"mutation { createRoom(title: "socket room") { id } }"#, json!({})).await;
    let refused = first_for(&mut ws, "c").await;
    assert_eq!(refused["payload"][0]["extensions"]["code"], "NO_SESSION", "{refused}");
    ws.subscribe("e", "mutation($r: ID!) { enterRoom(id: $r) { id } }", json!({ "r": room })).await;
    let refused = first_for(&mut ws, "e").await;
    assert_eq!(refused["payload"][0]["extensions"]["code"], "NO_SESSION", "{refused}");
    // The lobby subscription is still live on the same socket.
    owner.create_room("두 번째 방", 5, None).await;
    loop {
        let m = first_for(&mut ws, "l").await;
        if m["payload"]["data"]["lobby"]["__typename"] == "RoomCreated" {
            break;
        }
    }
    assert_eq!(session_ids(&app).await, before, "the socket stored a session");
    let rooms = owner.ok("{ rooms { totalCount } }", json!({})).await;
    assert_eq!(rooms["rooms"]["totalCount"], 2, "the refused createRoom made no room");

    // Positive control: the same visitor enters over HTTP (one session, with its cookie), then a socket
    // carrying that cookie takes the seat.
    let visitor = app.member();
    assert_eq!(visitor.enter(&room).await, None);
    assert_eq!(session_ids(&app).await.len(), before.len() + 1);
    let (mut ws, _) = raw_socket(&app, visitor.cookie_header().as_deref()).await;
    ws.subscribe_room("r", &room, None).await;
    let joined = ws.next_event("r").await;
    assert_eq!(
        (joined["kind"].as_str(), joined["member"]["id"].as_str()),
        (Some("JOINED"), Some(visitor.me().await.0.as_str()))
    );
}

#[tokio::test]
async fn an_active_session_slides_its_expiry_forward_and_an_idle_one_expires() {
    // Idle period 4 s: a use re-saves once 0.4 s passed since the last write. The active member uses the
    // session every 1.2 s until well past the first expiry; the idle one is left alone.
    let idle = Duration::from_secs(4);
    let app = TestApp::spawn_with(|s| s.web.session_idle = idle).await;
    let (active, idler) = (app.member(), app.member());
    let room = active.create_room("매일 오는 방", 5, None).await;
    assert_eq!(idler.enter(&room).await, None);
    let (active_id, _) = active.me().await;
    let (idler_id, _) = idler.me().await;
    // Replayed by hand later, as a stale browser would, so that the server alone decides it expired.
    let idler_cookie = idler.cookie_header().unwrap();
    let rows = app.session_rows().await;
    assert_eq!(rows.len(), 2);
    let expiry_of = |rows: &[(String, String, i64)], member: &str| {
        rows.iter().find(|(_, data, _)| data.contains(member)).map(|r| r.2).expect("the member's row")
    };
    let first_expiry = expiry_of(&rows, &active_id);
    let started = std::time::Instant::now();

    let mut refreshed_max_age = None;
    while started.elapsed() < idle + Duration::from_millis(800) {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let resp = active.http.get(format!("{}/", active.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        if let Some(set) = session_set(&resp) {
            refreshed_max_age = Some(max_age(&set));
        }
        // The jar drops a cookie past its Max-Age, as a browser does: only a refreshed cookie survives.
        assert_eq!(
            active.me_opt().await.map(|m| m.0).as_deref(),
            Some(active_id.as_str()),
            "after {:?}",
            started.elapsed()
        );
    }
    assert!(started.elapsed() > idle, "the active member outlived the first expiry");
    assert_eq!(refreshed_max_age, Some(idle.as_secs() as i64), "the cookie's Max-Age was sent again");
    let rows = app.session_rows().await;
    let moved = expiry_of(&rows, &active_id);
    assert!(moved > first_expiry + 3000, "the stored expiry moved forward: {first_expiry} → {moved}");
    // Still one row for the active member: the refresh re-saved it, it did not mint another.
    assert_eq!(rows.iter().filter(|(_, data, _)| data.contains(&active_id)).count(), 1);

    // The idle member's session has expired: their cookie names nobody now, and looking mints nothing.
    let (body, set) = post_gql(&app, Some(&idler_cookie), "{ me { id } }", json!({})).await;
    assert_eq!((body["data"]["me"].clone(), set), (Value::Null, None), "the idle session outlived its idle period");
    // Positive control for that cookie: before, it named the idle member (checked above with `me`).
    let (body, _) =
        post_gql(&app, Some(&idler_cookie), "mutation($r: ID!) { enterRoom(id: $r) { id } }", json!({ "r": room }))
            .await;
    assert!(body.get("errors").is_none(), "{body}");
    let rows = app.session_rows().await;
    assert!(
        !rows.iter().any(|(_, data, exp)| data.contains(&idler_id) && *exp > gifchat::domain::now_millis()),
        "an expired identity is never revived"
    );
}

#[tokio::test]
async fn using_a_session_does_not_write_it_on_every_request() {
    let app = TestApp::spawn().await; // the default idle period (30 days): no use here is due a re-save
    let m = app.member();
    let room = m.create_room("조용한 방", 5, None).await;
    let rows = app.session_rows().await;
    let cookie = m.cookie_header().unwrap();
    for _ in 0..5 {
        let (_, set, _) = get_page(&app, Some(&cookie), "/").await;
        assert_eq!(set, None, "a session not due for its refresh was written again");
        let (body, set) =
            post_gql(&app, Some(&cookie), "query($r: ID!) { messages(roomId: $r) { seq } }", json!({ "r": room }))
                .await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(set, None);
    }
    assert_eq!(app.session_rows().await, rows, "the stored session changed although nothing needed saving");
}

#[tokio::test]
async fn unknown_forged_and_garbage_cookies_name_nobody_and_create_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.member();
    let room = owner.create_room("쿠키 방", 5, None).await;
    let before = session_ids(&app).await;
    let garbage = [
        "gifchat=AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        format!("gifchat={}", "A".repeat(4096)),
        format!("gifchat={}", "%00<script>\"';".repeat(500)),
        "gifchat=; gifchat=zzz; gifchat=AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        format!("gifchat={}", before[0].replace(|c: char| c.is_ascii_alphabetic(), "x")),
        format!("other={}; gifchat=", "b".repeat(8000)),
    ];
    for cookie in &garbage {
        let (status, set, _) = get_page(&app, Some(cookie), "/").await;
        assert_eq!((status, set), (200, None), "{:.40}", cookie);
        let (body, set) = post_gql(&app, Some(cookie), "{ me { id } rooms { totalCount } }", json!({})).await;
        assert_eq!((body["data"]["me"].clone(), set), (Value::Null, None), "{:.40}: {body}", cookie);
        let (status, set, _) = get_page(&app, Some(cookie), &format!("/room/{room}/nope")).await;
        assert_eq!((status, set), (404, None));
    }
    // Far past any real cookie (a session id is 22 characters): answered without a session or an error.
    let huge = format!("gifchat={}", "A".repeat(200_000));
    let (status, set, _) = get_page(&app, Some(&huge), "/").await;
    assert_eq!((status, set), (200, None));
    assert_eq!(session_ids(&app).await, before, "a bad cookie stored a session");

    // Positive control: acting with a garbage cookie creates one session under an id of the server's own.
    let (body, set) =
        post_gql(&app, Some(&garbage[2]), "mutation($r: ID!) { enterRoom(id: $r) { id } }", json!({ "r": room })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let issued = set.expect("entering issues a session");
    let after = session_ids(&app).await;
    assert_eq!(after.len(), before.len() + 1);
    let id = issued.split(';').next().unwrap().trim_start_matches("gifchat=").to_owned();
    assert!(after.contains(&id) && id.len() == 22, "{id}");
    // The server still answers normally afterwards.
    let mut ws = owner.join(&room, None).await;
    assert_eq!(ws.next_event("r").await["kind"], "JOINED");
}
