//! Sessions: the typed [`CurrentMember`] extractor over tower-sessions (stored through
//! [`StoreSessions`]).
//!
//! A session holds one [`SessionData`]: the member id (the anonymous identity; the colour is derived
//! from it) and the secret rooms whose password this browser has given.
//!
//! Sessions are written only when needed: looking creates none (no row, no cookie), the first action
//! that makes the server remember the visitor does ([`CurrentMember::mint`]), and active use slides the
//! expiry forward without a write per request ([`REFRESH_EVERY`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::session_store;
use tower_sessions::{Expiry, Session};

use super::client::SessionGate;
use crate::domain::{Color, MemberId, RoomId};
use crate::hub::HubError;
use crate::store::Store;

pub use super::session_store::StoreSessions;

/// The one key under which gifchat keeps its data in a session.
const KEY: &str = "gifchat";

/// What gifchat keeps in a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    /// The anonymous member this browser is.
    pub member: MemberId,
    /// Secret rooms this browser has entered with the right password.
    #[serde(default)]
    pub granted: Vec<RoomId>,
    /// When this data was last written (ms since the epoch): the sliding expiry re-saves a session once
    /// this is a tenth of the idle period old. 0 in sessions written before it existed (re-saved on use).
    #[serde(default)]
    pub saved_at: i64,
}

/// A session is re-saved (its stored expiry and the cookie's Max-Age pushed forward) on the first use
/// after this fraction of the idle period has passed since it was last written: at most ten writes per
/// idle period for a member who is active all along, and a session then lasts between 9/10 of the idle
/// period and the whole of it after its last use.
const REFRESH_EVERY: u32 = 10;

/// Why a visitor could not be given a stored session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A WebSocket has no response to carry a new session's cookie: the page must be loaded over HTTP
    /// (which creates the session where an action needs it) and the socket opened again.
    #[error("this connection has no session: load the page again")]
    NoSession,
    /// The session store did not answer.
    #[error("session store unavailable: {0}")]
    Store(#[from] session_store::Error),
    /// The client's address has started its allowance of new sessions (`RATE_LIMITED`, with the wait).
    #[error("{0}")]
    Refused(HubError),
}

/// The visitor behind a request or a WebSocket. Handlers never touch session keys directly.
///
/// A browser with a stored session is that session's member. A visitor without one gets a provisional
/// id that nothing stores: looking (the lobby, room lists and details, history, `me`) works with it and
/// leaves no trace, and member-only actions refuse it as they refuse any stranger (nobody without a
/// session can be in a room). Only [`CurrentMember::mint`] turns it into a stored session, called where
/// the server must remember the visitor: they create a room, are admitted to one (which also takes a
/// seat), or give a room's password.
#[derive(Debug, Clone)]
pub struct CurrentMember {
    /// The member id (provisional until minted).
    pub id: MemberId,
    /// The session, to remember grants.
    pub session: Session,
    data: SessionData,
    /// Whether `id` lives in a stored session.
    stored: bool,
    /// Whether a response will still carry a new session's cookie: false on an upgraded WebSocket.
    on_socket: bool,
    /// The per-address limit on new sessions, consulted by [`CurrentMember::mint`] (none for the CLI's
    /// and tests' own members).
    gate: Option<SessionGate>,
}

impl CurrentMember {
    /// The member of `session`, or a provisional visitor when this browser has no (valid) session. Never
    /// creates a session; re-saves one that is due for its sliding expiry (see [`REFRESH_EVERY`]).
    pub async fn from_session(session: Session, gate: Option<SessionGate>) -> Result<Self, session_store::Error> {
        let data = match session.get::<SessionData>(KEY).await {
            Ok(data) => data,
            // The store did not answer: fail rather than treat the member as a stranger.
            Err(tower_sessions::session::Error::Store(e)) => return Err(e),
            // Data that no longer decodes names nobody: a provisional visitor, whose mint replaces it.
            Err(tower_sessions::session::Error::SerdeJson(_)) => None,
        };
        let Some(data) = data else {
            let data = SessionData { member: MemberId::generate(), granted: Vec::new(), saved_at: 0 };
            return Ok(Self { id: data.member.clone(), session, data, stored: false, on_socket: false, gate });
        };
        let mut member = Self { id: data.member.clone(), session, data, stored: true, on_socket: false, gate };
        if member.refresh_due() {
            // The session layer sees the change and saves the session with a new expiry and cookie.
            member.write().await?;
        }
        Ok(member)
    }

