//! MongoDB only: `migrate` and its schema check, moving an embedded store into MongoDB, and faults
//! (unreachable at start; the server process stopped and restarted while gifchat serves).
//!
//! Tests that need a database are ignored (with the reason) unless run with `--include-ignored` and
//! `GIFCHAT_TEST_MONGODB_URI`, as the MongoDB pass of .ci/run does; the stop/restart test starts
//! its own nx-27017 process (from `GIFCHAT_TEST_NX27017`, or `.ci/venv/bin/nx-27017`) on a file database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use gifchat::store::{MongoStore, SqliteStore, Store};

use crate::gif_corpus as corpus;
use crate::support::*;

/// Runs the binary to completion; a command still running after 20 s (e.g. a `serve` that should have
/// refused to start) is killed and fails the test instead of hanging it.
fn gifchat(args: &[&str], env: &[(&str, &str)]) -> Output {
    gifchat_within(args, env, Duration::from_secs(20))
}

/// Runs the binary and fails the test if it has not exited within `limit` (a functional deadline the issue
/// sets, e.g. "exit within 10 s", enforced as a timeout on the wait rather than a measured duration).
fn gifchat_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gifchat"))
        .args(args)
        // Only what the test says: never an inherited URI or data directory.
        .env_remove("GIFCHAT_MONGODB_URI")
        .env_remove("GIFCHAT_DATA_DIR")
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gifchat");
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gifchat {args:?} did not exit within {limit:?}: {:?}", child.wait_with_output());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

