//! graphql-transport-ws (the `graphql-ws` protocol, PROTOCOL.md) on `/graphql/ws`, written for the open
//! internet: Origin check before the upgrade, 4 KiB buffers, a 64 KiB message cap, an init timeout,
//! a per-socket subscription cap, duplicate-id detection, and the protocol's close codes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex};
use tokio::task::AbortHandle;

use super::{AppSchema, Viewer};
use crate::http::session::CurrentMember;
use crate::http::AppState;

/// The subprotocol name clients must offer.
const PROTOCOL: &str = "graphql-transport-ws";

/// WebSocket limits.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// Read/write buffer size per socket.
    pub buffer: usize,
    /// Largest accepted message.
    pub max_message: usize,
    /// Subscriptions one socket may hold.
    pub max_subscriptions: usize,
    /// Time allowed between upgrade and `connection_init`.
    pub init_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self { buffer: 4 * 1024, max_message: 64 * 1024, max_subscriptions: 20, init_timeout: Duration::from_secs(10) }
    }
}

/// Messages a client may send.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit,
    Ping,
    Pong,
    // Boxed: a request is large, the other messages are tiny.
    Subscribe { id: String, payload: Box<async_graphql::Request> },
    Complete { id: String },
}

/// Upgrades to a graphql-transport-ws socket after checking Origin and the subprotocol.
pub(super) async fn upgrade(
    State(app): State<AppState>,
    headers: HeaderMap,
    member: CurrentMember,
    ws: WebSocketUpgrade,
) -> Response {
    if !app.web.origin_allowed(&headers) {
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    if !offered {
        return (StatusCode::BAD_REQUEST, "offer the graphql-transport-ws subprotocol").into_response();
    }
    let cfg = app.web.ws.clone();
    let viewer = Viewer(Arc::new(Mutex::new(member)));
    let schema = app.schema.clone();
    let token = app.hub.shutdown_token();
    let tracker = app.web.tracker.clone();
    ws.protocols([PROTOCOL])
        .read_buffer_size(cfg.buffer)
        .write_buffer_size(cfg.buffer)
        .max_write_buffer_size(cfg.max_message * 4)
        .max_message_size(cfg.max_message)
        .max_frame_size(cfg.max_message)
        .on_upgrade(move |socket| {
            // Tracked so shutdown can wait for sockets to close (axum does not wait for upgraded ones).
            tracker.track_future(serve_socket(socket, schema, viewer, cfg, token))
        })
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

fn text(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

/// Runs one socket until the client goes, a protocol error closes it, or the server shuts down.
async fn serve_socket(
    mut socket: WebSocket,
    schema: AppSchema,
    viewer: Viewer,
    cfg: WsConfig,
    shutdown: tokio_util::sync::CancellationToken,
) {
    // Subscription tasks hand their messages to this loop; a bounded queue means a slow client slows its
    // own subscriptions (whose bus receivers then lag and resync from the store), never the server.
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(64);
    let mut subs: HashMap<String, Operation> = HashMap::new();
    let mut acknowledged = false;
    let init_deadline = tokio::time::sleep(cfg.init_timeout);
    tokio::pin!(init_deadline);

    let closing = loop {
        tokio::select! {
            _ = shutdown.cancelled() => break Some(close(1001, "server shutting down")),
            _ = &mut init_deadline, if !acknowledged => break Some(close(4408, "Connection initialisation timeout")),
            Some(out) = out_rx.recv() => {
                // Forget a finished operation before its last message goes out, so the client may reuse
                // the id as soon as it reads `complete`.
                if let Some(id) = &out.last_of { subs.remove(id); }
                if socket.send(out.message).await.is_err() { break None; }
            }
            frame = socket.recv() => {
                let raw = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => break Some(close(4400, "Binary messages are not supported")),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                };
                let Ok(message) = serde_json::from_str::<ClientMessage>(raw.as_str()) else {
                    break Some(close(4400, "Invalid message received"));
                };
                match message {
                    ClientMessage::ConnectionInit if acknowledged => break Some(close(4429, "Too many initialisation requests")),
                    ClientMessage::ConnectionInit => {
                        acknowledged = true;
                        if socket.send(text(json!({"type": "connection_ack"}))).await.is_err() { break None; }
                    }
                    ClientMessage::Ping => {
                        if socket.send(text(json!({"type": "pong"}))).await.is_err() { break None; }
                    }
                    ClientMessage::Pong => {}
                    ClientMessage::Subscribe { .. } if !acknowledged => break Some(close(4401, "Unauthorized")),
                    ClientMessage::Subscribe { id, .. } if id.is_empty() || id.len() > 128 => {
                        break Some(close(4400, "Invalid subscription id"));
                    }
                    ClientMessage::Subscribe { id, .. } if subs.contains_key(&id) => {
                        break Some(close(4409, &format!("Subscriber for {id} already exists")));
                    }
                    ClientMessage::Subscribe { id, .. } if subs.len() >= cfg.max_subscriptions => {
                        let errors = json!([{ "message": "too many subscriptions on this connection",
                                              "extensions": { "code": "RATE_LIMITED" } }]);
                        if socket.send(text(json!({"type": "error", "id": id, "payload": errors}))).await.is_err() { break None; }
                    }
                    ClientMessage::Subscribe { id, payload } => {
                        let subscription = is_subscription(&payload);
                        let request = payload.data(viewer.clone());
                        let task = tokio::spawn(run_operation(schema.clone(), request, id.clone(), out_tx.clone()));
                        subs.insert(id, Operation { task: task.abort_handle(), subscription });
                    }
                    ClientMessage::Complete { id } => {
                        if let Some(op) = subs.remove(&id) { op.stop(); }
                    }
                }
            }
        }
    };
    for op in subs.values() {
        op.stop();
    }
    if let Some(frame) = closing {
        let _ = socket.send(frame).await;
    }
}

/// A running operation of this socket.
struct Operation {
    task: AbortHandle,
    subscription: bool,
}

impl Operation {
    /// Ends a subscription at once; a query or mutation runs to completion even though nobody waits for
    /// its answer any more, so a write is never cut between two of its steps.
    fn stop(&self) {
        if self.subscription {
            self.task.abort();
        }
    }
}

/// Whether the operation the request selects is a subscription (unparsable requests are not; they fail
/// at once anyway).
fn is_subscription(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else { return false };
    let ty = match &doc.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        // Named operations land here even when there is only one (then no operation name is needed).
        DocumentOperations::Multiple(ops) => match request.operation_name.as_deref() {
            Some(name) => ops.iter().find(|(n, _)| n.as_str() == name).map(|(_, op)| op.node.ty),
            None if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
            None => None,
        },
    };
    ty == Some(OperationType::Subscription)
}

/// A message from an operation task to the socket loop.
struct Outgoing {
    message: Message,
    /// Set on the operation's final message.
    last_of: Option<String>,
}

/// Executes one operation and forwards its results as `next` messages, then `complete`. An operation
/// refused before producing data (validation, access, capacity) gets one `error` message instead.
async fn run_operation(schema: AppSchema, request: async_graphql::Request, id: String, out: mpsc::Sender<Outgoing>) {
    let mut stream = schema.execute_stream(request);
    let mut first = true;
    while let Some(response) = stream.next().await {
        if first && response.data == async_graphql::Value::Null && !response.errors.is_empty() {
            let message = text(json!({"type": "error", "id": id, "payload": response.errors}));
            let _ = out.send(Outgoing { message, last_of: Some(id) }).await;
            return;
        }
        first = false;
        let message = text(json!({"type": "next", "id": id, "payload": response}));
        if out.send(Outgoing { message, last_of: None }).await.is_err() {
            return;
        }
    }
    let message = text(json!({"type": "complete", "id": id}));
    let _ = out.send(Outgoing { message, last_of: Some(id) }).await;
}
