//! The official `graphql-ws` JavaScript client (npm, see tests/js) subscribes and receives.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

#[tokio::test]
async fn the_official_graphql_ws_client_subscribes_and_receives() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/graphql-ws-client.mjs");
    assert!(
        script.with_file_name("node_modules").join("graphql-ws").exists(),
        "run `npm ci --prefix tests/js` first (.ci/run does)"
    );
    let app = TestApp::spawn().await;
    let a = app.member();
    let room = a.create_room("js client", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    let url = format!("ws://{}/graphql/ws", app.addr);
    // The JS client's visitor entered the room over HTTP first, as a browser opening its page does.
    let js = app.member();
    assert_eq!(js.enter(&room).await, None);
    let cookie = js.cookie_header().expect("entering gave a session");
    let mut child = tokio::process::Command::new("node")
        .arg(&script)
        .args([url.as_str(), room.as_str(), "2", cookie.as_str()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let lobby = next(&mut lines).await;
    assert!(lobby.starts_with("LOBBY ") && lobby.contains("js client"), "{lobby}");
    assert_eq!(next(&mut lines).await, "READY");
    let joined = next(&mut lines).await;
    assert!(joined.starts_with("EVENT ") && joined.contains("JOINED"), "{joined}");
    a.send(&room, "hello from rust").await;
    let message = next(&mut lines).await;
    assert!(
        message.starts_with("EVENT ") && message.contains("hello from rust") && message.contains("MESSAGE"),
        "{message}"
    );
    let status = tokio::time::timeout(WAIT, child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
}

async fn next(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> String {
    tokio::time::timeout(WAIT, lines.next_line()).await.expect("node output").unwrap().expect("a line")
}
