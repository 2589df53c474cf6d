//! `gifbench bare-server`: the machine's limit for fan-out — axum + one tokio broadcast channel per room,
//! nothing else (no sessions, no store, no GraphQL). It offers what the bench needs, with gifchat's shape:
//! JSON text frames over a WebSocket, sends by `POST`, delivery over the socket.
//!
//! - `GET /ws` upgrades; the client sends `{"type":"join","room":"<id>"}` and gets `{"type":"joined"}`; from
//!   then on every message of that room arrives as one text frame. Room `lobby` carries lobby changes.
//! - `POST /send` `{"room","text"}` numbers the message per room, serialises it once and broadcasts the
//!   shared bytes; answers `{"seq":n}`.
//! - `POST /rooms` `{"title"}` creates a room id and tells the lobby (`{"type":"roomCreated",…}`).
//!
//! Bad input (not JSON, unknown type, oversized) gets a clear error and changes nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

/// Messages buffered per room before a slow receiver lags (it then skips, like any broadcast server).
const ROOM_BUFFER: usize = 1024;
/// Largest text accepted in a message or title (gifchat's message limit).
const MAX_TEXT: usize = 1000;
/// Largest WebSocket message a client may send (gifchat accepts 64 KiB; a join is tiny).
const MAX_FRAME: usize = 64 * 1024;

/// One room: its broadcast channel and its next sequence number.
struct Room {
    tx: broadcast::Sender<Utf8Bytes>,
    seq: AtomicU64,
}

/// The server's state: rooms by id, created on first use.
#[derive(Clone, Default)]
pub struct BareState {
    rooms: Arc<Mutex<HashMap<String, Arc<Room>>>>,
    next_room: Arc<AtomicU64>,
}

impl BareState {
    /// The room `id`, created when first named.
    fn room(&self, id: &str) -> Arc<Room> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(Room { tx: broadcast::channel(ROOM_BUFFER).0, seq: AtomicU64::new(0) }))
            .clone()
    }
}

/// The bare server's routes.
pub fn router(state: BareState) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .route("/send", post(send_message))
        .route("/rooms", post(create_room))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Serves `router` on `listener` with TCP_NODELAY until the process is killed.
pub async fn serve(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        // Small frames should not wait on Nagle's algorithm; a failure only costs latency.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(BareState::default())).await?;
    Ok(())
}

/// Binds `addr` and serves (the `bare-server` subcommand).
pub async fn run(addr: SocketAddr) -> anyhow::Result<()> {
    serve(tokio::net::TcpListener::bind(addr).await?).await
}

/// A 400 with a JSON error naming the problem.
fn bad(what: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": what }))).into_response()
}

/// Checks a client-supplied text: 1..=MAX_TEXT bytes.
fn text_ok(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_TEXT
}

/// `POST /send` body.
#[derive(Deserialize)]
struct SendBody {
    room: String,
    text: String,
}

/// Broadcasts one message to a room; answers its seq.
async fn send_message(
    State(state): State<BareState>,
    body: Result<Json<SendBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else { return bad("body must be JSON {room, text}") };
    if !text_ok(&body.text) || !text_ok(&body.room) {
        return bad("room and text must be 1..=1000 bytes");
    }
    let room = state.room(&body.room);
    let seq = room.seq.fetch_add(1, Ordering::Relaxed) + 1;
    // Serialised once; every receiver writes the same bytes.
    let frame = json!({ "type": "message", "room": body.room, "seq": seq, "text": body.text }).to_string();
    let _ = room.tx.send(Utf8Bytes::from(frame));
    Json(json!({ "seq": seq })).into_response()
}

/// `POST /rooms` body.
#[derive(Deserialize)]
struct CreateBody {
    title: String,
}

/// Creates a room id and tells the lobby.
async fn create_room(
    State(state): State<BareState>,
    body: Result<Json<CreateBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else { return bad("body must be JSON {title}") };
    if !text_ok(&body.title) {
        return bad("title must be 1..=1000 bytes");
    }
    let id = format!("r{}", state.next_room.fetch_add(1, Ordering::Relaxed) + 1);
    let change = json!({ "type": "roomCreated", "room": { "id": id, "title": body.title, "memberCount": 0 } });
    let _ = state.room("lobby").tx.send(Utf8Bytes::from(change.to_string()));
    Json(json!({ "id": id })).into_response()
}

/// Upgrades to a socket with 4 KiB buffers, as gifchat's.
async fn upgrade(State(state): State<BareState>, ws: WebSocketUpgrade) -> Response {
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| serve_socket(state, socket))
}

/// A frame from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Join { room: String },
}

/// One socket: reads joins, writes the joined room's frames.
async fn serve_socket(state: BareState, mut socket: WebSocket) {
    let mut rx: Option<broadcast::Receiver<Utf8Bytes>> = None;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let reply = match incoming {
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<ClientFrame>(&t) {
                        Ok(ClientFrame::Join { room }) if text_ok(&room) => {
                            rx = Some(state.room(&room).tx.subscribe());
                            json!({ "type": "joined", "room": room })
                        }
                        Ok(ClientFrame::Join { .. }) => json!({ "type": "error", "error": "room must be 1..=1000 bytes" }),
                        Err(_) => json!({ "type": "error", "error": "expected {\"type\":\"join\",\"room\":…}" }),
                    },
                    Some(Ok(Message::Binary(_))) => json!({ "type": "error", "error": "text frames only" }),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return,
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                    return;
                }
            }
            frame = async { match rx.as_mut() { Some(r) => r.recv().await, None => std::future::pending().await } } => {
                match frame {
                    Ok(bytes) => if socket.send(Message::Text(bytes)).await.is_err() { return },
                    // A lagging socket skips what it missed; the bench counts that as not delivered.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    }
}
