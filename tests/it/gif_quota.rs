//! GIF storage quotas, per room and in total, through the real upload route: a full quota refuses with
//! `QUOTA_EXCEEDED` (HTTP 507) and a reason, and everything stored before stays served and listed; space
//! comes back when a room goes; racing uploads get exactly the space there is; usage survives restarts.
//! Every refusal here has its positive control: the same upload taken where there is space.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::api::wait_seated;
use crate::gif_corpus as corpus;
use crate::support::*;
use gifchat::store::GifQuota;

const HISTORY: &str = "query($r: ID!) { messages(roomId: $r, last: 100) { seq kind gifUrl } }";

fn quotas(room: u64, total: u64) -> impl FnOnce(&mut Settings) {
    move |s| s.hub.gif_quota = GifQuota::from_flags(room, total)
}

fn len(bytes: &[u8]) -> u64 {
    bytes.len() as u64
}

/// Posts `bytes` as the form field `gif` (whispered to `to` if given) and returns status and JSON body.
/// While the server's few decode slots are busy it answers 429 at once; such an upload was not judged
/// at all, so it is sent again.
async fn upload(m: &Member, room: &str, to: Option<&str>, bytes: &[u8]) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut form = reqwest::multipart::Form::new();
        if let Some(to) = to {
            form = form.text("to", to.to_owned());
        }
        form = form.part("gif", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("a.gif"));
        let resp = m.http.post(format!("{}/room/{room}/gif", m.base)).multipart(form).send().await.expect("upload");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 429 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        return (status, body);
    }
}

/// An upload that must be stored; returns its URL.
async fn stored(m: &Member, room: &str, to: Option<&str>, bytes: &[u8]) -> String {
    let (status, body) = upload(m, room, to, bytes).await;
    assert_eq!(status, 201, "{body}");
    body["url"].as_str().unwrap().to_owned()
}

/// An upload that must be refused by the quota `reason` (`ROOM_QUOTA` or `TOTAL_QUOTA`).
async fn refused(m: &Member, room: &str, bytes: &[u8], reason: &str) {
    let (status, body) = upload(m, room, None, bytes).await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"]["code"], "QUOTA_EXCEEDED", "{body}");
    assert_eq!(body["error"]["reason"], reason, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("GIF storage"), "{body}");
}

/// A member who created a room and holds a seat in it.
async fn owner_of_room(app: &TestApp, capacity: i64) -> (Member, String, Ws) {
    let m = app.member();
    let room = m.create_room("quota", capacity, None).await;
    let ws = m.join(&room, None).await;
    wait_seated(app, &m, &room).await;
    (m, room, ws)
}

/// A new member seated in `room`.
async fn seated_in(app: &TestApp, room: &str) -> (Member, Ws) {
    let m = app.member();
    let ws = m.join(room, None).await;
    wait_seated(app, &m, room).await;
    (m, ws)
}

