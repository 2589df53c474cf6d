//! Clients that never finish: half a request's headers (slowloris), a body that stops arriving, and a
//! shutdown with such a request still open.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Reads until the server closes the connection (or `limit` passes); returns what it sent.
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(limit, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|_| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn half_a_request_is_cut_off_after_the_header_timeout() {
    let app = TestApp::spawn_with(|s| s.web.header_read_timeout = Duration::from_millis(500)).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    // Positive control: meanwhile a complete request on another connection is answered.
    let mut fine = TcpStream::connect(app.addr).await.unwrap();
    fine.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut fine, WAIT).await.expect("a complete request is answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The incomplete one is closed by the server (within the timeout plus slack; it would hang forever).
    assert!(read_until_closed(&mut slow, WAIT).await.is_some(), "the half request was never cut off");
}

#[tokio::test]
async fn shutdown_returns_within_its_bound_while_a_request_body_is_still_arriving() {
    let app = TestApp::spawn_with(|s| {
        s.web.shutdown_bound = Duration::from_millis(800);
        // Longer than the test: only the shutdown bound can end the stalled request here.
        s.web.body_progress_timeout = Duration::from_secs(60);
    })
    .await;
    let m = app.member();
    m.create_room("a session", 5, None).await;
    let cookie = m.cookie_header().unwrap();
    let mut stalled = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"query\":"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let handle = app.stop().await;
    tokio::time::timeout(WAIT, handle).await.expect("serve returned despite the stalled request").unwrap().unwrap();
}

#[tokio::test]
async fn a_body_that_stops_arriving_fails_its_request() {
    let app = TestApp::spawn_with(|s| s.web.body_progress_timeout = Duration::from_millis(500)).await;
    let m = app.member();
    m.create_room("a session", 5, None).await;
    let cookie = m.cookie_header().unwrap();
    let mut stalled = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{{\"query\":"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stalled, WAIT).await.expect("the stalled request was never ended");
    assert!(answer.starts_with("HTTP/1.1 4"), "a client error, not a hang: {answer}");
    // Positive control: the same request sent whole is answered normally.
    let d = m.ok("{ me { id } }", serde_json::json!({})).await;
    assert!(d["me"]["id"].is_string());
}

#[tokio::test]
async fn an_upload_from_someone_not_in_the_room_is_refused_before_its_body_is_read() {
    let app = TestApp::spawn().await;
    let (owner, stranger) = (app.member(), app.member());
    let room = owner.create_room("uploads", 5, None).await;
    // A stranger with a session (entered, never seated), so the refusal is about the seat.
    assert_eq!(stranger.enter(&room).await, None);
    let cookie = stranger.cookie_header().unwrap();
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    // Announces 4 MB and sends only the start: a server that read the body first would wait forever here.
    let head = format!(
        "POST /room/{room}/gif HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 4000000\r\nConnection: close\r\n\r\n--XYZ\r\nContent-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\n\r\nGIF89a",
        app.addr
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut tcp, WAIT).await.expect("refused without waiting for the body");
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert_eq!(app.stored_gif_count().await, 0);
}

/// Reads one HTTP/1.1 response (head and a `Content-Length` body) from a connection that stays open.
async fn read_one_response(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                if got.len() >= end + 4 + length {
                    return;
                }
            }
            let n = tcp.read(&mut buf).await.expect("the connection stays open for the response");
            assert!(n > 0, "closed before the response was whole: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("a response");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    // hyper 1.x starts its header-read timer whenever it waits for a request head, also the next one on a
    // kept-alive connection, so this one setting bounds the idle wait between requests too.
    let app = TestApp::spawn_with(|s| s.web.header_read_timeout = Duration::from_millis(1500)).await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    tcp.write_all(request).await.unwrap();
    let first = read_one_response(&mut tcp).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Positive control: the connection is kept alive and reusable before the bound.
    tcp.write_all(request).await.unwrap();
    let second = read_one_response(&mut tcp).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    // Then silence: the server closes the connection (it would otherwise stay open forever).
    let rest = read_until_closed(&mut tcp, WAIT).await.expect("the idle connection was never closed");
    assert!(!rest.starts_with("HTTP/1.1 2"), "nothing but the close (or a 408): {rest}");
}
