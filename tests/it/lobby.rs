//! The lobby at scale over real HTTP and WebSockets: the `rooms` connection (paging, order, filter,
//! hostile arguments), the bounded lobby snapshot, and the pages' error paths (search and cursor
//! errors, a wrong password staying on its form, the 404 page).

use serde_json::{json, Value};

use crate::support::*;

const ROOMS: &str = "query($first: Int, $after: String, $q: String) {
  rooms(first: $first, after: $after, query: $q) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor removed node { id title memberCount activityAt } }
  }
}";

fn ids(conn: &Value) -> Vec<String> {
    conn["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect()
}

/// Creates `n` rooms titled `prefix 0..n` and returns their ids, oldest first.
async fn rooms(m: &Member, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(m.create_room(&format!("{prefix} {i}"), 10, None).await);
        // Distinct milliseconds, so "newest first" is one order.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    out
}

#[tokio::test]
async fn rooms_pages_through_every_room_with_cursors_people_first_then_newest() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let made = rooms(&m, "방", 7).await;
    // Somebody in the second-oldest room: it leads the list.
    let _seat = m.join(&made[1], None).await;
    let one = eventually("the seat is taken", || async {
        let d = m.ok(ROOMS, json!({ "first": 1 })).await;
        (d["rooms"]["edges"][0]["node"]["memberCount"] == 1).then_some(d)
    })
    .await;
    assert_eq!(ids(&one["rooms"]), vec![made[1].clone()]);

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let d = m.ok(ROOMS, json!({ "first": 3, "after": after })).await;
        let conn = &d["rooms"];
        assert_eq!(conn["totalCount"], 7);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        let page = ids(conn);
        assert_eq!(conn["pageInfo"]["endCursor"], conn["edges"][page.len() - 1]["cursor"]);
        seen.extend(page);
        pages += 1;
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 3);
    let mut expected = vec![made[1].clone()];
    expected.extend(made.iter().rev().filter(|id| *id != &made[1]).cloned());
    assert_eq!(seen, expected, "people first, then newest first, each room once");

    // Without `first`, the configured lobby page (50 by default) — all seven here.
    let d = m.ok("{ rooms { nodes { id } pageInfo { hasNextPage } } }", json!({})).await;
    assert_eq!(d["rooms"]["nodes"].as_array().unwrap().len(), 7);
    assert_eq!(d["rooms"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn hostile_paging_arguments_are_refused_with_invalid_input_and_change_nothing() {
    let app = TestApp::spawn().await;
    let m = app.member();
    rooms(&m, "room", 2).await;
    for first in [0, -1, 101, i32::MIN, i32::MAX] {
        assert_eq!(m.err_code(ROOMS, json!({ "first": first })).await, "INVALID_INPUT", "first: {first}");
    }
    for after in ["", "garbage", "'; DROP TABLE rooms; --", "YTp4OnJvb20", "{\"$gt\": \"\"}", &"A".repeat(5000)] {
        assert_eq!(m.err_code(ROOMS, json!({ "after": after })).await, "INVALID_INPUT", "after: {after:.40}");
    }
    assert_eq!(m.err_code(ROOMS, json!({ "q": "x".repeat(81) })).await, "INVALID_INPUT");
    let long = m.gql(ROOMS, json!({ "q": "x".repeat(81) })).await;
    assert!(long["errors"][0]["message"].as_str().unwrap().contains("80"), "{long}");
    // Positive controls: the limits themselves are accepted, and nothing was lost.
    assert_eq!(m.ok(ROOMS, json!({ "first": 100, "q": "x".repeat(80) })).await["rooms"]["totalCount"], 0);
    assert_eq!(m.ok(ROOMS, json!({ "first": 1 })).await["rooms"]["totalCount"], 2);
}

#[tokio::test]
async fn the_query_filters_titles_case_insensitively_and_literally() {
    let app = TestApp::spawn().await;
    let m = app.member();
    for title in ["Café 수다방", "100% 진짜", "a_b", "a.b*c", "$where", "(x|y)", "plain"] {
        m.create_room(title, 10, None).await;
    }
    let titles = |d: Value| {
        let mut t: Vec<String> = d["rooms"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
            .collect();
        t.sort();
        t
    };
    let cases: [(&str, &[&str]); 11] = [
        ("CAFÉ", &["Café 수다방"]),
        ("  수다  ", &["Café 수다방"]),
        ("%", &["100% 진짜"]),
        ("_", &["a_b"]),
        (".", &["a.b*c"]),
        (".*", &[]),
        ("x|y", &["(x|y)"]),
        ("$where", &["$where"]),
        ("^p", &[]),
        ("\u{0}", &[]),
        ("' OR 1=1 --", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(titles(m.ok(ROOMS, json!({ "q": q })).await), want.to_vec(), "query {q:?}");
    }
    // Blank means every room (positive control for the empty answers above).
    assert_eq!(m.ok(ROOMS, json!({ "q": "   " })).await["rooms"]["totalCount"], 7);
}

#[tokio::test]
async fn the_lobby_snapshot_is_one_page_with_the_total_and_the_rest_follows_by_cursor() {
    let app = TestApp::spawn_with(|s| s.hub.lobby_page = 3).await;
    let m = app.member();
    let made = rooms(&m, "snap", 5).await;
    let mut ws = m.ws().await;
    let q = "subscription { lobby { __typename ... on LobbySnapshot { rooms { id } totalCount hasNextPage endCursor }
        ... on RoomCreated { room { id } } } }";
    ws.subscribe("l", q, json!({})).await;
    let first = loop {
        let msg = ws.recv().await.expect("socket open");
        if msg["id"] == "l" && msg["type"] == "next" {
            break msg["payload"]["data"]["lobby"].clone();
        }
    };
    assert_eq!(first["__typename"], "LobbySnapshot");
    let snap: Vec<&str> = first["rooms"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(snap, vec![made[4].as_str(), made[3].as_str(), made[2].as_str()], "bounded: the first page only");
    assert_eq!((first["totalCount"].clone(), first["hasNextPage"].clone()), (json!(5), json!(true)));
    let rest = m.ok(ROOMS, json!({ "after": first["endCursor"] })).await;
    assert_eq!(ids(&rest["rooms"]), vec![made[1].clone(), made[0].clone()]);

    // Changes stay incremental: a new room arrives as RoomCreated, not as a new snapshot.
    let other = app.member();
    let new_id = other.create_room("snap new", 10, None).await;
    let created = loop {
        let msg = ws.recv().await.expect("socket open");
        if msg["id"] == "l" && msg["type"] == "next" {
            break msg["payload"]["data"]["lobby"].clone();
        }
    };
    assert_eq!(created["__typename"], "RoomCreated");
    assert_eq!(created["room"]["id"], new_id.as_str());
}

#[tokio::test]
async fn a_kicked_member_sees_removed_on_that_room_only() {
    if skip_on_nx(NX_ARRAY_EQUALITY).await {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.member();
    let guest = app.member();
    let room = owner.create_room("kick me", 10, None).await;
    let other_room = owner.create_room("still open", 10, None).await;
    let _o = owner.join(&room, None).await;
    let _g = guest.join(&room, None).await;
    let (guest_id, _) = guest.me().await;
    eventually("both seated", || async {
        let d = owner.ok(ROOMS, json!({ "q": "kick" })).await;
        (d["rooms"]["edges"][0]["node"]["memberCount"] == 2).then_some(())
    })
    .await;
    owner
        .ok("mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }", json!({ "r": room, "m": guest_id }))
        .await;
    let removed = |d: Value| -> Vec<(String, bool)> {
        d["rooms"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["node"]["id"].as_str().unwrap().to_owned(), e["removed"].as_bool().unwrap()))
            .collect()
    };
    let seen = removed(guest.ok(ROOMS, json!({})).await);
    assert!(seen.contains(&(room.clone(), true)), "{seen:?}");
    assert!(seen.contains(&(other_room.clone(), false)), "{seen:?}");
    assert!(removed(owner.ok(ROOMS, json!({})).await).iter().all(|(_, r)| !r), "the owner was not removed");
}

/// The lobby page's HTML for `member` at `path`.
async fn page(m: &Member, path: &str, lang: &str) -> (u16, String) {
    let resp = m.http.get(format!("{}{path}", m.base)).header("accept-language", lang).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn the_lobby_page_renders_one_page_with_search_and_a_more_link() {
    let app = TestApp::spawn_with(|s| s.hub.lobby_page = 4).await;
    let m = app.member();
    rooms(&m, "alpha", 5).await;
    rooms(&m, "beta", 2).await;
    let (status, html) = page(&m, "/", "ko").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("<tr data-id=").count(), 4, "bounded to one page");
    assert!(html.contains("id=\"more\""), "a more link");
    let more = html.split("href=\"").find(|s| s.starts_with("/?after=")).expect("the more link");
    let more = more.split('"').next().unwrap().replace("&amp;", "&");
    let (_, second) = page(&m, &more, "ko").await;
    assert_eq!(second.matches("<tr data-id=").count(), 3, "the remaining rooms");
    assert!(second.contains("처음부터 보기"));

    let (_, found) = page(&m, "/?q=BETA", "ko").await;
    assert_eq!(found.matches("<tr data-id=").count(), 2);
    assert!(found.contains("value=\"BETA\""), "the search stays in the box");
    let (_, none) = page(&m, "/?q=%25", "ko").await;
    assert_eq!(none.matches("<tr data-id=").count(), 0);
    assert!(none.contains("검색어가 들어간 방 제목이 없습니다."));

    // Hostile input gets a sentence in the page's language and the first page, never a raw message.
    let (status, long) = page(&m, &format!("/?q={}", "x".repeat(200)), "en").await;
    assert_eq!(status, 200);
    assert!(long.contains("Search text can be at most 80 characters long."));
    assert_eq!(long.matches("<tr data-id=").count(), 4);
    let (_, bad) = page(&m, "/?after=%3Cscript%3E", "ko").await;
    assert!(bad.contains("이 목록 주소는 올바르지 않아 처음부터 보여 드립니다."));
    assert!(!bad.contains("<script>"), "the cursor is not echoed unescaped");
    let (_, xss) = page(&m, "/?q=%3Cimg%20src%3Dx%3E", "ko").await;
    assert!(!xss.contains("<img src=x>"));
    assert!(xss.contains("img src=x"), "positive control: the search text is on the page, escaped");
}

#[tokio::test]
async fn a_wrong_password_stays_on_the_rooms_form_with_its_title_and_the_reason() {
    let app = TestApp::spawn().await;
    let owner = app.member();
    let room = owner.create_room("비밀 수다방", 10, Some("sesame")).await;
    let guest = app.member();
    let enter = |password: &'static str, lang: &'static str| {
        let (guest, room) = (guest.clone(), room.clone());
        async move {
            let resp = guest
                .http
                .post(format!("{}/room/{room}/enter", guest.base))
                .header("origin", guest.base.clone())
                .header("accept-language", lang)
                .form(&[("password", password)])
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.headers().get("location").cloned(), resp.text().await.unwrap())
        }
    };
    let (status, location, html) = enter("wrong", "ko").await;
    assert_eq!((status, location), (403, None), "no bounce to the lobby");
    assert!(html.contains("<h1>비밀 수다방</h1>"));
    assert!(html.contains("비밀번호가 틀렸습니다."));
    assert!(html.contains("id=\"password-form\""));
    assert!(!html.contains("wrong"), "the tried password is not echoed");
    let (_, _, english) = enter("", "en").await;
    assert!(english.contains("Enter the password.") && english.contains("lang=\"en\""));
    assert!(guest.cookie_header().is_none(), "a wrong password creates no session");
    // Positive control: the right one opens the room, and the session remembering it is created.
    let (status, location, _) = enter("sesame", "ko").await;
    assert_eq!(status, 303);
    assert_eq!(location.unwrap().to_str().unwrap(), format!("/room/{room}"));
    assert!(guest.cookie_header().is_some());
}

#[tokio::test]
async fn unknown_urls_and_rooms_get_a_styled_404_in_the_readers_language() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let (status, ko) = page(&m, "/nope/here", "ko-KR").await;
    assert_eq!(status, 404);
    assert!(ko.contains("<html lang=\"ko\">"));
    assert!(ko.contains("GET /nope/here 라우터가 존재하지 않습니다."));
    assert!(ko.contains("href=\"/\"") && ko.contains("/static/main.") && ko.contains(".css\""));
    let (status, en) = page(&m, "/nope/here", "en-US").await;
    assert_eq!(status, 404);
    assert!(en.contains("<html lang=\"en\">") && en.contains("There is no page at GET /nope/here."));
    for path in ["/room/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/room/not-an-id"] {
        let (status, html) = page(&m, path, "ko").await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("존재하지 않는 방입니다."), "{path}");
    }
    let (status, html) = page(&m, &format!("/{}", "%3Cb%3E".repeat(100)), "ko").await;
    assert_eq!(status, 404);
    assert!(!html.contains("<b>") && html.contains('…'), "escaped and shortened");
    // Positive control: a real room is not a 404.
    let room = m.create_room("exists", 10, None).await;
    assert_eq!(page(&m, &format!("/room/{room}"), "ko").await.0, 200);
}

