//! Limits keyed by client address as well as by member (issue 9, findings 1 and 2): a new cookie does not
//! reset them, HTTP and WebSocket draw from the same buckets, `X-Forwarded-For` counts only through a
//! trusted proxy, password guessing meets a growing back-off before any Argon2 time is spent, and the
//! limiter tables stay bounded under a flood of addresses.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;
use gifchat::hub::{Creator, LimitConfig, PerMinute};

const CREATE: &str = "mutation($t: String!) { createRoom(title: $t) { id } }";
const ENTER: &str = "mutation($id: ID!, $p: String) { enterRoom(id: $id, password: $p) { id } }";

/// What a refused or accepted request came back with.
struct Answer {
    status: u16,
    /// The `Retry-After` header, in seconds.
    retry_after: Option<u64>,
    body: Value,
}

impl Answer {
    /// The first error's code, or `OK` when there is none.
    fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("OK")
    }

    /// `extensions.retryAfter` of the first error.
    fn retry_after_ext(&self) -> Option<u64> {
        self.body["errors"][0]["extensions"]["retryAfter"].as_u64()
    }
}

/// One GraphQL request from a visitor without a cookie (so every request is a fresh session), optionally
/// carrying an `X-Forwarded-For` header.
async fn anonymous(app: &TestApp, xff: Option<&str>, query: &str, variables: Value) -> Answer {
    let mut req =
        app.http().post(format!("{}/graphql", app.base)).json(&json!({ "query": query, "variables": variables }));
    if let Some(xff) = xff {
        req = req.header("x-forwarded-for", xff);
    }
    let resp = req.send().await.expect("graphql request");
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().expect("whole seconds"));
    Answer { status, retry_after, body: resp.json().await.expect("a JSON body") }
}

/// Asserts `answer` is a rate-limit refusal with a positive wait, in whichever shape it came: a GraphQL
/// error (200) or, when refused before executing (its session could not be minted), 429 with Retry-After.
fn assert_rate_limited(answer: &Answer) {
    assert_eq!(answer.code(), "RATE_LIMITED", "{}", answer.body);
    assert!(answer.retry_after_ext().is_some_and(|s| s >= 1), "retryAfter present and positive: {}", answer.body);
    match answer.status {
        200 => {}
        429 => assert!(answer.retry_after.is_some_and(|s| s >= 1), "429 without Retry-After"),
        other => panic!("unexpected status {other}: {}", answer.body),
    }
}

fn trusting_loopback(s: &mut Settings) {
    s.web.trusted_proxies = "127.0.0.1".parse().unwrap();
}

#[tokio::test]
async fn forty_cookie_less_room_creations_from_one_address_are_cut_off_by_the_default_limits() {
    let app = TestApp::spawn_with(|s| s.hub.limits = LimitConfig::default()).await;
    let started = Instant::now();
    let mut created = 0u64;
    let mut refused = 0u64;
    for i in 0..40 {
        let answer = anonymous(&app, None, CREATE, json!({ "t": format!("방 {i}") })).await;
        if answer.body["data"]["createRoom"]["id"].is_string() {
            created += 1;
        } else {
            assert_rate_limited(&answer);
            refused += 1;
        }
    }
    // The default is 20 a minute per address, all at once if need be, then one every 3 s.
    let allowance = 20 + started.elapsed().as_secs() / 3 + 1;
    assert!(created >= 20 && created <= allowance, "created {created}, allowance {allowance}");
    assert_eq!(created + refused, 40);
    let stored = app.hub.rooms().await.unwrap().len() as u64;
    assert_eq!(stored, created, "refused creations left no room behind");
    // The operator (the CLI) acts with no address and stays unlimited.
    for i in 0..30 {
        app.hub.create_room(Creator::Operator { persistent: false }, &format!("운영 {i}"), None, None).await.unwrap();
    }
}