async fn served(app: &TestApp, as_member: &Member, url: &str) -> Vec<u8> {
    let resp = as_member.http.get(format!("{}{url}", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.bytes().await.unwrap().to_vec()
}

fn gif_urls(history: &Value) -> Vec<String> {
    let events = history["messages"].as_array().unwrap();
    events.iter().filter(|e| e["kind"] == "GIF").map(|e| e["gifUrl"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_full_room_refuses_the_next_gif_and_keeps_every_earlier_gif_served_and_listed() {
    let (big, mid, small) = (corpus::animation(3), corpus::animation(2), corpus::animation(1));
    assert!(len(&small) < len(&mid) && len(&mid) < len(&big));
    // Room for `big`, a whispered `mid` and `small`, exactly.
    let app = TestApp::spawn_with(quotas(len(&big) + len(&mid) + len(&small), 0)).await;
    let (a, room, mut ws) = owner_of_room(&app, 5).await;
    let (b, _wb) = seated_in(&app, &room).await;
    let b_id = b.me().await.0;
    let first = stored(&a, &room, None, &big).await;
    let whispered = stored(&a, &room, Some(&b_id), &mid).await;
    // `big` again would pass the quota by less than its own size: the store refuses it, nothing is kept.
    refused(&a, &room, &big, "ROOM_QUOTA").await;
    // What is left still takes a GIF that fits it exactly.
    let last = stored(&a, &room, None, &small).await;
    // Full to the byte: refused before the body is read, public or whispered.
    refused(&a, &room, &small, "ROOM_QUOTA").await;
    let (status, body) = upload(&a, &room, Some(&b_id), &small).await;
    assert_eq!((status, body["error"]["reason"].as_str()), (507, Some("ROOM_QUOTA")), "whispers count too: {body}");

    // Everything stored before is served byte for byte, listed in history, announced once each.
    assert_eq!(served(&app, &a, &first).await, big);
    assert_eq!(served(&app, &b, &whispered).await, mid, "the whispered GIF, to its recipient");
    assert_eq!(served(&app, &a, &last).await, small);
    assert_eq!(gif_urls(&a.ok(HISTORY, json!({ "r": room })).await), vec![first, whispered, last]);
    let mut announced = 0;
    while let Some(m) = ws.quiet_for(Duration::from_millis(300)).await {
        if m["payload"]["data"]["room"]["kind"] == "GIF" {
            announced += 1;
        }
    }
    assert_eq!(announced, 3, "refused uploads post nothing");
    assert_eq!(app.stored_gif_count().await, 3, "refused uploads store nothing");

    // The quota is per room: another room takes the same GIF.
    let (c, other, _wc) = owner_of_room(&app, 5).await;
    stored(&c, &other, None, &big).await;
}

#[tokio::test]
async fn the_total_quota_counts_every_room_together() {
    let gif = corpus::animated_gif();
    let app = TestApp::spawn_with(quotas(0, 2 * len(&gif))).await;
    let (a, one, _wa) = owner_of_room(&app, 5).await;
    let (b, two, _wb) = owner_of_room(&app, 5).await;
    let first = stored(&a, &one, None, &gif).await;
    let second = stored(&b, &two, None, &gif).await;
    refused(&a, &one, &gif, "TOTAL_QUOTA").await;
    refused(&b, &two, &gif, "TOTAL_QUOTA").await;
    let (c, three, _wc) = owner_of_room(&app, 5).await;
    refused(&c, &three, &gif, "TOTAL_QUOTA").await;
    assert_eq!(served(&app, &a, &first).await, gif);
    assert_eq!(served(&app, &b, &second).await, gif);
    assert_eq!(gif_urls(&b.ok(HISTORY, json!({ "r": two })).await), vec![second]);
    assert_eq!(app.stored_gif_count().await, 2);
}

#[tokio::test]
async fn zero_quotas_mean_no_limit() {
    let gif = corpus::animated_gif();
    let app = TestApp::spawn_with(quotas(0, 0)).await;
    let (a, room, _ws) = owner_of_room(&app, 5).await;
    for _ in 0..5 {
        stored(&a, &room, None, &gif).await;
    }
    // Positive control: a quota of that size set, the same uploads stop.
    let app = TestApp::spawn_with(quotas(2 * len(&gif), 0)).await;
    let (a, room, _ws) = owner_of_room(&app, 5).await;
    stored(&a, &room, None, &gif).await;
    stored(&a, &room, None, &gif).await;
    refused(&a, &room, &gif, "ROOM_QUOTA").await;
}

#[tokio::test]
async fn a_deleted_room_and_a_room_that_emptied_give_their_space_back() {
    let gif = corpus::animated_gif();
    let app = TestApp::spawn_with(quotas(0, 2 * len(&gif))).await;
    let (a, full, _wa) = owner_of_room(&app, 5).await;
    stored(&a, &full, None, &gif).await;
    stored(&a, &full, None, &gif).await;
    let (b, waiting, _wb) = owner_of_room(&app, 5).await;
    refused(&b, &waiting, &gif, "TOTAL_QUOTA").await;
    a.ok("mutation($id: ID!) { deleteRoom(id: $id) }", json!({ "id": full })).await;
    let kept = stored(&b, &waiting, None, &gif).await;

    // A room whose last member leaves is removed after the grace period, and its GIFs with it.
    let (c, leaving, wc) = owner_of_room(&app, 5).await;
    stored(&c, &leaving, None, &gif).await;
    refused(&b, &waiting, &gif, "TOTAL_QUOTA").await;
    c.ok("mutation($id: ID!) { leaveRoom(id: $id) }", json!({ "id": leaving })).await;
    wc.close().await;
    eventually("the emptied room is removed", || {
        let b = b.clone();
        let leaving = leaving.clone();
        async move {
            let d = b.ok("query($id: ID!) { room(id: $id) { id } }", json!({ "id": leaving })).await;
            d["room"].is_null().then_some(())
        }
    })
    .await;
    stored(&b, &waiting, None, &gif).await;
    assert_eq!(served(&app, &b, &kept).await, gif, "the other room's GIF was never touched");
}

#[tokio::test]
async fn uploads_racing_for_the_last_space_are_taken_exactly_as_far_as_it_goes() {
    let gif = corpus::animated_gif();
    // One room, room for three, ten members uploading at once.
    let app = TestApp::spawn_with(quotas(3 * len(&gif), 0)).await;
    let (owner, room, wo) = owner_of_room(&app, 10).await;
    let mut uploaders = vec![(owner.clone(), wo)];
    for _ in 0..9 {
        uploaders.push(seated_in(&app, &room).await);
    }
    let outcomes = futures::future::join_all(uploaders.iter().map(|(m, _)| upload(m, &room, None, &gif))).await;
    let statuses: Vec<u16> = outcomes.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 507).count(), 7, "{statuses:?}");
    assert_eq!(gif_urls(&owner.ok(HISTORY, json!({ "r": room })).await).len(), 3);
    assert_eq!(app.stored_gif_count().await, 3);

    // The total, eight rooms, room for three.
    let app = TestApp::spawn_with(quotas(0, 3 * len(&gif))).await;
    let mut owners = Vec::new();
    for _ in 0..8 {
        owners.push(owner_of_room(&app, 5).await);
    }
    let outcomes = futures::future::join_all(owners.iter().map(|(m, room, _)| upload(m, room, None, &gif))).await;
    let statuses: Vec<u16> = outcomes.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "{statuses:?}");
    assert!(
        outcomes.iter().filter(|(s, _)| *s != 201).all(|(_, b)| b["error"]["reason"] == "TOTAL_QUOTA"),
        "{outcomes:?}"
    );
    assert_eq!(app.stored_gif_count().await, 3);
}

#[tokio::test]
async fn two_servers_on_the_same_data_share_both_quotas() {
    let gif = corpus::animated_gif();
    let set = || quotas(3 * len(&gif), 5 * len(&gif));
    let mut one = TestApp::spawn_with(set()).await;
    let dir = one.take_dir();
    let two = TestApp::spawn_in(dir.path(), set()).await;
    // The same room, seated through both servers: their room locks are separate, the store decides.
    let (owner, room, wo) = owner_of_room(&one, 10).await;
    let mut uploaders = vec![(owner.clone(), wo)];
    for app in [&one, &two, &one, &two, &two] {
        uploaders.push(seated_in(app, &room).await);
    }
    let outcomes = futures::future::join_all(uploaders.iter().map(|(m, _)| upload(m, &room, None, &gif))).await;
    let statuses: Vec<u16> = outcomes.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "the room's three places: {statuses:?}");
    // Two places left in total, one room on each server, three uploads to each.
    let (a, on_one, _wa) = owner_of_room(&one, 5).await;
    let (b, on_two, _wb) = owner_of_room(&two, 5).await;
    let racers = [(&a, &on_one), (&b, &on_two), (&a, &on_one), (&b, &on_two), (&a, &on_one), (&b, &on_two)];
    let outcomes = futures::future::join_all(racers.iter().map(|(m, r)| upload(m, r, None, &gif))).await;
    let statuses: Vec<u16> = outcomes.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 2, "the total's last two places: {statuses:?}");
    assert_eq!(one.stored_gif_count().await, 5);
}

