//! The test harness: a real server on port 0 with a temporary data directory, members with their own
//! cookie jars speaking real HTTP, and a graphql-transport-ws client over a real WebSocket.
//!
//! With `GIFCHAT_TEST_MONGODB_URI` set (a connection string), every server uses a `MongoStore` on a
//! fresh database instead of SQLite; the database belongs to the data directory (its name is kept in a
//! file there), so restarting on the same directory finds the same data, as with SQLite.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt, TryStreamExt};
use reqwest::cookie::{CookieStore, Jar};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use gifchat::graphql::QueryLimits;
use gifchat::http::WebConfig;
use gifchat::hub::{HubConfig, LimitConfig, PasswordLimits, PerMinute};
use gifchat::store::{MongoStore, SqliteStore, Store};

/// How long any single wait may take before a test fails (functional timeout, not a speed assertion).
pub const WAIT: Duration = Duration::from_secs(5);

/// Settings a test may change before the server starts.
pub struct Settings {
    pub hub: HubConfig,
    pub web: WebConfig,
    pub limits: QueryLimits,
}

impl Default for Settings {
    fn default() -> Self {
        // Short grace and sweep periods by configuration (paused clocks fight real sockets). Every test
        // comes from 127.0.0.1 with many members, so the limits are out of the way unless a test sets one.
        let hub = HubConfig {
            grace: Duration::from_millis(600),
            tick: Duration::from_millis(50),
            limits: LimitConfig {
                rooms: PerMinute::both(10_000),
                messages: PerMinute::both(10_000),
                uploads: PerMinute::both(10_000),
                joins: PerMinute::both(10_000),
                typing: PerMinute::both(10_000),
                sessions_per_address: 100_000,
                sockets_per_address: 10_000,
                passwords: PasswordLimits {
                    free_tries: 10_000,
                    per_room_per_hour: 100_000,
                    ..PasswordLimits::default()
                },
                ..LimitConfig::default()
            },
            ..HubConfig::default()
        };
        Settings { hub, web: WebConfig::default(), limits: QueryLimits::default() }
    }
}

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    pub hub: Arc<gifchat::hub::Hub>,
    /// The store the server runs on (for tests that look underneath the API).
    pub store: Arc<dyn Store>,
    /// The database's connection string when running on MongoDB.
    pub mongodb_uri: Option<String>,
}