    /// Gives this visitor a stored session if they have none yet: the one place where sessions are
    /// created. Over HTTP the session layer stores it and sets the cookie on the response; on a
    /// WebSocket nothing could carry the cookie, so it is refused ([`SessionError::NoSession`]).
    pub async fn mint(&mut self) -> Result<(), SessionError> {
        if self.stored {
            return Ok(());
        }
        if self.on_socket {
            return Err(SessionError::NoSession);
        }
        if let Some(gate) = &self.gate {
            gate.admit().map_err(SessionError::Refused)?;
        }
        self.write().await?;
        self.stored = true;
        Ok(())
    }

    /// Marks this visitor as living on an upgraded WebSocket, whose response has gone: it can no longer
    /// be given a session (see [`CurrentMember::mint`]).
    pub fn on_socket(mut self) -> Self {
        self.on_socket = true;
        self
    }

    /// Whether this visitor has a stored session (false: a provisional id that nothing remembers).
    pub fn has_session(&self) -> bool {
        self.stored
    }

    /// The member's colour.
    pub fn color(&self) -> Color {
        Color::of(self.id.as_str())
    }

    /// Whether this browser has given `room`'s password.
    pub fn is_granted(&self, room: &RoomId) -> bool {
        self.data.granted.contains(room)
    }

    /// Remembers that this browser gave `room`'s password (minting its session first), and saves at
    /// once (a WebSocket has no response on which tower-sessions would save it).
    pub async fn grant(&mut self, room: &RoomId) -> Result<(), SessionError> {
        self.mint().await?;
        if !self.data.granted.contains(room) {
            // Bounded: the oldest grants go first, so a session cannot grow without limit.
            if self.data.granted.len() >= 64 {
                self.data.granted.remove(0);
            }
            self.data.granted.push(room.clone());
            self.write().await?;
            self.session.save().await.map_err(|e| session_store::Error::Backend(e.to_string()))?;
        }
        Ok(())
    }

    /// Re-reads the grants from the store (a WebSocket's session may be older than a later `enterRoom`).
    pub async fn refresh(&mut self, store: &dyn Store) {
        let Some(id) = self.session.id().filter(|_| self.stored) else { return };
        if let Ok(Some(row)) = store.session_load(&id.to_string(), crate::domain::now_millis()).await {
            let fresh = serde_json::from_str::<std::collections::HashMap<String, serde_json::Value>>(&row.data)
                .ok()
                .and_then(|mut m| m.remove(KEY))
                .and_then(|v| serde_json::from_value::<SessionData>(v).ok());
            if let Some(fresh) = fresh.filter(|f| f.member == self.id) {
                self.data = fresh;
            }
        }
    }

    /// Whether a tenth of the idle period has passed since the session was last written.
    fn refresh_due(&self) -> bool {
        let Some(Expiry::OnInactivity(idle)) = self.session.expiry() else { return false };
        let every = (idle / REFRESH_EVERY).whole_milliseconds();
        crate::domain::now_millis().saturating_sub(self.data.saved_at) as i128 >= every
    }

    /// Puts the data into the session, stamped now; the session counts as changed, so it is saved with a
    /// fresh expiry (by the session layer at the end of an HTTP request, or by an explicit save).
    async fn write(&mut self) -> Result<(), session_store::Error> {
        self.data.saved_at = crate::domain::now_millis();
        self.session.insert(KEY, &self.data).await.map_err(|e| match e {
            tower_sessions::session::Error::Store(e) => e,
            other => session_store::Error::Encode(other.to_string()),
        })
    }
}

/// The member whose session cookie (named `cookie_name`) is in `headers`, read without creating,
/// touching or saving a session: for `GET /gif/<name>` of a whispered GIF, which sits outside the
/// session layer so that fetching an image never writes. `None` when there is no valid session.
pub async fn member_of_request(headers: &HeaderMap, cookie_name: &str, store: &dyn Store) -> Option<MemberId> {
    let id = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(tower_sessions::cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == cookie_name)?
        .value()
        .to_owned();
    // Session ids are 22 characters of base64; anything else names no session (and costs no lookup).
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let row = store.session_load(&id, crate::domain::now_millis()).await.ok()??;
    let mut fields: std::collections::HashMap<String, serde_json::Value> = serde_json::from_str(&row.data).ok()?;
    serde_json::from_value::<SessionData>(fields.remove(KEY)?).ok().map(|d| d.member)
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentMember {
    type Rejection = Response;

    /// The visitor of this request (provisional when it carries no valid session); 503 when the store
    /// holding its session does not answer.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let gate = parts.extensions.get::<SessionGate>().cloned();
        CurrentMember::from_session(session, gate).await.map_err(|e| {
            tracing::error!(error = %e, "session unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "session store unavailable").into_response()
        })
    }
}