#[tokio::test]
async fn usage_survives_a_restart_on_the_same_data() {
    let gif = corpus::animated_gif();
    let set = || quotas(2 * len(&gif), 3 * len(&gif));
    let mut app = TestApp::spawn_with(set()).await;
    let dir = app.take_dir();
    let (a, room, ws) = owner_of_room(&app, 5).await;
    let before = stored(&a, &room, None, &gif).await;
    ws.close().await;
    app.stop().await.await.unwrap().unwrap();

    let app = TestApp::spawn_in(dir.path(), set()).await;
    let a = a.at(&app);
    let _ws = a.join(&room, None).await;
    wait_seated(&app, &a, &room).await;
    stored(&a, &room, None, &gif).await;
    refused(&a, &room, &gif, "ROOM_QUOTA").await;
    let (b, other, _wb) = owner_of_room(&app, 5).await;
    stored(&b, &other, None, &gif).await;
    refused(&b, &other, &gif, "TOTAL_QUOTA").await;
    assert_eq!(served(&app, &a, &before).await, gif, "the GIF from before the restart");
}

/// Sends a request's head and the first `body_prefix` bytes of a body declared `declared` bytes long,
/// then reads the answer without sending the rest; `None` if the server waits for more.
async fn answer_to_a_partly_sent_upload(app: &TestApp, m: &Member, room: &str, declared: usize) -> Option<String> {
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /room/{room}/gif HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         Content-Length: {declared}\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\n\r\nGIF89a",
        app.addr,
        m.cookie_header().unwrap()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(WAIT, tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&answer);
                // The JSON body of an error answer is one object: stop once it is complete.
                if text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
                    break;
                }
            }
        }
    }
    Some(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn a_body_declared_larger_than_the_space_left_is_refused_before_it_is_read() {
    let gif = corpus::animated_gif();
    let room_quota = 64 * 1024;
    let app = TestApp::spawn_with(quotas(room_quota, 0)).await;
    let (a, room, _ws) = owner_of_room(&app, 5).await;
    stored(&a, &room, None, &gif).await;
    // 4 MiB declared, a few bytes sent: the answer comes without the rest of the body.
    let answer = answer_to_a_partly_sent_upload(&app, &a, &room, 4 * 1024 * 1024)
        .await
        .expect("the server answers without reading the declared body");
    assert!(answer.starts_with("HTTP/1.1 507"), "{answer}");
    assert!(answer.contains("\"QUOTA_EXCEEDED\"") && answer.contains("\"ROOM_QUOTA\""), "{answer}");
    // Positive control: a body that could fit is read — the server waits for the rest of it.
    let declared = (room_quota - len(&gif)) as usize;
    assert_eq!(answer_to_a_partly_sent_upload(&app, &a, &room, declared).await, None, "a body that may fit is awaited");
    // And what was stored stays; the room still takes GIFs that fit.
    stored(&a, &room, None, &gif).await;
    assert_eq!(gif_urls(&a.ok(HISTORY, json!({ "r": room })).await).len(), 2);
}

#[tokio::test]
async fn the_room_page_words_both_quota_refusals_in_each_language() {
    let app = TestApp::spawn().await;
    let (a, room, _ws) = owner_of_room(&app, 5).await;
    for (lang, room_full, all_full) in [
        ("ko", "이 방의 GIF 저장 공간이 가득", "서버의 GIF 저장 공간이 가득"),
        ("en", "This room's GIF storage is full", "The server's GIF storage is full"),
    ] {
        let page = a
            .http
            .get(format!("{}/room/{room}", app.base))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The texts travel HTML-escaped in the `data-texts` attribute.
        let page =
            [("&quot;", "\""), ("&#34;", "\""), ("&#x22;", "\""), ("&#39;", "'"), ("&#x27;", "'"), ("&amp;", "&")]
                .iter()
                .fold(page, |p, (from, to)| p.replace(from, to));
        assert!(page.contains(&format!("\"errRoomGifsFull\":\"{room_full}")), "{lang}: {page}");
        assert!(page.contains(&format!("\"errGifsFull\":\"{all_full}")), "{lang}");
    }
    // The page's script turns the reasons into exactly those texts.
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/static/js/refusals.js")).unwrap();
    let squeezed: String = script.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squeezed.contains("case 'ROOM_QUOTA': return t.errRoomGifsFull;"), "{script}");
    assert!(squeezed.contains("case 'TOTAL_QUOTA': return t.errGifsFull;"), "{script}");
}

