//! graphql-transport-ws (the `graphql-ws` protocol, PROTOCOL.md) on `/graphql/ws`, written for the open
//! internet: Origin check before the upgrade, 4 KiB buffers, a 64 KiB message cap, an init timeout,
//! a per-socket subscription cap, duplicate-id detection, and the protocol's close codes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::stream::BoxStream;
use futures::{FutureExt, SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex};
use tokio::task::AbortHandle;
use tokio_stream::StreamMap;

use super::live::{self, FrameCache, Inspected, LiveItem, LiveOp, Tap, Template};
use super::protocol::ClientMessage;
use super::{AppSchema, Viewer};
use crate::http::client::Client;
use crate::http::session::CurrentMember;
use crate::http::{AppState, HttpError};

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
    /// Largest message the server sends; a bigger one closes the socket with 1009 (and is logged) rather
    /// than being dropped silently.
    pub max_outgoing: usize,
    /// After this long without hearing from the client, the server pings.
    pub ping_after: Duration,
    /// After this long without hearing from the client (pongs included), the server closes the socket: a
    /// client that vanished without a FIN must not hold its seat forever.
    pub idle_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            buffer: 4 * 1024,
            max_message: 64 * 1024,
            max_subscriptions: 20,
            init_timeout: Duration::from_secs(10),
            max_outgoing: 1024 * 1024,
            ping_after: Duration::from_secs(25),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Upgrades to a graphql-transport-ws socket after checking Origin, the subprotocol and how many sockets