#[tokio::test]
async fn fresh_sessions_from_one_address_are_refused_with_429_and_retry_after() {
    let app = TestApp::spawn_with(|s| s.hub.limits.sessions_per_address = 5).await;
    // Sessions are minted by acting (creating or entering a room), so the flood acts without cookies.
    let known = app.member();
    let first = known.create_room("first", 5, None).await;
    for i in 0..4 {
        let answer = anonymous(&app, None, CREATE, json!({ "t": format!("r{i}") })).await;
        assert_eq!(answer.code(), "OK", "{}", answer.body);
    }
    // Over GraphQL the refused mint is an execution error: HTTP 200, `RATE_LIMITED` with the wait.
    let answer = anonymous(&app, None, CREATE, json!({ "t": "one session too many" })).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_rate_limited(&answer);
    assert!(answer.body["data"].is_null(), "{}", answer.body);
    // Entering by GraphQL mints too, and is refused the same way.
    let answer = anonymous(&app, None, ENTER, json!({ "id": first })).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_rate_limited(&answer);
    assert_eq!(app.hub.rooms().await.unwrap().len(), 5, "the refused creation left no room behind");
    // A browser opening a public room's page without a cookie is told in its language how long to wait.
    let resp = app
        .http()
        .get(format!("{}/room/{first}", app.base))
        .header("accept", "text/html")
        .header("accept-language", "ko")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1);
    assert!(resp.headers().get("set-cookie").is_none(), "a refused mint sets no cookie");
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!("{wait}초 후에 다시 시도하세요.")), "{html}");
    // So is a browser posting the create form without a cookie.
    let resp = app
        .http()
        .post(format!("{}/room", app.base))
        .header("accept", "text/html")
        .header("accept-language", "ko")
        .form(&[("title", "폼에서"), ("max", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    assert!(resp.headers().get("set-cookie").is_none(), "a refused mint sets no cookie");
    let html = resp.text().await.unwrap();
    assert!(html.contains("초 후에 다시 시도하세요."), "{html}");
    // Positive control: a visitor who already has a session is not minting one and carries on, by
    // GraphQL and on the room's page.
    known.create_room("still fine", 5, None).await;
    let resp = known.http.get(format!("{}/room/{first}", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_create_form_refused_by_a_limit_keeps_what_was_typed_and_says_how_long_to_wait() {
    let app = TestApp::spawn_with(|s| s.hub.limits.rooms = PerMinute { member: 100, address: 2 }).await;
    // A visitor without a session: the first form post mints one (the session limit is out of the way).
    let m = app.member();
    let post = |title: &'static str| {
        let m = m.clone();
        async move {
            m.http
                .post(format!("{}/room", m.base))
                .header("origin", m.base.clone())
                .header("accept-language", "en")
                .form(&[("title", title), ("max", "7"), ("password", "")])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post("one").await.status(), 303);
    assert!(m.me_opt().await.is_some(), "the first room gave the visitor a session");
    assert_eq!(post("two").await.status(), 303);
    let resp = post("three, refused").await;
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1);
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!("Please try again in {wait} seconds.")), "{html}");
    assert!(html.contains("value=\"three, refused\""), "the title is kept: {html}");
    assert!(html.contains("value=\"7\""), "the capacity is kept");
}

#[tokio::test]
async fn websocket_mutations_draw_from_the_same_address_bucket_as_http() {
    let app = TestApp::spawn_with(|s| s.hub.limits.rooms = PerMinute { member: 100, address: 3 }).await;
    let (a, b, c) = (app.member(), app.member(), app.member());
    let room = a.create_room("http 1", 5, None).await;
    a.create_room("http 2", 5, None).await;
    // b and c get their sessions by entering (which spends nothing of the rooms bucket), so their
    // sockets carry a member.
    assert_eq!(b.enter(&room).await, None);
    assert_eq!(c.enter(&room).await, None);
    let mut wb = b.ws().await;
    let create =
        |id: &str| json!({"type": "subscribe", "id": id, "payload": {"query": CREATE, "variables": {"t": id}}});
    wb.send_json(create("ws-1")).await;
    let first = wb.recv().await.unwrap();
    assert_eq!(first["type"], "next", "the address's third room is allowed: {first}");
    assert!(first["payload"]["data"]["createRoom"]["id"].is_string(), "{first}");
    wb.send_json(create("ws-2")).await;
    let mut refused = wb.recv().await.unwrap();
    while refused["id"] != "ws-2" || refused["type"] == "complete" {
        refused = wb.recv().await.unwrap();
    }
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    assert!(refused["payload"][0]["extensions"]["retryAfter"].as_u64().is_some_and(|s| s >= 1), "{refused}");
    // Another member on another socket from the same address meets the same spent bucket.
    let mut wc = c.ws().await;
    wc.send_json(create("ws-3")).await;
    let refused = wc.recv().await.unwrap();
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    // And so does HTTP again.
    assert_eq!(a.err_code(CREATE, json!({"t": "http 3"})).await, "RATE_LIMITED");
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_make_new_buckets() {
    let app = TestApp::spawn_with(|s| s.hub.limits.rooms = PerMinute { member: 100, address: 3 }).await;
    let mut created = 0;
    for i in 1..=6 {
        let answer = anonymous(&app, Some(&format!("203.0.113.{i}")), CREATE, json!({"t": format!("r{i}")})).await;
        if answer.code() == "OK" {
            created += 1;
        } else {
            assert_rate_limited(&answer);
        }
    }
    assert_eq!(created, 3, "six claimed addresses, one real one");
}

#[tokio::test]
async fn through_a_trusted_proxy_each_forwarded_address_has_its_own_bucket() {
    let app = TestApp::spawn_with(|s| {
        trusting_loopback(s);
        s.hub.limits.rooms = PerMinute { member: 100, address: 3 };
    })
    .await;
    for i in 1..=6 {
        let answer = anonymous(&app, Some(&format!("203.0.113.{i}")), CREATE, json!({"t": format!("r{i}")})).await;
        assert_eq!(answer.code(), "OK", "203.0.113.{i}: {}", answer.body);
    }
    // Each bucket still holds: 203.0.113.1 has used one of three.
    for _ in 0..2 {
        assert_eq!(anonymous(&app, Some("203.0.113.1"), CREATE, json!({"t": "again"})).await.code(), "OK");
    }
    assert_rate_limited(&anonymous(&app, Some("203.0.113.1"), CREATE, json!({"t": "fourth"})).await);
    // The client cannot pick its bucket by writing entries left of what the proxy appended.
    assert_rate_limited(&anonymous(&app, Some("198.51.100.77, 203.0.113.1"), CREATE, json!({"t": "spoof"})).await);
}

#[tokio::test]
async fn addresses_within_one_ipv6_slash_64_share_a_bucket() {
    let app = TestApp::spawn_with(|s| {
        trusting_loopback(s);
        s.hub.limits.rooms = PerMinute { member: 100, address: 3 };
    })
    .await;
    for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd::3"] {
        assert_eq!(anonymous(&app, Some(host), CREATE, json!({"t": host})).await.code(), "OK");
    }
    assert_rate_limited(&anonymous(&app, Some("2001:db8:1:2:ffff::9"), CREATE, json!({"t": "same /64"})).await);
    // Positive control: the neighbouring /64 is another client.
    assert_eq!(anonymous(&app, Some("2001:db8:1:3::1"), CREATE, json!({"t": "next /64"})).await.code(), "OK");
}

#[tokio::test]
async fn two_hundred_wrong_passwords_meet_a_growing_back_off_with_few_argon2_runs() {
    let app = TestApp::spawn_with(|s| {
        trusting_loopback(s);
        s.hub.limits.passwords.free_tries = 3;
        s.hub.limits.passwords.backoff = Duration::from_secs(1);
        s.hub.limits.passwords.backoff_max = Duration::from_secs(600);
    })
    .await;
    let owner = app.member();
    let room = owner.create_room("금고", 5, Some("4729")).await;
    // Each guess from a fresh cookie-less session, as the attacker of finding 2 did.
    let guess = |from: &'static str, password: String| {
        let (app, room) = (&app, room.clone());
        async move { anonymous(app, Some(from), ENTER, json!({"id": room, "p": password})).await }
    };
    let checks_before = app.hub.password_checks();
    let mut first_refused = None;
    for i in 0..200 {
        let answer = guess("198.51.100.1", format!("{i:04}")).await;
        match answer.code() {
            "WRONG_PASSWORD" => {}
            "RATE_LIMITED" => {
                assert_rate_limited(&answer);
                first_refused.get_or_insert(i);
            }
            other => panic!("guess {i}: {other}: {}", answer.body),
        }
    }
    let runs = app.hub.password_checks() - checks_before;
    // Three free tries and a fourth that starts the back-off; the fifth waits (unless a whole second
    // passed between two requests of this loop).
    assert!(first_refused.is_some_and(|i| i <= 6), "first refusal at {first_refused:?}");
    assert!(runs < 30, "{runs} Argon2 runs for 200 guesses");
    assert!(runs >= 4, "the free tries were checked: {runs}");

    // The wait grows: from a second address, each wrong guess after the free ones doubles it.
    for i in 0..4 {
        assert_eq!(guess("198.51.100.2", format!("x{i}")).await.code(), "WRONG_PASSWORD");
    }
    let mut waits = Vec::new();
    for _ in 0..2 {
        let refused = guess("198.51.100.2", "again".into()).await;
        assert_rate_limited(&refused);
        let wait = refused.retry_after_ext().unwrap();
        waits.push(wait);
        tokio::time::sleep(Duration::from_secs(wait)).await;
        assert_eq!(guess("198.51.100.2", "still wrong".into()).await.code(), "WRONG_PASSWORD");
    }
    let refused = guess("198.51.100.2", "4729".into()).await;
    assert_rate_limited(&refused);
    waits.push(refused.retry_after_ext().unwrap());
    assert!(waits.windows(2).all(|w| w[0] < w[1]), "waits grow: {waits:?}");
    // Once the wait is over, the right password opens the room and clears the count.
    tokio::time::sleep(Duration::from_secs(*waits.last().unwrap())).await;
    assert_eq!(guess("198.51.100.2", "4729".into()).await.code(), "OK");
    for i in 0..2 {
        assert_eq!(guess("198.51.100.2", format!("y{i}")).await.code(), "WRONG_PASSWORD", "free again");
    }
}

#[tokio::test]
async fn guessing_spread_over_many_addresses_meets_the_room_budget() {
    let app = TestApp::spawn_with(|s| {
        trusting_loopback(s);
        s.hub.limits.passwords.per_room_per_hour = 6;
    })
    .await;
    let owner = app.member();
    let room = owner.create_room("금고", 5, Some("4729")).await;
    let other = owner.create_room("다른 금고", 5, Some("1111")).await;
    let checks_before = app.hub.password_checks();
    let mut codes = Vec::new();
    for i in 1..=10 {
        let answer = anonymous(&app, Some(&format!("203.0.113.{i}")), ENTER, json!({"id": room, "p": "0000"})).await;
        codes.push(answer.code().to_owned());
    }
    assert_eq!(codes[..6], ["WRONG_PASSWORD"; 6]);
    assert_eq!(codes[6..], ["RATE_LIMITED"; 4]);
    assert_eq!(app.hub.password_checks() - checks_before, 6, "refused guesses cost no Argon2 time");
    // Positive control: another room's budget is its own.
    let answer = anonymous(&app, Some("203.0.113.99"), ENTER, json!({"id": other, "p": "1111"})).await;
    assert_eq!(answer.code(), "OK", "{}", answer.body);
}

#[tokio::test]
async fn the_password_form_says_how_long_to_wait_and_stays_on_the_room() {
    let app = TestApp::spawn_with(|s| {
        s.hub.limits.passwords.free_tries = 1;
        s.hub.limits.passwords.backoff = Duration::from_secs(30);
    })
    .await;
    let owner = app.member();
    let room = owner.create_room("비밀 수다방", 5, Some("sesame")).await;
    // A visitor without a session, as one arriving by the room's link: the back-off is keyed by address.
    let guest = app.member();
    let enter = |password: &'static str| {
        let (guest, room) = (guest.clone(), room.clone());
        async move {
            guest
                .http
                .post(format!("{}/room/{room}/enter", guest.base))
                .header("origin", guest.base.clone())
                .header("accept-language", "ko")
                .form(&[("password", password)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(enter("one").await.status(), 403);
    assert_eq!(enter("two").await.status(), 403);
    let resp = enter("sesame").await;
    assert_eq!(resp.status(), 429, "even the right password waits its turn");
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!("{wait}초 후에 다시 시도하세요.")), "{html}");
    assert!(html.contains("<h1>비밀 수다방</h1>") && html.contains("id=\"password-form\""), "{html}");
    assert!(!html.contains("sesame"), "the tried password is not echoed");
}

#[tokio::test]
async fn websockets_beyond_the_cap_per_address_are_refused_with_429_while_the_first_keep_working() {
    let app = TestApp::spawn_with(|s| s.hub.limits.sockets_per_address = 3).await;
    let members: Vec<Member> = (0..4).map(|_| app.member()).collect();
    // Every member has a session (the first creates a room, the others enter it), so `me` answers below.
    let room = members[0].create_room("sockets", 5, None).await;
    for m in &members[1..] {
        assert_eq!(m.enter(&room).await, None);
    }
    let mut open = Vec::new();
    for m in &members[..3] {
        open.push(m.ws().await);
    }
    let fourth = &members[3];
    assert!(fourth.cookie_header().is_some(), "the fourth carries its session to the socket");
    match Ws::connect(&fourth.base, fourth.cookie_header(), None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429);
            let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(wait >= 1);
        }
        Err(e) => panic!("refused the wrong way: {e}"),
        Ok(_) => panic!("a fourth socket from one address was accepted"),
    }
    // The first three still work.
    for (i, ws) in open.iter_mut().enumerate() {
        let id = format!("me{i}");
        ws.subscribe(&id, "{ me { id } }", json!({})).await;
        let next = ws.recv().await.expect("answer");
        assert_eq!(next["type"], "next", "{next}");
        assert!(next["payload"]["data"]["me"]["id"].is_string());
    }
    // Closing one frees its place.
    open.pop().unwrap().close().await;
    let again = eventually("a place to free up", || async {
        Ws::connect(&fourth.base, fourth.cookie_header(), None).await.ok()
    })
    .await;
    drop(again);
}