#[tokio::test]
#[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
async fn migrating_a_mongodb_from_before_quotas_counts_the_gifs_it_holds() {
    // Migrating from version 2 builds the listing indexes of step 4 over existing rooms.
    if skip_on_nx(NX_INDEX_ON_ID).await {
        return;
    }
    use gifchat::domain::{now_millis, GifName, RoomId, Visibility};
    use gifchat::store::{GifUsage, MongoStore, NewRoom, Store};
    use mongodb::bson::doc;

    let uri = uri_with_database(
        &required_mongodb_uri(),
        &format!("gifchat_quota_{}", ulid::Ulid::new().to_string().to_lowercase()),
    );
    migrate_test_database(&uri).await;
    let store = MongoStore::open(&uri).await.unwrap();
    let room = RoomId::generate();
    let new = NewRoom {
        id: room.clone(),
        title: "old".into(),
        capacity: 5,
        password_hash: None,
        owner: None,
        persistent: false,
        created_at: now_millis(),
    };
    store.create_room(new, "t").await.unwrap();
    for size in [300, 45] {
        store.gif_put(&room, &GifName::generate(), &Visibility::Room, vec![7; size], GifQuota::NONE).await.unwrap();
    }
    // Back to version 2: no counters anywhere; plus a GIF left behind by an interrupted room deletion.
    let db = mongodb::Client::with_uri_str(&uri).await.unwrap().default_database().unwrap();
    let coll = |name: &str| db.collection::<mongodb::bson::Document>(name);
    coll("rooms").update_many(doc! {}, doc! { "$unset": { "gif_bytes": "" } }).await.unwrap();
    coll("meta").delete_one(doc! { "_id": "gif_usage" }).await.unwrap();
    coll("meta").update_one(doc! { "_id": "schema" }, doc! { "$set": { "version": 2_i64 } }).await.unwrap();
    let orphan = doc! { "_id": GifName::generate().as_str(), "room_id": RoomId::generate().as_str(), "size": 999_i64 };
    coll("gifs").insert_one(orphan).await.unwrap();

    let applied = MongoStore::connect(&uri).await.unwrap().migrate().await.unwrap();
    assert_eq!(applied, (3..=gifchat::store::MONGO_SCHEMA_VERSION).collect::<Vec<_>>());
    let store = MongoStore::open(&uri).await.unwrap();
    assert_eq!(store.gif_usage(&room).await.unwrap(), GifUsage { room: 345, total: 345 }, "orphans count nowhere");
    let quota = GifQuota { room: Some(400), total: None };
    let put = store.gif_put(&room, &GifName::generate(), &Visibility::Room, vec![7; 56], quota).await.unwrap();
    assert_eq!(put, gifchat::store::GifPut::Refused(gifchat::store::QuotaScope::Room), "the counted GIFs take space");
}
