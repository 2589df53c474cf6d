//! Sessions: tower-sessions over our own [`Store`], and the typed [`CurrentMember`] extractor.
//!
//! A session holds one [`SessionData`]: the member id (the anonymous identity; the colour is derived
//! from it) and the secret rooms whose password this browser has given.
//!
//! Sessions are written only when needed: looking creates none (no row, no cookie), the first action
//! that makes the server remember the visitor does ([`CurrentMember::mint`]), and active use slides the
//! expiry forward without a write per request ([`REFRESH_EVERY`]).

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, Session};

use crate::domain::{Color, MemberId, RoomId};
use crate::store::{SessionRow, Store};

/// The one key under which gifchat keeps its data in a session.
const KEY: &str = "gifchat";

/// Adapts the store's session methods to tower-sessions, optionally with an in-memory cache in front.
///
/// Without the cache every request reads its session from the store (a blocking-pool hop, a query and a
/// JSON decode) although a session changes only when it is minted, gives a room's password, or slides
/// its expiry (a few times per idle period).
/// The cache is correct only where this process is the only writer of sessions (the embedded store); with
/// MongoDB several servers share them, so the caller leaves it off.
#[derive(Clone)]
pub struct StoreSessions {
    store: Arc<dyn Store>,
    cache: Option<Arc<SessionCache>>,
}

/// Recently loaded sessions. A write never puts its own record in (two writers of one session could
/// leave the older one cached); it invalidates, and the next load reads the store again.
struct SessionCache {
    records: moka::sync::Cache<Id, Record>,
    /// Bumped, under this lock, by every write after it reached the store; a load that started before a
    /// bump does not cache what it read, since it may be the record that write replaced.
    writes: std::sync::Mutex<u64>,
}

impl SessionCache {
    fn generation(&self) -> u64 {
        *self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Caches `record` read by a load that started at `generation`, unless a write finished since.
    fn fill(&self, generation: u64, record: &Record) {
        let writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if *writes == generation {
            self.records.insert(record.id, record.clone());
        }
    }

    /// Called after a write of `id` reached the store.
    fn written(&self, id: &Id) {
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        *writes += 1;
        self.records.invalidate(id);
    }
}

impl StoreSessions {
    /// Sessions in `store`, with a cache of up to `cache_capacity` records (0: no cache).
    pub fn new(store: Arc<dyn Store>, cache_capacity: u64) -> Self {
        let cache = (cache_capacity > 0).then(|| {
            Arc::new(SessionCache {
                // Idle sessions leave the cache after a while so it holds the active ones.
                records: moka::sync::Cache::builder()
                    .max_capacity(cache_capacity)
                    .time_to_idle(std::time::Duration::from_secs(600))
                    .build(),
                writes: std::sync::Mutex::new(0),
            })
        });
        Self { store, cache }
    }
}

impl std::fmt::Debug for StoreSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreSessions")
    }
}

fn row_of(record: &Record) -> session_store::Result<SessionRow> {
    let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let expires_at = (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64;
    Ok(SessionRow { data, expires_at })
}

impl StoreSessions {
    /// Drops the cached copy of `id` after a write of it.
    fn written(&self, id: &Id) {
        if let Some(cache) = &self.cache {
            cache.written(id);
        }
    }
}

fn backend(e: crate::store::StoreError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for StoreSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // 128-bit random ids collide essentially never, but the contract asks us to handle it.
        loop {
            if self.store.session_create(&record.id.to_string(), &row_of(record)?).await.map_err(backend)? {
                self.written(&record.id);
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let saved = self.store.session_save(&record.id.to_string(), &row_of(record)?).await.map_err(backend);
        // Invalidate even after a failure: the write may have reached the store before the error.
        self.written(&record.id);
        saved
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = time::OffsetDateTime::now_utc();
        if let Some(cache) = &self.cache {
            if let Some(record) = cache.records.get(id) {
                if record.expiry_date > now {
                    return Ok(Some(record));
                }
                // Expired: the store filters it out too (and purges it later).
                cache.records.invalidate(id);
                return Ok(None);
            }
        }
        let generation = self.cache.as_ref().map(|c| c.generation());
        let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        let Some(row) = self.store.session_load(&id.to_string(), now_ms).await.map_err(backend)? else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp_nanos(row.expires_at as i128 * 1_000_000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let record = Record { id: *id, data, expiry_date };
        if let (Some(cache), Some(generation)) = (&self.cache, generation) {
            cache.fill(generation, &record);
        }
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let deleted = self.store.session_delete(&id.to_string()).await.map_err(backend);
        self.written(id);
        deleted
    }
}

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
}

impl CurrentMember {
    /// The member of `session`, or a provisional visitor when this browser has no (valid) session. Never
    /// creates a session; re-saves one that is due for its sliding expiry (see [`REFRESH_EVERY`]).
    pub async fn from_session(session: Session) -> Result<Self, session_store::Error> {
        let data = match session.get::<SessionData>(KEY).await {
            Ok(data) => data,
            // The store did not answer: fail rather than treat the member as a stranger.
            Err(tower_sessions::session::Error::Store(e)) => return Err(e),
            // Data that no longer decodes names nobody: a provisional visitor, whose mint replaces it.
            Err(tower_sessions::session::Error::SerdeJson(_)) => None,
        };
        let Some(data) = data else {
            let data = SessionData { member: MemberId::generate(), granted: Vec::new(), saved_at: 0 };
            return Ok(Self { id: data.member.clone(), session, data, stored: false, on_socket: false });
        };
        let mut member = Self { id: data.member.clone(), session, data, stored: true, on_socket: false };
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
    type Rejection = (StatusCode, &'static str);

    /// The visitor of this request (provisional when it carries no valid session); 503 when the store
    /// holding its session does not answer.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        CurrentMember::from_session(session).await.map_err(|e| {
            tracing::error!(error = %e, "session unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "session store unavailable")
        })
    }
}
