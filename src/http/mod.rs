//! HTTP: the router (each area owns its routes), shared state, the session layer, and `serve`.

pub(crate) mod assets;
pub mod client;
mod error;
mod gifs;
mod pages;
pub mod session;
mod session_store;
pub mod texts;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::gifcheck::GifLimits;
use crate::graphql::{AppSchema, FrameCache, WsConfig};
use crate::hub::Hub;

pub use error::HttpError;

/// Web-facing settings (filled from the CLI's `serve` flags).
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Extra origins allowed to open the WebSocket, e.g. `https://chat.example`.
    pub allowed_origins: Vec<String>,
    /// Set `Secure` and the `__Host-` cookie name (only behind https).
    pub secure_cookies: bool,
    /// Sessions expire after this much inactivity (a session in use is re-saved once a tenth of it has
    /// passed since its last write, see `session::CurrentMember`).
    pub session_idle: Duration,
    /// Sessions kept in memory in front of the store (0: none). Only for a store no other process
    /// writes sessions to: `serve` turns it off on MongoDB, where several servers share them.
    pub session_cache: u64,
    /// Largest GIF upload in bytes.
    pub gif_max_bytes: usize,
    /// GIF decode caps.
    pub gif_limits: GifLimits,
    /// WebSocket limits.
    pub ws: WsConfig,
    /// Upgraded sockets, so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// How long a client may take to send a request's headers. hyper 1.x starts this timer whenever it
    /// waits for a request head, so it also closes a kept-alive HTTP/1.1 connection left idle this long.
    pub header_read_timeout: Duration,
    /// How long a request body may go without progress.
    pub body_progress_timeout: Duration,
    /// How long shutdown waits for requests and sockets before returning anyway.
    pub shutdown_bound: Duration,
    /// Subscription items executed once for all the sockets that render them alike.
    pub frames: Arc<FrameCache>,
    /// Proxies whose `X-Forwarded-For` names the client (none: the peer is always the client).
    pub trusted_proxies: client::TrustedProxies,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            secure_cookies: false,
            session_idle: Duration::from_secs(30 * 24 * 3600),
            session_cache: 10_000,
            gif_max_bytes: 5 * 1024 * 1024,
            gif_limits: GifLimits::default(),
            ws: WsConfig::default(),
            tracker: TaskTracker::new(),
            frames: Arc::new(FrameCache::new(4096)),
            header_read_timeout: Duration::from_secs(10),
            body_progress_timeout: Duration::from_secs(20),
            shutdown_bound: Duration::from_secs(5),
            trusted_proxies: client::TrustedProxies::default(),
        }
    }
}

impl WebConfig {
    /// The session cookie's name: with `Secure`, the `__Host-` prefix pins it to this host and path.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-gifchat"
        } else {
            "gifchat"
        }
    }

    /// Same-origin check for browser requests: no `Origin` (non-browser clients) passes; otherwise it must
    /// name this host or an allow-listed origin. `null` (sandboxed frames, file pages) never passes.
    pub fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else { return true };
        let Ok(origin) = origin.to_str() else { return false };
        if self.allowed_origins.iter().any(|o| o == origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
    }
}

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The write path.
    pub hub: Arc<Hub>,
    /// The GraphQL schema.
    pub schema: AppSchema,
    /// Web settings.
    pub web: Arc<WebConfig>,
}

/// The whole application router. Routes that must never create a session (GIFs, static files,
/// health) sit outside the session layer.
pub fn router(state: AppState) -> Router {
    let cookie_name = state.web.cookie_name();
    let idle = time::Duration::try_from(state.web.session_idle).unwrap_or(time::Duration::days(30));
    let sessions =
        SessionManagerLayer::new(session::StoreSessions::new(state.hub.store().clone(), state.web.session_cache))
            .with_name(cookie_name)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(state.web.secure_cookies)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(idle));
    let with_session = Router::new()
        .merge(pages::router())
        .merge(gifs::upload_router(state.web.gif_max_bytes))
        .merge(crate::graphql::router())
        .layer(sessions);
    Router::new()
        .merge(with_session)
        .merge(gifs::serve_router())
        .route("/healthz", get(error::healthz))
        .route("/readyz", get(error::readyz))
        .merge(assets::router())
        .fallback(pages::not_found)
        // Every request learns its client address before anything else runs (limits key on it).
        .layer(axum::middleware::from_fn_with_state(state.clone(), client::identify))
        .layer(axum::middleware::from_fn(run_to_completion))
        // A body that stops arriving fails its request instead of holding it open.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(state.web.body_progress_timeout))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Runs each request's handler on its own task, so it completes even when the client goes away: hyper
/// drops a request's future when its connection closes, and a write cut off between two of its steps
/// (persisted but not published, an exit posted but the room not handed on) would leave live clients
/// out of step with the store. A page navigating away mid-`leaveRoom` did exactly that.
async fn run_to_completion(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime shutting down cancels a spawned task.
        Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then ends subscriptions, closes WebSockets
/// with 1001 and waits for in-flight requests and sockets — at most `WebConfig::shutdown_bound`, after
/// which it returns anyway. A client gets `WebConfig::header_read_timeout` to send a request's headers,
/// and an HTTP/1.1 connection idle between requests is closed after the same time.
/// Never binds or reads env itself.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;

    let hub = state.hub.clone();
    let tracker = state.web.tracker.clone();
    let (header_read_timeout, shutdown_bound) = (state.web.header_read_timeout, state.web.shutdown_bound);
    let background = tokio::spawn(hub.clone().run_background());
    if let Err(e) = hub.resume_seats().await {
        tracing::error!(error = %e, "could not resume seats from before the restart");
    }
    let app = router(state);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // Without a timer hyper enforces no header timeout at all: half a request would hold a connection
    // forever (slowloris).
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let connections = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // No Nagle delay: acks and frames are small and must leave at once, not wait for the peer's ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            tower::ServiceExt::oneshot(app.clone(), request)
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service).into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down");
    // Cancelling the hub's token closes sockets (1001) and stops grace timers: no exits posted.
    hub.shut_down();
    tracker.close();
    let drained = async {
        connections.shutdown().await;
        tracker.wait().await;
        let _ = background.await;
    };
    if tokio::time::timeout(shutdown_bound, drained).await.is_err() {
        tracing::warn!(bound = ?shutdown_bound, "requests or sockets still open at the shutdown bound; stopping anyway");
    }
    Ok(())
}