/// A fresh, uniquely named database on the test server.
fn fresh_database(base: &str) -> String {
    uri_with_database(base, &format!("gifchat_test_{}", ulid::Ulid::new().to_string().to_lowercase()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn an_unreachable_mongodb_at_start_exits_within_ten_seconds_with_one_clear_line() {
    let uri = format!("mongodb://127.0.0.1:{}/gifchat?directConnection=true", free_port());
    for args in [&["serve", "--listen", "127.0.0.1:0", "--mongodb-uri", &uri][..], &["migrate", "--mongodb-uri", &uri]]
    {
        let out = gifchat_within(args, &[], Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains("cannot reach MongoDB at 127.0.0.1:"), "{err}");
        assert!(!err.contains("directConnection"), "the URI (which may hold a password) is not printed: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
async fn migrate_creates_the_schema_once_and_serve_refuses_an_unmigrated_database() {
    let base = required_mongodb_uri();
    let uri = fresh_database(&base);
    let env = [("GIFCHAT_MONGODB_URI", uri.as_str())];
    let refused = gifchat_within(&["serve", "--listen", "127.0.0.1:0"], &env, Duration::from_secs(10));
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let err = text(&refused.stderr);
    assert!(err.contains("schema version is 0") && err.contains("run `gifchat migrate`"), "{err}");
    assert!(!gifchat(&["rooms", "list"], &env).status.success(), "rooms refuses too");

    let first = gifchat(&["migrate"], &env);
    assert!(first.status.success(), "{first:?}");
    let current = gifchat::store::MONGO_SCHEMA_VERSION;
    assert!(text(&first.stdout).contains(&format!("from version 0 to {current}")), "{first:?}");
    let again = gifchat(&["migrate", "--mongodb-uri", &uri], &[]);
    assert!(text(&again.stdout).contains(&format!("up to date (version {current})")), "{again:?}");
    listing_indexes_sort_whole(&uri).await;

    nx_drop_indexes_naming_id(&uri).await;
    let created = gifchat(&["rooms", "create", "--title", "on mongo"], &env);
    assert!(created.status.success(), "{created:?}");
    let list: Value = serde_json::from_slice(&gifchat(&["rooms", "list", "--json"], &env).stdout).unwrap();
    assert_eq!(list[0]["title"], "on mongo");

    // The indexes the atomic rules depend on exist (by their keys: names are the server's business).
    let db = mongodb::Client::with_uri_str(&uri).await.unwrap().default_database().unwrap();
    let wanted = [
        ("events", mongodb::bson::doc! { "room_id": 1, "seq": 1 }, true),
        ("events", mongodb::bson::doc! { "room_id": 1, "member": 1, "client_key": 1 }, true),
        ("outbox", mongodb::bson::doc! { "n": 1 }, true),
        ("sessions", mongodb::bson::doc! { "expires": 1 }, false),
    ];
    for (collection, keys, unique) in wanted {
        let indexes: Vec<mongodb::IndexModel> = futures::TryStreamExt::try_collect(
            db.collection::<mongodb::bson::Document>(collection).list_indexes().await.unwrap(),
        )
        .await
        .unwrap();
        let found = indexes.iter().find(|i| i.keys.keys().eq(keys.keys()));
        let found = found.unwrap_or_else(|| panic!("{collection} lacks an index on {keys}: {indexes:?}"));
        let options = found.options.clone().unwrap_or_default();
        assert_eq!(options.unique.unwrap_or(false), unique, "{collection} {keys}");
        if collection == "sessions" {
            assert_eq!(options.expire_after, Some(Duration::ZERO), "sessions expire by TTL");
        }
    }
}

/// The lobby's two listing queries each have an index holding their whole sort (MongoDB's rule for
/// compound indexes: equality, then the sort's fields in its order), and version 2's partial index on
/// `last_activity` alone is gone. nx-27017 lists such keys without their `_id` part: checked on MongoDB.
async fn listing_indexes_sort_whole(uri: &str) {
    if mongodb_is_nx(uri).await {
        nx_skip_notice("the index check: it lists a key naming _id without that part");
        return;
    }
    use mongodb::bson::doc;
    let db = mongodb::Client::with_uri_str(uri).await.unwrap().default_database().unwrap();
    let indexes: Vec<mongodb::IndexModel> = futures::TryStreamExt::try_collect(
        db.collection::<mongodb::bson::Document>("rooms").list_indexes().await.unwrap(),
    )
    .await
    .unwrap();
    let keys: Vec<&mongodb::bson::Document> = indexes.iter().map(|i| &i.keys).collect();
    let active = indexes.iter().find(|i| i.keys == doc! { "last_activity": -1, "_id": -1 });
    let active = active.unwrap_or_else(|| panic!("no index for rooms with people: {keys:?}"));
    let partial = active.options.as_ref().and_then(|o| o.partial_filter_expression.clone());
    assert_eq!(partial, Some(doc! { "present_count": { "$gt": 0 } }), "only rooms with people");
    assert!(keys.contains(&&doc! { "present_count": 1, "_id": -1 }), "no index for empty rooms: {keys:?}");
    // Version 2's index is gone; the positive control is the `kicked` index, read in the same list.
    assert!(!keys.contains(&&doc! { "last_activity": -1 }), "version 2's index was left: {keys:?}");
    assert!(keys.contains(&&doc! { "kicked": 1 }), "{keys:?}");
}

#[test]
fn from_data_dir_needs_a_mongodb_uri_and_an_existing_store() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    let out = gifchat(&["migrate", "--from-data-dir", dir], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--mongodb-uri"), "{out:?}");
}

#[test]
#[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
fn from_data_dir_refuses_a_directory_without_an_embedded_store() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    let base = required_mongodb_uri();
    let out = gifchat(&["migrate", "--mongodb-uri", &fresh_database(&base), "--from-data-dir", dir], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("holds no embedded store"), "{out:?}");
}

async fn upload(m: &Member, room: &str, bytes: Vec<u8>) -> String {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("a.gif").mime_str("image/gif").unwrap();
    let form = reqwest::multipart::Form::new().part("gif", part);
    let resp = m.http.post(format!("{}/room/{room}/gif", m.base)).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned()
}

const HISTORY: &str = "query($r: ID!) { messages(roomId: $r) { seq kind text gifUrl member { id } } }";

#[tokio::test]
#[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
async fn a_user_moving_from_the_embedded_store_keeps_rooms_messages_sessions_and_gifs() {
    let base = required_mongodb_uri();
    // Data made by a real server on the embedded store.
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let app = TestApp::spawn_on(dir.path(), sqlite, |_| {}).await;
    let a = app.member();
    let room = a.create_room("moving house", 5, Some("open sesame")).await;
    let identity = a.me().await;
    let mut ws = a.join(&room, None).await;
    ws.next_event("r").await;
    a.send(&room, "first").await;
    let gif = upload(&a, &room, corpus::animated_gif()).await;
    a.send(&room, "last").await;
    let before = a.ok(HISTORY, json!({"r": room})).await["messages"].clone();
    ws.close().await;
    app.stop().await.await.unwrap().unwrap();

    let uri = fresh_database(&base);
    // On nx-27017 the schema is made (and the indexes it cannot keep dropped) first, as for every test
    // database; `migrate` then finds the schema current and only copies.
    if mongodb_is_nx(&uri).await {
        migrate_test_database(&uri).await;
    }
    let from = dir.path().to_str().unwrap();
    let out = gifchat(&["migrate", "--mongodb-uri", &uri, "--from-data-dir", from], &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).contains("1 rooms, 4 events, 1 sessions, 1 GIFs"), "{out:?}");
    // Safe to repeat: nothing is copied twice.
    let again = gifchat(&["migrate", "--mongodb-uri", &uri, "--from-data-dir", from], &[]);
    assert!(text(&again.stdout).contains("1 rooms, 0 events, 1 sessions, 0 GIFs"), "{again:?}");

    let mongo: Arc<dyn Store> = Arc::new(MongoStore::open(&uri).await.unwrap());
    // The copied GIF counts toward the quotas, once, however often the copy ran.
    let size = corpus::animated_gif().len() as u64;
    let usage = mongo.gif_usage(&gifchat::domain::RoomId::parse(&room).unwrap()).await.unwrap();
    assert_eq!(usage, gifchat::store::GifUsage { room: size, total: size });
    // A long grace period: the copied seat of `a` must not expire (and empty the room) mid-test.
    let app = TestApp::spawn_on(dir.path(), mongo, |s| s.hub.grace = Duration::from_secs(30)).await;
    let a = a.at(&app);
    assert_eq!(a.me().await, identity, "same cookie, same member, same colour");
    assert_eq!(a.ok(HISTORY, json!({"r": room})).await["messages"], before, "the same history, seq for seq");
    let served = app.http().get(format!("{}{gif}", app.base)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(served.to_vec(), corpus::animated_gif());
    // The password hash came along: a stranger still needs the password.
    let q = "mutation($id: ID!, $p: String) { enterRoom(id: $id, password: $p) { id } }";
    let stranger = app.member();
    assert_eq!(stranger.err_code(q, json!({"id": room, "p": "wrong"})).await, "WRONG_PASSWORD");
    stranger.ok(q, json!({"id": room, "p": "open sesame"})).await;
    // And the room goes on where it stopped.
    let mut ws = a.join(&room, Some(before.as_array().unwrap().last().unwrap()["seq"].as_i64().unwrap())).await;
    let next = a.send(&room, "after the move").await;
    assert_eq!(ws.next_event("r").await["seq"], next);
}

/// An nx-27017 process on a file database (it survives the process), stopped and started at will.
struct NxServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

fn nx_binary() -> PathBuf {
    let path = std::env::var_os("GIFCHAT_TEST_NX27017")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/venv/bin/nx-27017"));
    assert!(path.exists(), "{} not found: install nx-27017 (see README) or set GIFCHAT_TEST_NX27017", path.display());
    path
}

impl NxServer {
    fn start(dir: &Path, port: u16) -> NxServer {
        let mut server = NxServer { child: None, port, dir: dir.to_path_buf() };
        server.restart();
        server
    }

    /// Starts the process and waits until it accepts connections.
    fn restart(&mut self) {
        let d = &self.dir;
        let child = Command::new(nx_binary())
            .arg("--db")
            .arg(d.join("nx.db"))
            .args(["-p", &self.port.to_string()])
            .arg("--log-file")
            .arg(d.join("nx.log"))
            .arg("--pid-file")
            .arg(d.join("nx.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nx-27017");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nx-27017 did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process (as a crash would) and waits for it.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NxServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends a message over raw HTTP and says how it ended: `Ok(seq)`, or `Err` with the HTTP status and
/// GraphQL error code (a dropped connection or a garbled answer fails the test: that would be a panic).
async fn try_send(m: &Member, room: &str, text: &str) -> Result<i64, (u16, String)> {
    let q = "mutation($r: ID!, $t: String!) { sendMessage(roomId: $r, text: $t) { seq } }";
    let resp = m
        .http
        .post(format!("{}/graphql", m.base))
        .json(&json!({"query": q, "variables": {"r": room, "t": text}}))
        .send()
        .await
        .expect("the server answers (no panic, no dropped connection)");
    let status = resp.status().as_u16();
    if status != 200 {
        return Err((status, String::new()));
    }
    let body: Value = resp.json().await.expect("a JSON answer");
    match body["data"]["sendMessage"]["seq"].as_i64() {
        Some(seq) => Ok(seq),
        None => Err((status, body["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_owned())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MongoDB: set GIFCHAT_TEST_MONGODB_URI (the MongoDB pass of .ci/run runs it with --include-ignored)"]
async fn mongodb_gone_while_serving_fails_with_internal_is_not_ready_and_service_resumes_when_it_returns() {
    required_mongodb_uri();
    let tmp = tempfile::tempdir().unwrap();
    let mut nx = tokio::task::block_in_place(|| NxServer::start(tmp.path(), free_port()));
    // A short selection timeout keeps each failing request short; production keeps the 5 s default.
    let uri =
        format!("mongodb://127.0.0.1:{}/gifchat_fault?directConnection=true&serverSelectionTimeoutMS=1000", nx.port);
    migrate_test_database(&uri).await;
    let store: Arc<dyn Store> = Arc::new(MongoStore::open(&uri).await.unwrap());
    let app = TestApp::spawn_on(tmp.path(), store, |_| {}).await;
    let m = app.member();
    let room = m.create_room("faults", 5, None).await;
    let identity = m.me().await;
    let mut ws = m.join(&room, None).await;
    ws.next_event("r").await;
    let acknowledged = m.send(&room, "before").await;

    tokio::task::block_in_place(|| nx.stop());
    for attempt in 0..3 {
        let refused = try_send(&m, &room, &format!("during {attempt}")).await;
        match refused {
            Err((200, code)) => assert_eq!(code, "INTERNAL"),
            Err((status, _)) => assert!(status == 500 || status == 503, "status {status}"),
            Ok(seq) => panic!("a write succeeded with the database down: seq {seq}"),
        }
    }
    let ready = app.http().get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503, "not ready while the store is down");
    assert_eq!(ready.text().await.unwrap(), "store unreachable", "it says what is down");
    let alive = app.http().get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(alive.status(), 200, "yet alive: nothing to gain from restarting it");

    tokio::task::block_in_place(|| nx.restart());
    let seq = eventually("service resumes", || async { try_send(&m, &room, "after").await.ok() }).await;
    assert_eq!(seq, acknowledged + 1, "nothing was half-written while the database was down");
    let history = m.ok(HISTORY, json!({"r": room})).await["messages"].to_string();
    assert!(history.contains("\"before\"") && history.contains("\"after\""), "{history}");
    assert!(!history.contains("during"), "{history}");
    assert_eq!(m.me().await, identity, "the outage did not cost the member their identity");
    assert_eq!(app.http().get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 200);
}