/// the client's address has open (429 beyond the cap). The socket's operations act from the upgrade
/// request's client address, so every limit holds over the socket as over HTTP.
pub(super) async fn upgrade(
    State(app): State<AppState>,
    headers: HeaderMap,
    client: Client,
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
    // Held by the socket's task; dropped with it (or here, if the upgrade never completes).
    let slot = match client.0.map(|addr| app.hub.open_socket(addr)).transpose() {
        Ok(slot) => slot,
        Err(e) => return HttpError(e).into_response(),
    };
    let cfg = app.web.ws.clone();
    // Once upgraded, no response can carry a new session's cookie: the socket's visitor stays as it came.
    let viewer = Viewer(Arc::new(Mutex::new(member.on_socket())));
    let schema = app.schema.clone();
    let token = app.hub.shutdown_token();
    let tracker = app.web.tracker.clone();
    let frames = app.web.frames.clone();
    ws.protocols([PROTOCOL])
        .read_buffer_size(cfg.buffer)
        .write_buffer_size(cfg.buffer)
        // Room for one largest message on top of what is already buffered, so a send fails only through
        // the explicit size check (1009), never as a full buffer that drops the socket without a close.
        .max_write_buffer_size(cfg.max_outgoing + 64 * 1024)
        .max_message_size(cfg.max_message)
        .max_frame_size(cfg.max_message)
        .on_upgrade(move |socket| {
            // Tracked so shutdown can wait for sockets to close (axum does not wait for upgraded ones).
            tracker.track_future(async move {
                let _slot = slot;
                serve_socket(socket, schema, viewer, client, cfg, frames, token).await
            })
        })
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

fn text(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

/// Runs one socket until the client goes, a protocol error closes it, or the server shuts down.
///
/// One loop owns the socket: it reads client messages, writes what operations produce, and executes the
/// items of live subscriptions itself (shared with other sockets through the frame cache, see `live.rs`).
/// Operations are known by a key of the socket's own, not by the client's id: once the client completes an
/// id, nothing more is sent for it, even by a mutation still finishing, and the id may be reused at once.
async fn serve_socket(
    mut socket: WebSocket,
    schema: AppSchema,
    viewer: Viewer,
    client: Client,
    cfg: WsConfig,
    frames: Arc<FrameCache>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    // Operation tasks (starting subscriptions, queries, mutations) hand their messages to this loop; a
    // bounded queue means a slow client slows its own operations, never the server.
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(16);
    let mut ops = Operations::default();
    let mut live: StreamMap<u64, BoxStream<'static, Option<LiveItem>>> = StreamMap::new();
    let mut acknowledged = false;
    let init_deadline = tokio::time::sleep(cfg.init_timeout);
    tokio::pin!(init_deadline);
    // Every frame from the client counts as a sign of life; silence gets a ping, then a close.
    let mut heard = Instant::now();
    let mut pinged = false;
    let mut liveness = tokio::time::interval(cfg.ping_after.min(cfg.idle_timeout) / 2);
    liveness.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let closing = 'socket: loop {
        let sent = tokio::select! {
            _ = shutdown.cancelled() => break 'socket Some(close(1001, "server shutting down")),
            _ = &mut init_deadline, if !acknowledged => break 'socket Some(close(4408, "Connection initialisation timeout")),
            _ = liveness.tick() => {
                let silent = heard.elapsed();
                if silent >= cfg.idle_timeout {
                    tracing::debug!(?silent, "closing a silent WebSocket");
                    break 'socket Some(close(1001, "no response to pings"));
                }
                if silent >= cfg.ping_after && !pinged {
                    pinged = true;
                    feed(&mut socket, Message::Ping(Default::default()), usize::MAX).await
                } else {
                    Ok(())
                }
            }
            Some(out) = out_rx.recv() => {
                let mut sent = ops.deliver(out, &mut live, &mut socket, cfg.max_outgoing).await;
                // Whatever else is ready goes out in the same flush.
                while sent.is_ok() {
                    let Ok(out) = out_rx.try_recv() else { break };
                    sent = ops.deliver(out, &mut live, &mut socket, cfg.max_outgoing).await;
                }
                sent
            }
            Some((key, item)) = live.next(), if !live.is_empty() => {
                let mut sent = ops.item(key, item, &schema, &frames, &viewer, &mut socket, cfg.max_outgoing).await;
                // Drain what is already waiting (a burst of events) before one flush: fewer writes.
                for _ in 0..64 {
                    if sent.is_err() { break; }
                    let Some(Some((key, item))) = live.next().now_or_never() else { break };
                    sent = ops.item(key, item, &schema, &frames, &viewer, &mut socket, cfg.max_outgoing).await;
                }
                sent
            }
            frame = socket.recv() => 'frame: {
                if let Some(Ok(_)) = frame {
                    heard = Instant::now();
                    pinged = false;
                }
                let raw = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => break 'socket Some(close(4400, "Binary messages are not supported")),
                    // The WebSocket layer answers pings itself (on the next flush).
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => break 'frame Ok(()),
                    // The client's close: the reply the WebSocket layer queued goes out with this flush, so the
                    // client sees its own code come back instead of an abnormal 1006.
                    Some(Ok(Message::Close(_))) => {
                        let _ = socket.flush().await;
                        break 'socket None;
                    }
                    Some(Err(e)) if too_big(&e) => break 'socket Some(close(1009, "Message too big")),
                    Some(Err(_)) | None => break 'socket None,
                };
                let message = match ClientMessage::parse(raw.as_str()) {
                    Ok(message) => message,
                    Err(reason) => break 'socket Some(close(4400, reason)),
                };
                match message {
                    ClientMessage::ConnectionInit if acknowledged => break 'socket Some(close(4429, "Too many initialisation requests")),
                    ClientMessage::ConnectionInit => {
                        acknowledged = true;
                        feed(&mut socket, text(json!({"type": "connection_ack"})), usize::MAX).await
                    }
                    ClientMessage::Ping => feed(&mut socket, text(json!({"type": "pong"})), usize::MAX).await,
                    ClientMessage::Pong => Ok(()),
                    ClientMessage::Subscribe { .. } if !acknowledged => break 'socket Some(close(4401, "Unauthorized")),
                    ClientMessage::Subscribe { id, .. } if ops.ids.contains_key(&id) => {
                        break 'socket Some(close(4409, &format!("Subscriber for {id} already exists")));
                    }
                    ClientMessage::Subscribe { id, .. } if ops.running.len() >= cfg.max_subscriptions => {
                        let errors = json!([{ "message": "too many subscriptions on this connection",
                                              "extensions": { "code": "RATE_LIMITED" } }]);
                        feed(&mut socket, text(json!({"type": "error", "id": id, "payload": errors})), usize::MAX).await
                    }
                    ClientMessage::Subscribe { id, payload } => {
                        ops.start(id, *payload, &schema, &viewer, client, &out_tx);
                        Ok(())
                    }
                    ClientMessage::Complete { id } => {
                        ops.complete(&id, &mut live);
                        Ok(())
                    }
                }
            }
        };
        match sent.and(socket.flush().await.map_err(|_| Stop::Gone)) {
            Ok(()) => {}
            Err(Stop::Gone) => break 'socket None,
            Err(Stop::TooBig(bytes)) => {
                tracing::warn!(bytes, max = cfg.max_outgoing, "a message is too big for the socket: closing with 1009");
                break 'socket Some(close(1009, "message too big"));
            }
        }
    };
    for op in ops.running.values() {
        op.stop();
    }
    // Dropping the live streams releases their seats.
    drop(live);
    if let Some(frame) = closing {
        let _ = socket.send(frame).await;
    }
}

