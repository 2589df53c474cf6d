//! GIF uploads and serving: the corpus of item 7, membership, headers, deletion with the room.

use serde_json::{json, Value};

use crate::api::{member_id, parse_room};
use crate::gif_corpus as corpus;
use crate::support::*;

async fn upload(m: &Member, room: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("evil.html").mime_str("text/html").unwrap();
    let form = reqwest::multipart::Form::new().part("gif", part);
    m.http.post(format!("{}/room/{room}/gif", m.base)).multipart(form).send().await.expect("upload")
}

async fn seated(app: &TestApp) -> (Member, String, Ws) {
    let m = app.member();
    let room = m.create_room("gifs", 5, None).await;
    let mut ws = m.join(&room, None).await;
    ws.next_event("r").await;
    let id = member_id(&m).await;
    assert!(app.hub.is_member(&parse_room(&room), &id).await);
    (m, room, ws)
}

#[tokio::test]
async fn a_valid_animated_gif_is_stored_announced_and_served_safely() {
    let app = TestApp::spawn().await;
    let (m, room, mut ws) = seated(&app).await;
    let gif = corpus::animated_gif();
    let resp = upload(&m, &room, gif.clone()).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let url = body["url"].as_str().unwrap().to_owned();
    assert!(!url.contains("evil"), "the client's filename is never used: {url}");
    let event = ws.next_event("r").await;
    assert_eq!(event["kind"], "GIF");
    assert_eq!(event["gifUrl"], url.as_str());
    let served = app.http().get(format!("{}{url}", app.base)).send().await.unwrap();
    assert_eq!(served.status(), 200);
    let h = served.headers();
    assert_eq!(h["content-type"], "image/gif");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
    assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(h.get("set-cookie").is_none(), "serving a GIF never creates a session");
    assert_eq!(served.bytes().await.unwrap().to_vec(), gif);
    app.assert_a_new_session_sets_a_cookie().await;
}

#[tokio::test]
async fn html_appended_after_the_trailer_is_dropped() {
    let app = TestApp::spawn().await;
    let (m, room, _ws) = seated(&app).await;
    let resp = upload(&m, &room, corpus::gif_with_html_appended()).await;
    assert_eq!(resp.status(), 201);
    let url = resp.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
    let served = app.http().get(format!("{}{url}", app.base)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(served.to_vec(), corpus::animated_gif());
    assert_eq!(served.last(), Some(&0x3B));
}

#[tokio::test]
async fn the_hostile_corpus_is_refused_with_a_clear_message_and_nothing_is_posted() {
    let app = TestApp::spawn().await;
    let (m, room, mut ws) = seated(&app).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("png renamed .gif", corpus::png_bytes(), "not a GIF"),
        ("GIF89a<html>", corpus::gif_magic_then_html(), "damaged"),
        ("truncated", corpus::truncated_gif(), "incomplete"),
        ("65535x65535 header", corpus::huge_dimensions_gif(), "too large"),
        ("5000 frames", corpus::many_frames_gif(5000), "too many frames"),
        ("empty", Vec::new(), "not a GIF"),
    ];
    for (what, bytes, message) in cases {
        let resp = upload(&m, &room, bytes).await;
        assert_eq!(resp.status(), 422, "{what}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "INVALID_INPUT", "{what}: {body}");
        let text = body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{what}: {text}");
    }
    assert_eq!(ws.quiet_for(std::time::Duration::from_millis(200)).await, None, "no event for a refused upload");
    let files = app.stored_gif_count().await;
    assert_eq!(files, 0, "nothing stored");
    // Positive control: a valid upload on the same socket and store is announced next and stored.
    assert_eq!(upload(&m, &room, corpus::animated_gif()).await.status(), 201);
    assert_eq!(ws.next_event("r").await["kind"], "GIF");
    assert_eq!(app.stored_gif_count().await, 1);
}

#[tokio::test]
async fn an_oversize_upload_is_refused() {
    let app = TestApp::spawn().await;
    let (m, room, _ws) = seated(&app).await;
    let resp = upload(&m, &room, corpus::oversize_gif(6 * 1024 * 1024)).await;
    // Refused by the handler as the bytes arrive (the body limit sits above the GIF cap), with its reason.
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("larger than 5 MiB"), "{body}");
}

#[tokio::test]
async fn uploads_need_a_seat_a_form_field_named_gif_and_a_real_room() {
    let app = TestApp::spawn().await;
    let (m, room, _ws) = seated(&app).await;
    let outsider = app.member();
    // Without a session (nobody can be seated then), and with one but without a seat.
    let resp = upload(&outsider, &room, corpus::animated_gif()).await;
    assert_eq!(resp.status(), 403);
    assert!(outsider.cookie_header().is_none(), "a refused upload creates no session");
    assert_eq!(outsider.enter(&room).await, None);
    let resp = upload(&outsider, &room, corpus::animated_gif()).await;
    assert_eq!(resp.status(), 403);
    let resp = upload(&m, "01ARZ3NDEKTSV4RRFFQ69G5FAV", corpus::animated_gif()).await;
    assert_eq!(resp.status(), 403, "no seat in a room that does not exist");
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(corpus::animated_gif()));
    let resp = m.http.post(format!("{}/room/{room}/gif", m.base)).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("`gif`"));
    let resp = m.http.post(format!("{}/room/{room}/gif", m.base)).body("not multipart").send().await.unwrap();
    assert_eq!(resp.status(), 400, "not multipart at all");
}

#[tokio::test]
async fn uploads_are_rate_limited_per_member() {
    let app = TestApp::spawn_with(|s| s.hub.limits.uploads.member = 2).await;
    let (m, room, _ws) = seated(&app).await;
    assert_eq!(upload(&m, &room, corpus::animated_gif()).await.status(), 201);
    assert_eq!(upload(&m, &room, corpus::animated_gif()).await.status(), 201);
    let resp = upload(&m, &room, corpus::animated_gif()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn deleting_a_room_deletes_its_gifs() {
    let app = TestApp::spawn().await;
    let (m, room, _ws) = seated(&app).await;
    let url = upload(&m, &room, corpus::animated_gif()).await.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    m.ok("mutation($id: ID!) { deleteRoom(id: $id) }", json!({"id": room})).await;
    let resp = app.http().get(format!("{}{url}", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(app.stored_gif_count().await, 0);
}

#[tokio::test]
async fn gif_names_that_are_not_ours_are_not_found() {
    let app = TestApp::spawn().await;
    for path in ["/gif/..%2Fgifchat.sqlite3", "/gif/abc.gif", "/gif/00000000000000000000000000000000.gif"] {
        let resp = app.http().get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
}