impl TestApp {
    /// A server with default test settings and a fresh data directory.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// A server with adjusted settings and a fresh data directory.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut app = Self::spawn_in(&dir, adjust).await;
        app._tmp = Some(tmp);
        app
    }

    /// A server on an existing data directory (for restarts); the caller keeps the directory alive.
    pub async fn spawn_in(dir: &Path, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let store = open_test_store(dir).await;
        let mut app = Self::spawn_on(dir, store, adjust).await;
        app.mongodb_uri = mongodb_uri_for(dir);
        app
    }

    /// A server on a given store (for tests of one backend, e.g. moving data between stores); `dir` is
    /// only its data directory as seen by the CLI helpers.
    pub async fn spawn_on(dir: &Path, store: Arc<dyn Store>, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = Settings::default();
        adjust(&mut settings);
        let state = gifchat::cli::build_state(store.clone(), settings.hub, settings.web, settings.limits);
        let hub = state.hub.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(gifchat::http::serve(listener, state, async move {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            base: format!("http://{addr}"),
            data_dir: dir.to_path_buf(),
            _tmp: None,
            stop: Some(tx),
            handle: Some(handle),
            hub,
            store,
            mongodb_uri: None,
        }
    }

    /// Everything the store holds, as bytes (the SQLite file, or every MongoDB document as BSON), for
    /// "this is never stored" checks.
    pub async fn raw_store_bytes(&self) -> Vec<u8> {
        let Some(uri) = &self.mongodb_uri else {
            // Recent commits sit in the write-ahead log until a checkpoint: read it too.
            let mut bytes = std::fs::read(self.data_dir.join("gifchat.sqlite3")).expect("read the SQLite file");
            if let Ok(wal) = std::fs::read(self.data_dir.join("gifchat.sqlite3-wal")) {
                bytes.extend(wal);
            }
            return bytes;
        };
        let client = mongodb::Client::with_uri_str(uri).await.expect("connect");
        let db = client.default_database().expect("the test URI names a database");
        let mut bytes = Vec::new();
        for name in db.list_collection_names().await.expect("list collections") {
            let docs: Vec<mongodb::bson::Document> =
                db.collection(&name).find(mongodb::bson::doc! {}).await.unwrap().try_collect().await.unwrap();
            for d in docs {
                d.to_writer(&mut bytes).unwrap();
            }
        }
        bytes
    }

    /// Every stored session row, expired ones included: (id, data JSON, expires_at in ms), by id. Read
    /// underneath the server: on SQLite through a read-only connection of its own (which sees what still
    /// sits in the write-ahead log), on MongoDB from the `sessions` collection.
    pub async fn session_rows(&self) -> Vec<(String, String, i64)> {
        let Some(uri) = &self.mongodb_uri else {
            let path = self.data_dir.join("gifchat.sqlite3");
            let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("open the SQLite file read-only");
            let mut stmt = conn.prepare("SELECT id, data, expires_at FROM sessions ORDER BY id").unwrap();
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
            return rows.collect::<rusqlite::Result<_>>().unwrap();
        };
        let client = mongodb::Client::with_uri_str(uri).await.expect("connect");
        let db = client.default_database().expect("the test URI names a database");
        let docs: Vec<mongodb::bson::Document> = db
            .collection("sessions")
            .find(mongodb::bson::doc! {})
            .sort(mongodb::bson::doc! { "_id": 1 })
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        docs.iter()
            .map(|d| {
                (
                    d.get_str("_id").unwrap().to_owned(),
                    d.get_str("data").unwrap().to_owned(),
                    d.get_i64("expires_at").unwrap(),
                )
            })
            .collect()
    }

    /// How many GIFs the store holds (files in the GIF folder, or documents in `gifs`).
    pub async fn stored_gif_count(&self) -> usize {
        let Some(uri) = &self.mongodb_uri else {
            return std::fs::read_dir(self.data_dir.join("gifs")).expect("gif folder").count();
        };
        let client = mongodb::Client::with_uri_str(uri).await.expect("connect");
        let db = client.default_database().expect("the test URI names a database");
        db.collection::<mongodb::bson::Document>("gifs").count_documents(mongodb::bson::doc! {}).await.unwrap() as usize
    }

    /// Shuts the server down and waits until `serve` returns.
    pub async fn stop(mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        let _ = self.stop.take().unwrap().send(());
        self.handle.take().unwrap()
    }

    /// Moves the temporary directory out so a restarted server can reuse it.
    pub fn take_dir(&mut self) -> tempfile::TempDir {
        self._tmp.take().expect("this app owns its directory")
    }

    /// A new anonymous visitor (own cookie jar) who can tell when their subscriptions are live.
    pub fn member(&self) -> Member {
        Member { hub: Some(self.hub.clone()), ..Member::new(&self.base) }
    }

    /// A raw HTTP client without cookies.
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    /// The positive control of every "this wrote no session" check: a cookie-less `createRoom` (which
    /// needs an identity) is answered with a `Set-Cookie`, so the header is seen whenever it is sent.
    pub async fn assert_a_new_session_sets_a_cookie(&self) {
        let create = json!({"query": "mutation { createRoom(title: \"cookie control\") { id } }"});
        let resp = self.http().post(format!("{}/graphql", self.base)).json(&create).send().await.unwrap();
        assert!(resp.headers().get("set-cookie").is_some(), "a new session came without a Set-Cookie");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The MongoDB connection string the suite runs against, when `GIFCHAT_TEST_MONGODB_URI` is set.
pub fn test_mongodb_uri() -> Option<String> {
    std::env::var("GIFCHAT_TEST_MONGODB_URI").ok().filter(|s| !s.trim().is_empty())
}

/// The MongoDB connection string for a test that only makes sense on MongoDB. Such tests are `#[ignore]`d
/// with a reason, so a run without MongoDB lists them as not run; run with `--include-ignored` but without
/// the variable, they fail here rather than pass without checking anything.
pub fn required_mongodb_uri() -> String {
    test_mongodb_uri().expect("this test needs GIFCHAT_TEST_MONGODB_URI (a MongoDB or nx-27017; see .ci/run)")
}

/// Whether the MongoDB server at `uri` is nx-27017 (a MongoDB wire-protocol emulator on SQLite, the CI's
/// test server) rather than MongoDB. `GIFCHAT_TEST_MONGODB_IS_NX` (`1` or `0`) decides when set;
/// otherwise the server is asked: nx-27017 answers `buildInfo` with `process: "nx_27017"`, which no
/// MongoDB does.
pub async fn mongodb_is_nx(uri: &str) -> bool {
    if let Ok(flag) = std::env::var("GIFCHAT_TEST_MONGODB_IS_NX") {
        return flag.trim() == "1";
    }
    let client = mongodb::Client::with_uri_str(uri).await.expect("connect");
    let info = client.database("admin").run_command(mongodb::bson::doc! { "buildInfo": 1 }).await.expect("buildInfo");
    info.get_str("process") == Ok("nx_27017")
}

/// nx-27017 deviation: `{kicked: id}` (equality on an array field) finds nothing once the field is indexed.
pub const NX_ARRAY_EQUALITY: &str = concat!(
    "an equality match on an array field ({kicked: id}) finds nothing once the field is indexed; ",
    "MongoDB matches any element"
);
/// nx-27017 deviation: an index whose key names `_id` beside another field breaks its collection.
pub const NX_INDEX_ON_ID: &str = concat!(
    "an index whose key names _id beside another field fails on existing documents and every later insert ",
    "(\"JSON path error near '_id'\")"
);

/// Ends a test early, loudly, when the suite runs against nx-27017 and the test meets `deviation` there;
/// it runs in full on SQLite and on MongoDB. Returns whether to skip (the caller returns).
pub async fn skip_on_nx(deviation: &str) -> bool {
    let Some(uri) = test_mongodb_uri() else { return false };
    let skip = mongodb_is_nx(&uri).await;
    if skip {
        nx_skip_notice(deviation);
    }
    skip
}

/// Says on the real stderr (the test harness captures `eprintln!` of passing tests) what a test left out
/// on nx-27017 and why, so a CI log shows every skip.
pub fn nx_skip_notice(deviation: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED on nx-27017, which deviates from MongoDB here: {deviation}");
}

/// nx-27017 0.8.1 turns an index whose key names `_id` beside another field into one that fails every
/// later insert into its collection ("JSON path error near '_id'"). The lobby's listing indexes are such
/// indexes, written to MongoDB's rules; they only make the listing fast, so on nx (and only there) the
/// harness drops them after migrating, and every other test still runs on nx. nx ignores the names
/// given to indexes and names them after their fields (so `…__id`), which is how they are found here.
pub async fn nx_drop_indexes_naming_id(uri: &str) {
    if !mongodb_is_nx(uri).await {
        return;
    }
    let client = mongodb::Client::with_uri_str(uri).await.expect("connect");
    let db = client.default_database().expect("the test URI names a database");
    for name in db.list_collection_names().await.expect("list collections") {
        let collection = db.collection::<mongodb::bson::Document>(&name);
        let indexes: Vec<mongodb::IndexModel> =
            collection.list_indexes().await.expect("list indexes").try_collect().await.expect("indexes");
        for index in indexes {
            let Some(index_name) = index.options.and_then(|o| o.name) else { continue };
            if index_name.ends_with("__id") || index_name.contains("__id_") {
                collection.drop_index(index_name).await.expect("drop an index nx-27017 cannot keep");
            }
        }
    }
}

/// Migrates the test MongoDB database at `uri` (see [`nx_drop_indexes_naming_id`] for nx-27017).
pub async fn migrate_test_database(uri: &str) {
    MongoStore::connect(uri).await.expect("connect to the test MongoDB").migrate().await.expect("migrate");
    nx_drop_indexes_naming_id(uri).await;
}

/// `uri` with its database path replaced by `db` (query options kept).
pub fn uri_with_database(uri: &str, db: &str) -> String {
    let (base, query) = match uri.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (uri, None),
    };
    let hosts_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let hosts_end = base[hosts_start..].find('/').map(|i| hosts_start + i).unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..hosts_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// In MongoDB mode, the URI of the database that belongs to `dir`: a fresh, uniquely named database
/// the first time, the same one afterwards (the name is kept in `dir`).
pub fn mongodb_uri_for(dir: &Path) -> Option<String> {
    let uri = test_mongodb_uri()?;
    let marker = dir.join("mongodb-database");
    let name = match std::fs::read_to_string(&marker) {
        Ok(name) => name.trim().to_owned(),
        Err(_) => {
            std::fs::create_dir_all(dir).expect("data dir");
            let name = format!("gifchat_test_{}", ulid::Ulid::new().to_string().to_lowercase());
            std::fs::write(&marker, &name).expect("write the database name");
            name
        }
    };
    Some(uri_with_database(&uri, &name))
}

/// The store for `dir`: a migrated `MongoStore` in MongoDB mode, else the `SqliteStore` in `dir`.
pub async fn open_test_store(dir: &Path) -> Arc<dyn Store> {
    match mongodb_uri_for(dir) {
        Some(uri) => {
            migrate_test_database(&uri).await;
            Arc::new(MongoStore::open(&uri).await.expect("open MongoStore"))
        }
        None => Arc::new(SqliteStore::open(dir).expect("open store")),
    }
}

/// The environment that points a `gifchat` child process at `dir`'s store.
pub fn cli_store_env(dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = vec![("GIFCHAT_DATA_DIR", dir.display().to_string())];
    env.extend(mongodb_uri_for(dir).map(|uri| ("GIFCHAT_MONGODB_URI", uri)));
    env
}

/// Makes `dir`'s store ready for a child process that is not `migrate` (on MongoDB, `serve` and
/// `rooms` refuse an unmigrated database; the embedded store migrates itself).
pub fn prepare_cli_store(dir: &Path) {
    let Some(uri) = mongodb_uri_for(dir) else { return };
    // Its own thread and runtime: callers may be inside a runtime already.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(migrate_test_database(&uri))
    })
    .join()
    .unwrap();
}

/// A visitor with a cookie jar: their session is their identity.
#[derive(Clone)]
pub struct Member {
    pub base: String,
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
    /// The server's hub when it runs in this process ([`TestApp::member`]): [`Member::join`] asks it when a
    /// further tab is seated, which nothing on the wire shows.
    hub: Option<Arc<gifchat::hub::Hub>>,
}

impl Member {
    /// A visitor of a server at `base` (one in another process, too).
    pub fn new(base: &str) -> Member {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Member { base: base.to_owned(), http, jar, hub: None }
    }

    /// Same identity, on another server (after a restart on a new port).
    pub fn at(&self, app: &TestApp) -> Member {
        Member { hub: Some(app.hub.clone()), ..self.at_base(&app.base) }
    }

    /// The same browser (its cookies) at a server in another process, known only by its `base` URL.
    pub fn at_base(&self, base: &str) -> Member {
        let url: reqwest::Url = self.base.parse().unwrap();
        let jar = Arc::new(Jar::default());
        if let Some(cookies) = self.jar.cookies(&url) {
            let new_url: reqwest::Url = base.parse().unwrap();
            for c in cookies.to_str().unwrap().split("; ") {
                jar.add_cookie_str(c, &new_url);
            }
        }
        let http = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
        Member { base: base.to_owned(), http, jar, hub: None }
    }

    /// Runs a GraphQL operation and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("graphql request");
        assert!(resp.status().is_success(), "graphql status {}", resp.status());
        resp.json().await.expect("graphql json")
    }

    /// Runs an operation that must succeed and returns `data`.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs an operation that must fail and returns the first error's `extensions.code`.
    pub async fn err_code(&self, query: &str, variables: Value) -> String {
        let body = self.gql(query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error code: {body}"))
            .to_owned()
    }

    /// `me { id color }` of a visitor who has a session (created by their first `createRoom` or admitted
    /// `enterRoom`; looking creates none).
    pub async fn me(&self) -> (String, String) {
        self.me_opt().await.expect("this visitor has no session yet: create or enter a room first")
    }

    /// `me { id color }`, or `None` for a visitor without a session.
    pub async fn me_opt(&self) -> Option<(String, String)> {
        let d = self.ok("{ me { id color } }", json!({})).await;
        if d["me"].is_null() {
            return None;
        }
        Some((d["me"]["id"].as_str().unwrap().to_owned(), d["me"]["color"].as_str().unwrap().to_owned()))
    }

    /// `enterRoom(id)` without a password; returns the error code, if any. Once let in, the visitor has a
    /// session (as opening the room's page gives one).
    pub async fn enter(&self, room: &str) -> Option<String> {
        let body = self.gql("mutation($r: ID!) { enterRoom(id: $r) { id } }", json!({ "r": room })).await;
        body["errors"][0]["extensions"]["code"].as_str().map(str::to_owned)
    }

    /// Creates a room and returns its id.
    pub async fn create_room(&self, title: &str, capacity: i64, password: Option<&str>) -> String {
        let d = self
            .ok(
                "mutation($t: String!, $c: Int, $p: String) { createRoom(title: $t, capacity: $c, password: $p) { id } }",
                json!({ "t": title, "c": capacity, "p": password }),
            )
            .await;
        d["createRoom"]["id"].as_str().unwrap().to_owned()
    }

    /// Sends a message and returns its seq.
    pub async fn send(&self, room: &str, text: &str) -> i64 {
        let d = self
            .ok(
                "mutation($r: ID!, $t: String!) { sendMessage(roomId: $r, text: $t) { seq } }",
                json!({ "r": room, "t": text }),
            )
            .await;
        d["sendMessage"]["seq"].as_i64().unwrap()
    }

    /// The Cookie header for this member (to carry the session onto a WebSocket).
    pub fn cookie_header(&self) -> Option<String> {
        let url: reqwest::Url = self.base.parse().unwrap();
        self.jar.cookies(&url).map(|v| v.to_str().unwrap().to_owned())
    }

    /// Opens a graphql-transport-ws socket with this member's cookie (none for a visitor without a
    /// session, like a lobby that was only looked at) and completes the handshake.
    pub async fn ws(&self) -> Ws {
        let mut ws = Ws::connect(&self.base, self.cookie_header(), None).await.expect("ws connect");
        ws.init().await;
        ws
    }

    /// Opens a socket, subscribes to `room(id, after)` as `"r"` and returns once the subscription is live:
    /// its connection holds the seat, so every event from now on reaches it. The signal is the server's
    /// hub numbering this connection on the member's seat (a further tab posts nothing, so nothing on the
    /// wire shows it), or else the subscription's first answer (its first item, an error, its end) — which
    /// stays unread for the test. Without a hub (a server in another process), only the first answer.
    /// A visitor without a session first enters the room over HTTP, as a browser opens the room's page
    /// before its socket (a refusal there leaves them without one, and the subscription then says
    /// `NO_SESSION`).
    pub async fn join(&self, room: &str, after: Option<i64>) -> Ws {
        if self.cookie_header().is_none() {
            self.enter(room).await;
        }
        let mut ws = self.ws().await;
        let seat = match &self.hub {
            Some(hub) => {
                let ids = (gifchat::domain::RoomId::parse(room), gifchat::domain::MemberId::parse(&self.me().await.0));
                let (Some(room_id), Some(member)) = ids else { panic!("join needs a room id and a session") };
                let before = hub.latest_connection(&room_id, &member).await;
                Some((hub, room_id, member, before))
            }
            None => None,
        };
        ws.subscribe_room("r", room, after).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some((hub, room_id, member, before)) = &seat {
                if matches!(hub.latest_connection(room_id, member).await, Some(n) if Some(n) != *before) {
                    return ws;
                }
            }
            // Between two looks at the hub, whatever the socket says first.
            match tokio::time::timeout(Duration::from_millis(20), ws.inner.next()).await {
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) | Err(_) => {}
                Ok(frame) => {
                    ws.pending.push_back(frame);
                    return ws;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "the subscription to {room} was never live");
        }
    }
}