#[tokio::test]
async fn a_flood_of_distinct_addresses_keeps_every_limiter_table_bounded() {
    const MAX_KEYS: usize = 50;
    let app = TestApp::spawn_with(|s| {
        trusting_loopback(s);
        s.hub.limits.max_keys = MAX_KEYS;
        // Buckets that stay in use for the whole test, so no key is forgotten as idle meanwhile.
        s.hub.limits.sessions_per_address = 2;
        s.hub.limits.rooms = PerMinute { member: 2, address: 2 };
    })
    .await;
    // A member from a known address (the proxy itself: no X-Forwarded-For) before the flood.
    let known = app.member();
    known.create_room("before", 5, None).await;
    let mut refused = 0;
    for i in 0..300u32 {
        let addr = format!("2001:db8:{:x}:{:x}::1", i / 256, i % 256);
        let answer = anonymous(&app, Some(&addr), CREATE, json!({"t": format!("r{i}")})).await;
        if answer.code() != "OK" {
            assert_rate_limited(&answer);
            refused += 1;
        }
    }
    let sizes = app.hub.limit_table_sizes();
    for (name, size) in &sizes {
        assert!(*size <= MAX_KEYS, "{name}: {size} keys");
    }
    // Positive control: the flood did reach the tables, and what did not fit was refused.
    let sessions = sizes.iter().find(|(n, _)| n == "sessions per address").unwrap().1;
    assert_eq!(sessions, MAX_KEYS, "{sizes:?}");
    assert!(refused >= 300 - MAX_KEYS, "refused {refused}");
    // Known keys are still served while the tables are full.
    known.create_room("after", 5, None).await;
}

