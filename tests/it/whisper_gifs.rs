//! GIFs uploaded while whispering (issue 11): stored and filtered exactly like text whispers — live,
//! in history, on resume — and the file itself is served only to the pair. Every "the third member
//! does not see it" has its positive control: a public GIF the third member does see.

use serde_json::{json, Value};

use crate::api::member_id;
use crate::gif_corpus as corpus;
use crate::support::*;

/// Uploads `bytes` as the field `gif`, with each `(name, value)` of `extra` as a text field before it.
async fn upload_with(m: &Member, room: &str, extra: &[(&str, &str)], bytes: Vec<u8>) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in extra {
        form = form.text(name.to_string(), value.to_string());
    }
    form = form.part("gif", reqwest::multipart::Part::bytes(bytes).file_name("x.gif"));
    m.http.post(format!("{}/room/{room}/gif", m.base)).multipart(form).send().await.expect("upload")
}

/// The next GIF event on `ws` (skipping joins and other notices).
async fn next_gif(ws: &mut Ws) -> Value {
    loop {
        let e = ws.next_event("r").await;
        if e["kind"] == "GIF" {
            return e;
        }
    }
}

/// `a` owns a room; `b` and `c` are seated in it too. Returns the members, their ids, the room and sockets.
async fn three_in_a_room(app: &TestApp) -> ([Member; 3], [String; 3], String, [Ws; 3]) {
    let (a, b, c) = (app.member(), app.member(), app.member());
    let room = a.create_room("whispers", 5, None).await;
    assert_eq!((b.enter(&room).await, c.enter(&room).await), (None, None));
    let ids = [a.me().await.0, b.me().await.0, c.me().await.0];
    let mut wa = a.join(&room, None).await;
    let mut wb = b.join(&room, None).await;
    let mut wc = c.join(&room, None).await;
    for m in [&a, &b, &c] {
        let id = member_id(m).await;
        eventually("everyone seated", || {
            let (hub, id, room) = (app.hub.clone(), id.clone(), crate::api::parse_room(&room));
            async move { hub.is_member(&room, &id).await.then_some(()) }
        })
        .await;
    }
    // Join notices reach the sockets a moment after the seats are taken: read every socket up to a marker
    // message, so each test starts with nothing pending.
    let marker = a.send(&room, "ready").await;
    for ws in [&mut wa, &mut wb, &mut wc] {
        while ws.next_event("r").await["seq"].as_i64() != Some(marker) {}
    }
    ([a, b, c], ids, room, [wa, wb, wc])
}

/// A hostile-recipient case: what it is, the upload's text fields, the reason expected.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

const HISTORY: &str = "query($r: ID!) { messages(roomId: $r, last: 50) { seq kind gifUrl whispered target { id } } }";