pub type RawWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A graphql-transport-ws client over a real WebSocket.
pub struct Ws {
    pub inner: RawWs,
    /// Frames read ahead (by [`Member::join`]) and not yet handed to the test; read them through
    /// [`Ws::next_frame`] and the helpers built on it.
    pending: std::collections::VecDeque<Option<Result<Message, tokio_tungstenite::tungstenite::Error>>>,
}

/// The selection used for room subscriptions in tests.
pub const ROOM_SUB: &str = "subscription($id: ID!, $after: Int) { room(id: $id, after: $after) {
    __typename
    ... on RoomEvent { seq kind text gifUrl member { id color } target { id } }
    ... on RoomResync { latestSeq }
    ... on RoomClosed { reason }
    ... on MemberTyping { member { id } } } }";

impl Ws {
    /// Wraps a socket the test opened itself (to set its own headers on the upgrade).
    pub fn from_raw(inner: RawWs) -> Self {
        Ws { inner, pending: Default::default() }
    }

    /// Opens the socket (offering the subprotocol) with optional Cookie and Origin headers.
    pub async fn connect(
        base: &str,
        cookie: Option<String>,
        origin: Option<&str>,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
        let mut req = url.into_client_request()?;
        req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
        if let Some(c) = cookie {
            req.headers_mut().insert("cookie", HeaderValue::from_str(&c).unwrap());
        }
        if let Some(o) = origin {
            req.headers_mut().insert("origin", HeaderValue::from_str(o).unwrap());
        }
        let (inner, _resp) = tokio_tungstenite::connect_async(req).await?;
        Ok(Ws::from_raw(inner))
    }