/// Runs `gifchat serve` with `args` (and extra environment) on a fresh data directory; for refusals,
/// which exit before listening.
fn serve_refusal(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gifchat"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("GIFCHAT_DATA_DIR", dir.path())
        .env_remove("GIFCHAT_MONGODB_URI")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn limit_flags_that_make_no_sense_are_refused_with_a_clear_error() {
    // Not a usable value at all: clap's usage error (exit 2) names the flag.
    for arg in [
        "--address-rooms-per-minute=0",
        "--messages-per-minute=0",
        "--address-websockets=-1",
        "--limit-keys=99999999999",
        "--password-free-tries=-3",
        "--room-password-tries-per-hour=many",
        "--address-sessions-per-minute=1e3",
    ] {
        let (code, err) = serve_refusal(&[arg], &[]);
        assert_eq!(code, Some(2), "{arg}: {err}");
        let flag = arg.split('=').next().unwrap();
        assert!(err.contains(flag), "{arg}: {err}");
    }
    for value in ["10.0.0.0/33", "10.0.0.0/8;rm -rf /", "fe80::1%eth0", "localhost", "10.0.0.0/8,,junk"] {
        let (code, err) = serve_refusal(&[&format!("--trusted-proxies={value}")], &[]);
        assert_eq!(code, Some(2), "{value}: {err}");
        assert!(err.contains("--trusted-proxies") && err.contains("not an IP address or CIDR range"), "{value}: {err}");
    }
    let (code, err) = serve_refusal(&[], &[("GIFCHAT_TRUSTED_PROXIES", "garbage")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not an IP address or CIDR range"), "{err}");
    // Numbers that parse but cannot be a wait: one line naming the flag (exit 1).
    for (args, says) in [
        (&["--password-backoff-secs=NaN"][..], "--password-backoff-secs must be a non-negative number of seconds"),
        (&["--password-backoff-secs=0"], "--password-backoff-secs must be more than 0 seconds"),
        (&["--password-backoff-max-secs=1e400"], "--password-backoff-max-secs must be"),
        (
            &["--password-backoff-secs=10", "--password-backoff-max-secs=5"],
            "--password-backoff-max-secs must not be less than --password-backoff-secs",
        ),
    ] {
        let (code, err) = serve_refusal(args, &[]);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // Positive control: valid values pass parsing (the run then stops at the bad wait given with them).
    let (code, err) = serve_refusal(
        &[
            "--trusted-proxies=10.0.0.0/8, 192.0.2.1,2001:db8::/32,::ffff:10.0.0.0/104",
            "--address-rooms-per-minute=1",
            "--limit-keys=100",
            "--password-backoff-secs=-1",
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--password-backoff-secs") && !err.contains("--trusted-proxies"), "{err}");
}

#[test]
fn serve_help_documents_every_limit_with_its_environment_variable() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gifchat")).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for (flag, env) in [
        ("--trusted-proxies", "GIFCHAT_TRUSTED_PROXIES"),
        ("--messages-per-minute", "GIFCHAT_MESSAGES_PER_MINUTE"),
        ("--address-messages-per-minute", "GIFCHAT_ADDRESS_MESSAGES_PER_MINUTE"),
        ("--uploads-per-minute", "GIFCHAT_UPLOADS_PER_MINUTE"),
        ("--address-uploads-per-minute", "GIFCHAT_ADDRESS_UPLOADS_PER_MINUTE"),
        ("--rooms-per-minute", "GIFCHAT_ROOMS_PER_MINUTE"),
        ("--address-rooms-per-minute", "GIFCHAT_ADDRESS_ROOMS_PER_MINUTE"),
        ("--joins-per-minute", "GIFCHAT_JOINS_PER_MINUTE"),
        ("--address-joins-per-minute", "GIFCHAT_ADDRESS_JOINS_PER_MINUTE"),
        ("--typing-per-minute", "GIFCHAT_TYPING_PER_MINUTE"),
        ("--address-typing-per-minute", "GIFCHAT_ADDRESS_TYPING_PER_MINUTE"),
        ("--address-sessions-per-minute", "GIFCHAT_ADDRESS_SESSIONS_PER_MINUTE"),
        ("--address-websockets", "GIFCHAT_ADDRESS_WEBSOCKETS"),
        ("--password-free-tries", "GIFCHAT_PASSWORD_FREE_TRIES"),
        ("--password-backoff-secs", "GIFCHAT_PASSWORD_BACKOFF_SECS"),
        ("--password-backoff-max-secs", "GIFCHAT_PASSWORD_BACKOFF_MAX_SECS"),
        ("--room-password-tries-per-hour", "GIFCHAT_ROOM_PASSWORD_TRIES_PER_HOUR"),
        ("--limit-keys", "GIFCHAT_LIMIT_KEYS"),
    ] {
        assert!(help.contains(flag) && help.contains(env), "--help lacks {flag} / {env}");
    }
}
