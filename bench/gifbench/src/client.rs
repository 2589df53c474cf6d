//! The generator's side of each server's protocol, behind one [`Target`]: a member (gifchat: a cookie
//! session from its first action), rooms, sends, and live sockets that feed a [`Recorder`]. The scenarios are
//! written once against this; only this module knows how gifchat, the bare server and Socket.IO differ.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::docs::PageDocs;
use crate::stats::Recorder;

/// Time allowed for any one setup step (connect, handshake, first frame).
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Which server a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// gifchat on the embedded SQLite store.
    Gifchat,
    /// gifchat on MongoDB (nx-27017 or a given URI).
    GifchatMongo,
    /// `gifbench bare-server`.
    Bare,
    /// bench/socketio/server.js.
    SocketIo,
}

impl Kind {
    /// The column name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Gifchat => "gifchat",
            Kind::GifchatMongo => "gifchat (MongoDB)",
            Kind::Bare => "bare",
            Kind::SocketIo => "socket.io",
        }
    }

    /// Whether this is gifchat (either store).
    fn is_gifchat(self) -> bool {
        matches!(self, Kind::Gifchat | Kind::GifchatMongo)
    }
}

/// A client socket.
type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One visitor: gifchat knows them by the session cookie; the baselines have no identity. gifchat sets
/// the cookie on the first action that needs an identity (creating or entering a room), not on a page
/// view, so it is kept from whichever answer carries it; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Member {
    cookie: Arc<std::sync::Mutex<Option<String>>>,
}

impl Member {
    fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Keeps the session cookie a response sets, if any.
    fn remember(&self, headers: &reqwest::header::HeaderMap) {
        let set = headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|c| c.split_once('=').is_some_and(|(_, value)| !value.is_empty()));
        if let Some(c) = set {
            *self.cookie.lock().unwrap_or_else(|p| p.into_inner()) = Some(c.to_owned());
        }
    }
}