#[tokio::test]
async fn the_create_page_has_a_heading_labels_without_placeholders_and_errors_in_the_readers_language() {
    let app = TestApp::spawn().await;
    let m = app.member();
    let (_, html) = page(&m, "/room", "ko").await;
    assert!(html.contains("<h1>GIF 채팅방 생성</h1>"));
    assert!(!html.contains("placeholder="), "labels are not repeated as placeholders");
    assert!(html.contains(">허용 인원<") && !html.contains("수용 인원"), "the lobby's word for capacity");
    for (form, lang, sentence) in [
        (vec![("title", ""), ("max", "10")], "ko", "방 제목을 입력하세요."),
        (vec![("title", "x"), ("max", "1")], "ko", "허용 인원은 2명에서 100명 사이의 정수여야 합니다."),
        (vec![("title", "x"), ("max", "many")], "en", "The capacity must be a whole number from 2 to 100."),
        (
            vec![("title", "bidi\u{202E}"), ("max", "5")],
            "en",
            "The room title contains characters that are not allowed.",
        ),
    ] {
        let resp = m
            .http
            .post(format!("{}/room", m.base))
            .header("origin", m.base.clone())
            .header("accept-language", lang)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422);
        let html = resp.text().await.unwrap();
        assert!(html.contains(sentence), "{form:?}: {sentence}");
    }
    assert_eq!(m.ok("{ rooms { totalCount } }", json!({})).await["rooms"]["totalCount"], 0, "nothing was created");
}

#[test]
fn serve_refuses_a_lobby_page_size_outside_one_to_a_hundred_as_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "101", "-5", "many", "50; rm -rf /", ""] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gifchat"))
            .args(["serve", "--listen", "127.0.0.1:0", &format!("--lobby-page-size={bad}")])
            .env("GIFCHAT_DATA_DIR", dir.path())
            .env_remove("GIFCHAT_MONGODB_URI")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--lobby-page-size"), "{bad:?}: {out:?}");
    }
    // Positive control: a valid size passes its check (parsing then stops at the unusable address).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gifchat"))
        .args(["serve", "--listen", "not-an-address", "--lobby-page-size", "100"])
        .env("GIFCHAT_DATA_DIR", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--listen") && !err.contains("--lobby-page-size"), "{out:?}");
}
