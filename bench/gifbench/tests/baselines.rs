//! The baselines' input boundaries, with hostile input: the bare server (in process) and the Socket.IO
//! server (node, its packages installed by `npm ci` when missing). Bad input gets a clear error, changes
//! nothing, and the same connection still works afterwards.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Every read in these tests is bounded.
const WAIT: Duration = Duration::from_secs(20);

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame (skipping pings), within WAIT.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time").expect("open").expect("ok");
        if let Message::Text(t) = msg {
            return t.as_str().to_owned();
        }
    }
}

/// POSTs `body` (raw) and returns (status, JSON answer).
async fn post(base: &str, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .timeout(WAIT)
        .send()
        .await
        .expect("answered");
    let status = res.status().as_u16();
    (status, serde_json::from_slice(&res.bytes().await.expect("body")).expect("JSON answer"))
}

/// The hostile bodies both baselines must refuse on `POST /send`.
fn hostile_sends() -> Vec<String> {
    vec![
        "not json".into(),
        "{}".into(),
        json!({ "room": "r", "text": "" }).to_string(),
        json!({ "room": "", "text": "hi" }).to_string(),
        json!({ "room": "r", "text": "x".repeat(1001) }).to_string(),
        json!({ "room": ["r"], "text": "hi" }).to_string(),
        json!({ "room": "r", "text": 5 }).to_string(),
        "{\"room\":\"r\",\"text\":\"hi\"".into(),
    ]
}

#[tokio::test]
async fn the_bare_server_refuses_bad_input_and_keeps_serving() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(gifbench::bare::serve(listener));
    let base = format!("http://127.0.0.1:{port}");

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")).await.expect("connect");
    for hostile in
        ["garbage", "{\"type\":\"join\"}", "{\"type\":\"leave\",\"room\":\"r\"}", "{\"type\":\"join\",\"room\":\"\"}"]
    {
        ws.send(Message::Text(hostile.into())).await.expect("send");
        let answer: Value = serde_json::from_str(&next_text(&mut ws).await).expect("JSON");
        assert_eq!(answer["type"], "error", "{hostile}: {answer}");
    }
    ws.send(Message::Binary(vec![0xff, 0x00].into())).await.expect("send");
    assert!(next_text(&mut ws).await.contains("text frames only"));
    // The same socket still joins and receives.
    ws.send(Message::Text(json!({ "type": "join", "room": "r" }).to_string().into())).await.expect("send");
    assert!(next_text(&mut ws).await.contains(r#""type":"joined""#));

    for body in hostile_sends() {
        let (status, answer) = post(&base, "/send", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(answer["error"].is_string(), "{body}: {answer}");
    }
    // Nothing refused took a number or reached the room: the first good message is seq 1 and is the
    // next frame on the socket.
    let (status, answer) = post(&base, "/send", json!({ "room": "r", "text": "hello" }).to_string()).await;
    assert_eq!((status, answer["seq"].as_u64()), (200, Some(1)));
    let frame: Value = serde_json::from_str(&next_text(&mut ws).await).expect("JSON");
    assert_eq!((frame["seq"].as_u64(), frame["text"].as_str()), (Some(1), Some("hello")));

    let (status, _) = post(&base, "/rooms", json!({ "title": "" }).to_string()).await;
    assert_eq!(status, 400);
    let (status, answer) = post(&base, "/rooms", json!({ "title": "t" }).to_string()).await;
    assert_eq!((status, answer["id"].as_str()), (200, Some("r1")));
    server.abort();
}

/// A node process, killed on drop.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads until the Engine.IO packet starting with `prefix`, answering pings.
async fn sio_until(ws: &mut Ws, prefix: &str) -> String {
    loop {
        let t = next_text(ws).await;
        if t == "2" {
            ws.send(Message::Text("3".into())).await.expect("pong");
        } else if t.starts_with(prefix) {
            return t;
        }
    }
}

#[tokio::test]
async fn the_socketio_server_refuses_bad_input_and_keeps_serving() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../socketio");
    if !dir.join("node_modules/socket.io/package.json").exists() {
        let st =
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).status().expect("npm runs");
        assert!(st.success(), "npm ci in bench/socketio failed");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let _node = Node(
        Command::new("node")
            .arg(dir.join("server.js"))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("node runs"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = async {
        loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(WAIT, ready).await.expect("server answers /healthz");

    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
    assert!(sio_until(&mut ws, "0").await.contains("\"sid\""));
    ws.send(Message::Text("40".into())).await.expect("send");
    sio_until(&mut ws, "40").await;
    // A join with a bad room is refused in the ack; the socket stays usable.
    ws.send(Message::Text(format!("420{}", json!(["join", ""])).into())).await.expect("send");
    assert!(sio_until(&mut ws, "430").await.contains("error"));
    ws.send(Message::Text(format!("421{}", json!(["join", { "not": "a room" }])).into())).await.expect("send");
    assert!(sio_until(&mut ws, "431").await.contains("error"));
    ws.send(Message::Text(format!("422{}", json!(["join", "r"])).into())).await.expect("send");
    assert!(sio_until(&mut ws, "432").await.contains(r#""ok":true"#));

    for body in hostile_sends() {
        let (status, answer) = post(&base, "/send", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(answer["error"].is_string(), "{body}: {answer}");
    }
    let (status, _) = post(&base, "/send", "x".repeat(70 * 1024)).await;
    assert_eq!(status, 400, "an oversized body is refused");
    let (status, answer) = post(&base, "/send", json!({ "room": "r", "text": "hello" }).to_string()).await;
    assert_eq!((status, answer["seq"].as_u64()), (200, Some(1)));
    let frame = sio_until(&mut ws, "42").await;
    assert!(frame.contains(r#""seq":1"#) && frame.contains(r#""text":"hello""#), "{frame}");
}
