//! Restarts and shutdown: data, sessions and colours survive; a restart is not a mass exit; `serve`
//! returns with subscriptions open; SIGTERM exits 0 quickly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_restart_keeps_rooms_messages_sessions_and_colours() {
    let mut app = TestApp::spawn().await;
    let dir = app.take_dir();
    let a = app.member();
    let room = a.create_room("durable", 5, Some("pw")).await;
    let identity = a.me().await;
    let mut ws = a.join(&room, None).await;
    ws.next_event("r").await;
    let seq = a.send(&room, "still here?").await;
    ws.close().await;
    app.stop().await.await.unwrap().unwrap();

    let app = TestApp::spawn_in(dir.path(), |_| {}).await;
    let a = a.at(&app);
    assert_eq!(a.me().await, identity, "same session, same member, same colour");
    let d = a
        .ok("query($r: ID!) { room(id: $r) { title secret } messages(roomId: $r) { seq text } }", json!({"r": room}))
        .await;
    assert_eq!(d["room"]["title"], "durable");
    let texts: Vec<_> = d["messages"].as_array().unwrap().iter().filter(|m| m["seq"] == seq).collect();
    assert_eq!(texts[0]["text"], "still here?");
}

#[tokio::test]
async fn a_restart_posts_no_exits_and_gives_members_one_grace_period_to_return() {
    let mut app = TestApp::spawn_with(|s| s.hub.grace = Duration::from_millis(1500)).await;
    let dir = app.take_dir();
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("restart", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    let mut wb = b.join(&room, None).await;
    let last = wb.next_event("r").await["seq"].as_i64().unwrap();
    app.stop().await.await.unwrap().unwrap();

    let app = TestApp::spawn_in(dir.path(), |s| s.hub.grace = Duration::from_millis(1500)).await;
    let (a, b) = (a.at(&app), b.at(&app));
    // A comes back within the grace period; B does not.
    let mut wa = a.join(&room, Some(last)).await;
    let d = a.ok("query($r: ID!) { messages(roomId: $r) { kind } }", json!({"r": room})).await;
    let kinds: Vec<&str> = d["messages"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["JOINED", "JOINED"], "shutdown posted exits: {d}");
    let left = wa.next_event("r").await;
    assert_eq!(left["kind"], "LEFT", "B's seat is released after the grace period");
    assert_eq!(left["member"]["id"], b.me().await.0.as_str());
    let d = a.ok("query($r: ID!) { room(id: $r) { memberCount } }", json!({"r": room})).await;
    assert_eq!(d["room"]["memberCount"], 1);
    drop(wb);
}

#[tokio::test]
async fn serve_returns_while_a_subscription_is_open_and_sockets_close_with_1001() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let room = m.create_room("open", 5, None).await;
    let mut ws = m.join(&room, None).await;
    ws.next_event("r").await;
    let handle = app.stop().await;
    tokio::time::timeout(WAIT, handle).await.expect("serve returned").unwrap().unwrap();
    use tokio_tungstenite::tungstenite::Message;
    let code = loop {
        match tokio::time::timeout(WAIT, ws.next_frame()).await.expect("the socket ends") {
            Some(Ok(Message::Text(t))) => {
                let m: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                match m["type"].as_str() {
                    Some("next") => assert_eq!(m["payload"]["data"]["room"]["reason"], "SHUTTING_DOWN"),
                    Some("complete") => {}
                    _ => panic!("unexpected {m}"),
                }
            }
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(code, Some(1001), "the socket closes with 1001 Going Away");
}

#[tokio::test]
async fn sigterm_stops_the_binary_with_exit_code_zero() {
    let dir = tempfile::tempdir().unwrap();
    prepare_cli_store(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_gifchat"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(cli_store_env(dir.path()))
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // Keep draining stderr for the child's whole life, so its logging never hits a closed pipe.
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("(http://") {
                let url = &line[at + 1..];
                if let Some(tx) = tx.take() {
                    let _ = tx.send(url[..url.find(')').unwrap()].to_owned());
                }
            }
        }
    });
    let base = tokio::time::timeout(WAIT, rx).await.expect("the server said where it listens").unwrap();
    let m = Member::new(&base);
    let room = m.create_room("term", 5, None).await;
    let mut ws = m.join(&room, None).await;
    ws.next_event("r").await;
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap());
    let status = tokio::time::timeout(Duration::from_secs(5), status).await.expect("exited within 5 s").unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(ws.close_code().await, Some(1001), "the socket closes with 1001 Going Away");
}

#[tokio::test]
async fn an_idle_session_expires_after_the_configured_time() {
    let app = TestApp::spawn_with(|s| s.web.session_idle = Duration::from_secs(1)).await;
    let m = app.member();
    m.create_room("a session", 5, None).await;
    let (first, _) = m.me().await;
    let cookie = m.cookie_header().unwrap();
    // The cookie is replayed by hand, as a stale browser would, so the server alone decides.
    let me_with_cookie = || async {
        let resp = app.http().post(format!("{}/graphql", app.base)).header("cookie", &cookie);
        let body: serde_json::Value =
            resp.json(&json!({"query": "{ me { id } }"})).send().await.unwrap().json().await.unwrap();
        body["data"]["me"]["id"].as_str().map(str::to_owned)
    };
    assert_eq!(me_with_cookie().await, Some(first), "within the idle time the same cookie is the same member");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(me_with_cookie().await, None, "past it the server no longer knows the session");
}