    /// The next frame: one read ahead first, then the socket's.
    pub async fn next_frame(&mut self) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
        match self.pending.pop_front() {
            Some(frame) => frame,
            None => self.inner.next().await,
        }
    }

    pub async fn send_json(&mut self, v: Value) {
        self.inner.send(Message::Text(v.to_string().into())).await.expect("ws send");
    }

    /// `connection_init` → `connection_ack`.
    pub async fn init(&mut self) {
        self.send_json(json!({"type": "connection_init"})).await;
        let ack = self.recv().await.expect("ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send_json(json!({"type": "subscribe", "id": id, "payload": {"query": query, "variables": variables}}))
            .await;
    }

    pub async fn subscribe_room(&mut self, id: &str, room: &str, after: Option<i64>) {
        self.subscribe(id, ROOM_SUB, json!({"id": room, "after": after})).await;
    }

    /// The next JSON message, skipping pings; `None` when the socket closed. Panics after [`WAIT`].
    pub async fn recv(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.next_frame()).await.expect("timed out waiting for a ws message");
            match msg {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).expect("json")),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Waits for the close frame and returns its code.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.next_frame()).await.expect("timed out waiting for close");
            match msg {
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next room item (payload of a `next` for subscription `id`).
    pub async fn next_item(&mut self, id: &str) -> Value {
        loop {
            let m = self.recv().await.expect("socket closed while waiting for an item");
            if m["id"] == id && m["type"] == "next" {
                return m["payload"]["data"]["room"].clone();
            }
            if m["id"] == id && m["type"] == "error" {
                panic!("subscription failed: {m}");
            }
        }
    }

    /// The next room *event* of subscription `id`, skipping nothing: fails on other item types.
    pub async fn next_event(&mut self, id: &str) -> Value {
        let item = self.next_item(id).await;
        assert_eq!(item["__typename"], "RoomEvent", "expected an event, got {item}");
        item
    }

    /// Whether a message arrives within `d` (for "nothing is posted" checks).
    pub async fn quiet_for(&mut self, d: Duration) -> Option<Value> {
        match tokio::time::timeout(d, self.next_frame()).await {
            Err(_) => None,
            Ok(Some(Ok(Message::Text(t)))) => Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(other) => Some(json!({ "frame": format!("{other:?}") })),
        }
    }

    pub async fn close(mut self) {
        let _ = self.inner.close(None).await;
    }
}

/// Polls `check` until it returns Some, or panics after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