fn gif_urls(history: &Value) -> Vec<String> {
    history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "GIF")
        .map(|e| e["gifUrl"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_whispered_gif_reaches_the_pair_live_in_history_and_on_resume_and_not_the_third_member() {
    let app = TestApp::spawn().await;
    let ([a, b, c], ids, room, [mut wa, mut wb, mut wc]) = three_in_a_room(&app).await;

    let resp = upload_with(&a, &room, &[("to", &ids[1])], corpus::animated_gif()).await;
    assert_eq!(resp.status(), 201);
    let private: Value = resp.json().await.unwrap();
    let private_url = private["url"].as_str().unwrap().to_owned();
    let resp = upload_with(&a, &room, &[], corpus::animated_gif()).await;
    assert_eq!(resp.status(), 201, "the positive control: a public GIF");
    let public_url = resp.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned();

    // Live: the pair gets the whispered GIF with its recipient, then the public one.
    for ws in [&mut wa, &mut wb] {
        let e = next_gif(ws).await;
        assert_eq!(
            (e["gifUrl"].as_str(), e["target"]["id"].as_str()),
            (Some(private_url.as_str()), Some(ids[1].as_str()))
        );
        assert_eq!(next_gif(ws).await["gifUrl"], public_url.as_str());
    }
    // The third member's next GIF is the public one: the whispered one never came.
    let seen = next_gif(&mut wc).await;
    assert_eq!(seen["gifUrl"], public_url.as_str(), "c sees the public GIF first, not the whisper: {seen}");
    assert!(seen["target"].is_null());

    // History: the pair lists both, the third member only the public one.
    for m in [&a, &b] {
        let h = m.ok(HISTORY, json!({ "r": room })).await;
        assert_eq!(gif_urls(&h), vec![private_url.clone(), public_url.clone()]);
        let whispered: Vec<bool> = h["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "GIF")
            .map(|e| e["whispered"] == true)
            .collect();
        assert_eq!(whispered, vec![true, false]);
    }
    assert_eq!(gif_urls(&c.ok(HISTORY, json!({ "r": room })).await), vec![public_url.clone()]);

    // Resume: a second tab of each catching up from seq 0 replays the same split.
    let mut again_b = b.join(&room, Some(0)).await;
    assert_eq!(next_gif(&mut again_b).await["gifUrl"], private_url.as_str());
    let mut again_c = c.join(&room, Some(0)).await;
    assert_eq!(next_gif(&mut again_c).await["gifUrl"], public_url.as_str(), "c's catch-up skips the whisper");

    // The file: the pair may fetch it (privately cached), the third member and strangers get 404 for it but
    // 200 for the public GIF.
    for (who, m) in [("sender", &a), ("recipient", &b)] {
        let resp = m.http.get(format!("{}{private_url}", m.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{who}");
        assert!(resp.headers()["cache-control"].to_str().unwrap().starts_with("private"), "{who}");
        assert!(resp.headers().get("set-cookie").is_none(), "{who}: fetching never writes a session");
        assert_eq!(resp.bytes().await.unwrap().to_vec(), corpus::animated_gif());
    }
    app.assert_a_new_session_sets_a_cookie().await;
    let third = c.http.get(format!("{}{private_url}", c.base)).send().await.unwrap();
    assert_eq!(third.status(), 404, "the third member cannot fetch the whispered GIF");
    let stranger = app.http().get(format!("{}{private_url}", app.base)).send().await.unwrap();
    assert_eq!(stranger.status(), 404, "nor can a request without a session");
    let forged = app
        .http()
        .get(format!("{}{private_url}", app.base))
        .header("cookie", "gifchat=AAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await;
    assert_eq!(forged.unwrap().status(), 404, "nor an unknown session id");
    let public = c.http.get(format!("{}{public_url}", c.base)).send().await.unwrap();
    assert_eq!(public.status(), 200, "the third member fetches the public GIF");
    assert!(public.headers()["cache-control"].to_str().unwrap().starts_with("public"));
}

#[tokio::test]
async fn hostile_recipients_are_refused_with_a_reason_and_nothing_is_posted_or_stored() {
    let app = TestApp::spawn().await;
    let ([a, _b, _c], ids, room, [mut wa, _wb, _wc]) = three_in_a_room(&app).await;
    let outsider = app.member();
    // Someone real (entered, so they have a session) who never took a seat.
    assert_eq!(outsider.enter(&room).await, None);
    let outsider_id = outsider.me().await.0;
    // Drain the join notices up to the last member's, so that any later item would be an upload's.
    let long = "0".repeat(10_000);
    let cases: Vec<Case> = vec![
        ("yourself", vec![("to", ids[0].as_str())], "SELF"),
        ("a member who is not in the room", vec![("to", outsider_id.as_str())], "NOT_PRESENT"),
        ("a malformed id", vec![("to", "../../etc/passwd")], "NOT_PRESENT"),
        ("an empty id", vec![("to", "")], "NOT_PRESENT"),
        ("a 10 000-character id", vec![("to", long.as_str())], "NOT_PRESENT"),
        ("two recipients", vec![("to", ids[1].as_str()), ("to", ids[2].as_str())], "NOT_PRESENT"),
        ("a lower-cased id with a NUL", vec![("to", "01arz3ndektsv4rrffq69g5fa\u{0}")], "NOT_PRESENT"),
    ];
    for (what, extra, reason) in &cases {
        let resp = upload_with(&a, &room, extra, corpus::animated_gif()).await;
        assert_eq!(resp.status(), 422, "{what}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            (body["error"]["code"].as_str(), body["error"]["reason"].as_str()),
            (Some("INVALID_INPUT"), Some(*reason)),
            "{what}: {body}"
        );
    }
    assert_eq!(wa.quiet_for(std::time::Duration::from_millis(300)).await, None, "no event for a refused upload");
    assert_eq!(app.stored_gif_count().await, 0, "nothing stored");
    // Positive control: the same upload to a present member goes through.
    let ok = upload_with(&a, &room, &[("to", ids[1].as_str())], corpus::animated_gif()).await;
    assert_eq!(ok.status(), 201);
    assert_eq!(next_gif(&mut wa).await["target"]["id"], ids[1].as_str());
}

#[tokio::test]
async fn refusals_carry_a_reason_the_page_can_word_and_a_retried_whisper_is_posted_once() {
    let app = TestApp::spawn().await;
    let ([a, _b, _c], ids, room, [mut wa, _wb, _wc]) = three_in_a_room(&app).await;
    let send = "mutation($r: ID!, $t: String!) { sendMessage(roomId: $r, text: $t) { seq } }";
    let whisper = "mutation($r: ID!, $m: ID!, $t: String!, $k: String) {
        whisper(roomId: $r, memberId: $m, text: $t, clientKey: $k) { seq } }";
    let reason = |body: &Value| body["errors"][0]["extensions"]["reason"].as_str().map(str::to_owned);
    let long = "가".repeat(1001);
    assert_eq!(reason(&a.gql(send, json!({ "r": room, "t": long })).await).as_deref(), Some("TOO_LONG"));
    assert_eq!(reason(&a.gql(send, json!({ "r": room, "t": "  " })).await).as_deref(), Some("EMPTY"));
    assert_eq!(
        reason(&a.gql(send, json!({ "r": room, "t": "a\u{202e}b" })).await).as_deref(),
        Some("FORBIDDEN_CHARACTERS")
    );
    let to_self = a.gql(whisper, json!({ "r": room, "m": ids[0], "t": "me" })).await;
    assert_eq!(reason(&to_self).as_deref(), Some("SELF"));
    let nobody = a.gql(whisper, json!({ "r": room, "m": "not-a-member", "t": "hi" })).await;
    assert_eq!(reason(&nobody).as_deref(), Some("NOT_PRESENT"));
    let key_junk = a.gql(whisper, json!({ "r": room, "m": ids[1], "t": "hi", "k": "\u{0}".repeat(100) })).await;
    assert_eq!(key_junk["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{key_junk}");
    assert_eq!(wa.quiet_for(std::time::Duration::from_millis(300)).await, None, "nothing posted by a refusal");

    // A whisper retried with its client key is stored and delivered once (the positive control: it is).
    let vars = json!({ "r": room, "m": ids[1], "t": "한 번만", "k": "retry-key-1" });
    let first = a.ok(whisper, vars.clone()).await["whisper"]["seq"].clone();
    let again = a.ok(whisper, vars).await["whisper"]["seq"].clone();
    assert_eq!(first, again);
    let e = wa.next_event("r").await;
    assert_eq!((e["kind"].as_str(), e["text"].as_str()), (Some("WHISPER"), Some("한 번만")));
    assert_eq!(wa.quiet_for(std::time::Duration::from_millis(300)).await, None, "the retry published nothing");
    let history = a.ok("query($r: ID!) { messages(roomId: $r) { text } }", json!({ "r": room })).await;
    let copies = history["messages"].as_array().unwrap().iter().filter(|m| m["text"] == "한 번만").count();
    assert_eq!(copies, 1);
}

#[tokio::test]
async fn upload_refusals_name_their_reason() {
    let app = TestApp::spawn().await;
    let ([a, _b, _c], _ids, room, _ws) = three_in_a_room(&app).await;
    for (what, bytes, reason) in [
        ("png", corpus::png_bytes(), "NOT_A_GIF"),
        ("truncated", corpus::truncated_gif(), "GIF_DAMAGED"),
        ("huge dimensions", corpus::huge_dimensions_gif(), "GIF_TOO_LARGE"),
    ] {
        let body: Value = upload_with(&a, &room, &[], bytes).await.json().await.unwrap();
        assert_eq!(body["error"]["reason"], reason, "{what}: {body}");
    }
    let form = reqwest::multipart::Form::new().text("to", "x");
    let resp = a.http.post(format!("{}/room/{room}/gif", a.base)).multipart(form).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["reason"], "NO_FILE");
    let resp = upload_with(&a, &room, &[], corpus::oversize_gif(6 * 1024 * 1024)).await;
    if resp.status() == 422 {
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["reason"], "FILE_TOO_BIG");
    } else {
        assert_eq!(resp.status(), 413, "too big is 413 when the body limit answers first");
    }
}