/// A live socket; dropping it closes the connection.
pub struct Live {
    task: JoinHandle<()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server under test, as the generator talks to it.
#[derive(Clone)]
pub struct Target {
    /// Which server.
    pub kind: Kind,
    origin: String,
    ws_base: String,
    http: reqwest::Client,
    docs: Arc<PageDocs>,
}

impl Target {
    /// A target on 127.0.0.1:`port`.
    pub fn new(kind: Kind, port: u16, docs: Arc<PageDocs>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            kind,
            origin: format!("http://127.0.0.1:{port}"),
            ws_base: format!("ws://127.0.0.1:{port}"),
            http,
            docs,
        })
    }

    /// A new visitor. gifchat: `GET /` (the lobby page, as a browser arrives); the session cookie comes
    /// with the first action that needs one.
    pub async fn member(&self) -> Result<Member> {
        let m = Member::default();
        if self.kind.is_gifchat() {
            let res = self.http.get(format!("{}/", self.origin)).send().await?.error_for_status()?;
            m.remember(res.headers());
        }
        Ok(m)
    }

    /// One GraphQL operation by `POST /graphql` as the pages send it; returns `data` or the first error.
    async fn graphql(&self, m: &Member, query: &str, variables: Value) -> Result<Value> {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.origin))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("origin", &self.origin)
            .body(json!({ "query": query, "variables": variables }).to_string());
        if let Some(c) = m.cookie() {
            req = req.header("cookie", c);
        }
        let res = req.send().await?;
        m.remember(res.headers());
        let body: Value = serde_json::from_slice(&res.bytes().await?)?;
        if let Some(e) = body.get("errors").and_then(|e| e.get(0)) {
            bail!("GraphQL error: {e}");
        }
        body.get("data").cloned().context("no data in GraphQL answer")
    }

    /// A JSON `POST` to a baseline; returns the answer.
    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let res = self.http.post(format!("{}{path}", self.origin)).json_body(&body).send().await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        if !status.is_success() {
            bail!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Creates a room (a lobby change) and returns its id.
    pub async fn create_room(&self, m: &Member, title: &str, capacity: u32) -> Result<String> {
        let id = if self.kind.is_gifchat() {
            let q = "mutation Create($title: String!, $capacity: Int) { createRoom(title: $title, capacity: $capacity) { id } }";
            self.graphql(m, q, json!({ "title": title, "capacity": capacity })).await?["createRoom"]["id"].clone()
        } else {
            self.post("/rooms", json!({ "title": title })).await?["id"].clone()
        };
        id.as_str().map(str::to_owned).ok_or_else(|| anyhow!("no room id"))
    }

    /// gifchat: `enterRoom`, then the newest seq (what the room page renders before subscribing).
    /// Baselines: nothing to do (0).
    pub async fn enter(&self, m: &Member, room: &str) -> Result<i64> {
        if !self.kind.is_gifchat() {
            return Ok(0);
        }
        let q = "mutation Enter($id: ID!) { enterRoom(id: $id) { id memberCount capacity } }";
        self.graphql(m, q, json!({ "id": room })).await?;
        let q = "query Latest($id: ID!) { messages(roomId: $id, last: 1) { seq } }";
        let data = self.graphql(m, q, json!({ "id": room })).await?;
        Ok(data["messages"].get(0).and_then(|e| e["seq"].as_i64()).unwrap_or(0))
    }

    /// gifchat: `leaveRoom` (the room page's exit). Baselines: nothing (closing the socket is leaving).
    pub async fn leave(&self, m: &Member, room: &str) -> Result<()> {
        if self.kind.is_gifchat() {
            self.graphql(m, "mutation Leave($id: ID!) { leaveRoom(id: $id) }", json!({ "id": room })).await?;
        }
        Ok(())
    }

    /// Sends one message: gifchat's room page `SEND` mutation, or the baselines' `POST /send`.
    pub async fn send(&self, m: &Member, room: &str, text: &str, key: u64) -> Result<()> {
        if self.kind.is_gifchat() {
            let vars = json!({ "roomId": room, "text": text, "key": format!("b-{key}") });
            let data = self.graphql(m, &self.docs.send, vars).await?;
            if data["sendMessage"]["seq"].as_i64().is_none() {
                bail!("sendMessage answered no seq");
            }
        } else {
            self.post("/send", json!({ "room": room, "text": text })).await?;
        }
        Ok(())
    }

    /// Opens a socket for `m` and waits until the server has confirmed the subscription.
    async fn connect(&self, m: &Member, path: &str, subprotocol: Option<&str>) -> Result<Ws> {
        let mut req = format!("{}{path}", self.ws_base).into_client_request()?;
        let h = req.headers_mut();
        h.insert("origin", HeaderValue::from_str(&self.origin)?);
        if let Some(p) = subprotocol {
            h.insert("sec-websocket-protocol", HeaderValue::from_str(p)?);
        }
        if let Some(c) = m.cookie() {
            h.insert("cookie", HeaderValue::from_str(&c)?);
        }
        // Small buffers: the generator holds up to 19,000 of these.
        let cfg = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
        let (ws, _) =
            tokio::time::timeout(SETUP_TIMEOUT, tokio_tungstenite::connect_async_with_config(req, Some(cfg), true))
                .await
                .context("WebSocket connect timed out")??;
        Ok(ws)
    }

    /// The room page's `room(id, after)` subscription (gifchat) or a join of the room (baselines); every
    /// frame afterwards goes to `rec` (None: read and drop, as the sender's own page does).
    pub async fn subscribe_room(&self, m: &Member, room: &str, after: i64, rec: Option<Arc<Recorder>>) -> Result<Live> {
        match self.kind {
            Kind::Gifchat | Kind::GifchatMongo => {
                let vars = json!({ "id": room, "after": after });
                self.graphql_ws(m, &self.docs.room.clone(), vars, rec, None).await
            }
            Kind::Bare => self.bare_join(room, rec, None).await,
            Kind::SocketIo => self.sio_join(room, rec, None).await,
        }
    }

    /// The lobby page's `lobby` subscription (gifchat) or a join of room `lobby` (baselines); only room
    /// creations are recorded.
    pub async fn subscribe_lobby(&self, m: &Member, rec: Option<Arc<Recorder>>) -> Result<Live> {
        let only = Some("oomCreated"); // gifchat's RoomCreated, the baselines' roomCreated
        match self.kind {
            Kind::Gifchat | Kind::GifchatMongo => {
                self.graphql_ws(m, &self.docs.lobby.clone(), json!({}), rec, only).await
            }
            Kind::Bare => self.bare_join("lobby", rec, only).await,
            Kind::SocketIo => self.sio_join("lobby", rec, only).await,
        }
    }

    /// graphql-transport-ws: connection_init → ack → subscribe → first `next`.
    async fn graphql_ws(
        &self,
        m: &Member,
        query: &str,
        vars: Value,
        rec: Option<Arc<Recorder>>,
        only: Option<&'static str>,
    ) -> Result<Live> {
        let mut ws = self.connect(m, "/graphql/ws", Some("graphql-transport-ws")).await?;
        ws.send(Message::Text(r#"{"type":"connection_init"}"#.into())).await?;
        let ack = next_text(&mut ws).await?;
        if !ack.contains("connection_ack") {
            bail!("expected connection_ack, got {ack}");
        }
        let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": vars } });
        ws.send(Message::Text(sub.to_string().into())).await?;
        let first = next_text(&mut ws).await?;
        if !first.contains(r#""type":"next""#) || first.contains(r#""errors""#) {
            bail!("subscription refused: {first}");
        }
        record(&rec, only, &first);
        Ok(Live { task: tokio::spawn(pump(ws, Proto::Gql, rec, only)) })
    }

    /// Bare server: `{"type":"join"}` → `{"type":"joined"}`.
    async fn bare_join(&self, room: &str, rec: Option<Arc<Recorder>>, only: Option<&'static str>) -> Result<Live> {
        let mut ws = self.connect(&Member::default(), "/ws", None).await?;
        ws.send(Message::Text(json!({ "type": "join", "room": room }).to_string().into())).await?;
        let joined = next_text(&mut ws).await?;
        if !joined.contains(r#""type":"joined""#) {
            bail!("join refused: {joined}");
        }
        Ok(Live { task: tokio::spawn(pump(ws, Proto::Bare, rec, only)) })
    }

    /// Socket.IO v5 over Engine.IO v4: open `0{…}` → `40` → `40{sid}` → `420["join",room]` → ack `430[…]`.
    async fn sio_join(&self, room: &str, rec: Option<Arc<Recorder>>, only: Option<&'static str>) -> Result<Live> {
        let mut ws = self.connect(&Member::default(), "/socket.io/?EIO=4&transport=websocket", None).await?;
        let open = next_text(&mut ws).await?;
        if !open.starts_with('0') {
            bail!("expected an Engine.IO open packet, got {open}");
        }
        ws.send(Message::Text("40".into())).await?;
        loop {
            let t = next_text(&mut ws).await?;
            if t.starts_with("40") {
                break;
            }
            if t == "2" {
                ws.send(Message::Text("3".into())).await?;
            }
        }
        ws.send(Message::Text(format!("420{}", json!(["join", room])).into())).await?;
        loop {
            let t = next_text(&mut ws).await?;
            if t.starts_with("430") {
                if !t.contains(r#""ok":true"#) {
                    bail!("join refused: {t}");
                }
                break;
            }
            if t == "2" {
                ws.send(Message::Text("3".into())).await?;
            }
        }
        Ok(Live { task: tokio::spawn(pump(ws, Proto::Sio, rec, only)) })
    }
}

/// Which keep-alive a socket must answer.
#[derive(Clone, Copy)]
enum Proto {
    /// graphql-transport-ws `ping` → `pong`.
    Gql,
    /// No application keep-alive (WebSocket pings are answered by tungstenite).
    Bare,
    /// Engine.IO `2` → `3`.
    Sio,
}

/// Records `frame` if it passes the `only` filter.
fn record(rec: &Option<Arc<Recorder>>, only: Option<&str>, frame: &str) {
    if let Some(r) = rec {
        if only.is_none_or(|o| frame.contains(o)) {
            r.frame(frame);
        }
    }
}

/// Reads the socket until it closes: answers keep-alives, records frames.
async fn pump(mut ws: Ws, proto: Proto, rec: Option<Arc<Recorder>>, only: Option<&'static str>) {
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(t) = msg else { continue };
        let s = t.as_str();
        let pong = match proto {
            Proto::Gql if s.len() < 64 && s.contains(r#""type":"ping""#) => Some(r#"{"type":"pong"}"#),
            Proto::Sio if s == "2" => Some("3"),
            _ => None,
        };
        match pong {
            Some(p) => {
                if ws.send(Message::Text(p.into())).await.is_err() {
                    return;
                }
            }
            None => record(&rec, only, s),
        }
    }
}

/// The next text frame, within the setup timeout.
async fn next_text(ws: &mut Ws) -> Result<String> {
    loop {
        let msg = tokio::time::timeout(SETUP_TIMEOUT, ws.next())
            .await
            .context("no answer from the server in time")?
            .context("socket closed")??;
        match msg {
            Message::Text(t) => return Ok(t.as_str().to_owned()),
            Message::Close(c) => bail!("socket closed: {c:?}"),
            _ => continue,
        }
    }
}

/// `RequestBuilder::json` needs reqwest's `json` feature; this writes the body and header by hand.
trait JsonBody {
    fn json_body(self, v: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, v: &Value) -> Self {
        self.header("content-type", "application/json").body(v.to_string())
    }
}