/// A running operation of this socket.
struct Operation {
    /// The client's id, until the client completes it.
    id: Option<String>,
    /// The task starting or running it; none once a subscription is live on the socket itself.
    task: Option<AbortHandle>,
    subscription: bool,
    /// For a live subscription: how its items are executed, and the start of its `next` messages.
    live: Option<(LiveOp, String)>,
}

impl Operation {
    /// Ends a subscription's task at once; a query or mutation runs to completion even though nobody waits
    /// for its answer any more, so a write is never cut between two of its steps.
    fn stop(&self) {
        if let (true, Some(task)) = (self.subscription, &self.task) {
            task.abort();
        }
    }
}

/// The socket's operations, by the socket's own key and by the client's id.
#[derive(Default)]
struct Operations {
    next_key: u64,
    ids: HashMap<String, u64>,
    running: HashMap<u64, Operation>,
}

impl Operations {
    /// Starts an operation on its own task. A subscription this socket can execute itself (one root
    /// field) gets a tap, through which its resolver hands over its item stream once it is set up.
    fn start(
        &mut self,
        id: String,
        request: async_graphql::Request,
        schema: &AppSchema,
        viewer: &Viewer,
        client: Client,
        out: &mpsc::Sender<Outgoing>,
    ) {
        let key = self.next_key;
        self.next_key += 1;
        let Inspected { subscription, group } = live::inspect(&request);
        let live = group.map(|group| (LiveOp::new(Template::of(&request), group), Arc::new(Tap::default())));
        let mut request = request.data(viewer.clone()).data(client);
        let tap = live.as_ref().map(|(_, tap)| tap.clone());
        if let Some(tap) = &tap {
            request = request.data(tap.clone());
        }
        let task = tokio::spawn(run_operation(schema.clone(), request, id.clone(), key, tap, out.clone()));
        self.ids.insert(id.clone(), key);
        let live = live.map(|(op, _)| (op, next_prefix(&id)));
        self.running.insert(key, Operation { id: Some(id), task: Some(task.abort_handle()), subscription, live });
    }

    /// The client's `complete`: a subscription ends now; a query or mutation finishes unheard.
    fn complete(&mut self, id: &str, live: &mut StreamMap<u64, BoxStream<'static, Option<LiveItem>>>) {
        let Some(key) = self.ids.remove(id) else { return };
        let Some(op) = self.running.get_mut(&key) else { return };
        if op.subscription {
            op.stop();
            self.running.remove(&key);
            live.remove(&key);
        } else {
            op.id = None;
        }
    }

    /// Forgets a finished operation.
    fn finish(&mut self, key: u64) {
        if let Some(Operation { id: Some(id), .. }) = self.running.remove(&key) {
            self.ids.remove(&id);
        }
    }

    /// Writes what an operation task produced, unless the client completed the operation meanwhile.
    async fn deliver(
        &mut self,
        out: Outgoing,
        live: &mut StreamMap<u64, BoxStream<'static, Option<LiveItem>>>,
        socket: &mut WebSocket,
        max: usize,
    ) -> Result<(), Stop> {
        match out {
            Outgoing::Message { key, message, last } => {
                let heard = matches!(self.running.get(&key), Some(Operation { id: Some(_), .. }));
                if last {
                    // Forgotten before its last message goes out, so the client may reuse the id as soon
                    // as it reads `complete`.
                    self.finish(key);
                }
                if heard {
                    feed(socket, message, max).await?;
                }
            }
            Outgoing::Live { key, stream } => match self.running.get_mut(&key) {
                Some(op) if op.id.is_some() => {
                    op.task = None;
                    live.insert(key, stream.map(Some).chain(futures::stream::once(async { None::<LiveItem> })).boxed());
                }
                // Completed while starting: dropping the stream releases the seat.
                _ => drop(stream),
            },
        }
        Ok(())
    }

    /// Executes (or reuses) one item of a live subscription and writes it; the stream's end is `complete`.
    // The socket loop's parts are passed one by one: borrowed apart, its stream map stays usable meanwhile.
    #[allow(clippy::too_many_arguments)]
    async fn item(
        &mut self,
        key: u64,
        item: Option<LiveItem>,
        schema: &AppSchema,
        frames: &FrameCache,
        viewer: &Viewer,
        socket: &mut WebSocket,
        max: usize,
    ) -> Result<(), Stop> {
        let Some(op) = self.running.get_mut(&key) else { return Ok(()) };
        let (Some(id), Some((live_op, prefix))) = (&op.id, &mut op.live) else { return Ok(()) };
        let Some(item) = item else {
            let message = text(json!({"type": "complete", "id": id}));
            self.finish(key);
            return feed(socket, message, max).await;
        };
        let payload = live_op.payload(schema, frames, viewer, item).await;
        if prefix.len() + payload.len() + 1 > max {
            return Err(Stop::TooBig(prefix.len() + payload.len() + 1));
        }
        let mut message = String::with_capacity(prefix.len() + payload.len() + 1);
        message.push_str(prefix);
        message.push_str(&payload);
        message.push('}');
        feed(socket, Message::Text(message.into()), max).await
    }
}

/// Whether a read failed because the client's message exceeded the size cap.
fn too_big(e: &axum::Error) -> bool {
    use std::error::Error;
    matches!(e.source().and_then(|s| s.downcast_ref::<tungstenite::Error>()), Some(tungstenite::Error::Capacity(_)))
}

/// Why the socket loop must stop writing.
enum Stop {
    /// The connection is gone.
    Gone,
    /// A message of this many bytes exceeds the outgoing limit.
    TooBig(usize),
}

/// Queues a message for the next flush, refusing text over `max` bytes.
async fn feed(socket: &mut WebSocket, message: Message, max: usize) -> Result<(), Stop> {
    if let Message::Text(t) = &message {
        if t.len() > max {
            return Err(Stop::TooBig(t.len()));
        }
    }
    socket.feed(message).await.map_err(|_| Stop::Gone)
}

/// `{"id":<id>,"type":"next","payload":` — what every `next` message of an operation starts with.
fn next_prefix(id: &str) -> String {
    format!(r#"{{"id":{},"type":"next","payload":"#, Value::String(id.to_owned()))
}

/// What an operation task hands to its socket's loop.
enum Outgoing {
    /// A message of the operation; `last` on its final one.
    Message { key: u64, message: Message, last: bool },
    /// The subscription is set up: the socket executes its items from now on.
    Live { key: u64, stream: BoxStream<'static, LiveItem> },
}

/// Executes one operation and forwards its results as `next` messages, then `complete`. An operation
/// refused before producing data (validation, access, capacity) gets one `error` message instead. A
/// subscription whose resolver handed its stream to `tap` is passed to the socket instead.
async fn run_operation(
    schema: AppSchema,
    request: async_graphql::Request,
    id: String,
    key: u64,
    tap: Option<Arc<Tap>>,
    out: mpsc::Sender<Outgoing>,
) {
    let mut stream = schema.execute_stream(request);
    let mut first = true;
    while let Some(response) = stream.next().await {
        if first && response.data == async_graphql::Value::Null && !response.errors.is_empty() {
            let message = text(json!({"type": "error", "id": id, "payload": response.errors}));
            let _ = out.send(Outgoing::Message { key, message, last: true }).await;
            return;
        }
        first = false;
        let message = text(json!({"type": "next", "id": id, "payload": response}));
        if out.send(Outgoing::Message { key, message, last: false }).await.is_err() {
            return;
        }
    }
    if let Some(stream) = tap.and_then(|tap| tap.take()) {
        let _ = out.send(Outgoing::Live { key, stream }).await;
        return;
    }
    let message = text(json!({"type": "complete", "id": id}));
    let _ = out.send(Outgoing::Message { key, message, last: true }).await;
}
