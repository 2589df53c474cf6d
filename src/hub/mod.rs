//! The hub is the one write path: every state change — from GraphQL, pages, uploads or the CLI — is
//! validated here, persisted through the [`Store`], and only then published on the [`Bus`].
//!
//! Per room, everything that allocates a `seq` or changes presence runs under that room's async lock,
//! so `seq` order = commit order = publish order, and presence decisions never interleave.

mod background;
mod error;
mod moderation;
mod password;
mod presence;
mod quota;
mod rooms;
mod stream;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::domain::{MemberId, RoomId};
use crate::store::{GifQuota, Store};

pub use error::HubError;
pub use password::Hasher;
pub use presence::Seat;
pub use rooms::{Creator, MAX_ROOMS_PAGE, MAX_SEARCH_CHARS};
pub use stream::{ClosedReason, RoomUpdate};

/// Hub settings (filled from the CLI's `serve` flags).
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// How long a dropped member keeps their seat.
    pub grace: Duration,
    /// How long a room nobody entered survives.
    pub unused_room_ttl: Duration,
    /// How often the sweeper and the outbox tail run.
    pub tick: Duration,
    /// At most this many events are replayed on resume; beyond, the client is told to resync.
    pub replay_cap: u32,
    /// Text messages per member per minute.
    pub messages_per_minute: u32,
    /// GIF uploads per member per minute.
    pub uploads_per_minute: u32,
    /// Rooms created per member per minute.
    pub rooms_per_minute: u32,
    /// Password hashes running at once.
    pub hash_parallelism: usize,
    /// Password checks waiting for a free hasher before more are refused.
    pub hash_queue: usize,
    /// Rooms on the lobby's first page (and in the lobby subscription's snapshot).
    pub lobby_page: u32,
    /// Bytes of GIFs a room, and all rooms together, may store.
    pub gif_quota: GifQuota,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(10),
            unused_room_ttl: Duration::from_secs(600),
            tick: Duration::from_millis(250),
            replay_cap: 500,
            messages_per_minute: 60,
            uploads_per_minute: 10,
            rooms_per_minute: 10,
            hash_parallelism: 2,
            hash_queue: 16,
            lobby_page: 50,
            gif_quota: GifQuota { room: Some(DEFAULT_GIF_ROOM_QUOTA), total: Some(DEFAULT_GIF_TOTAL_QUOTA) },
        }
    }
}

/// Bytes of GIFs one room may store unless configured: ten uploads of the largest size.
pub const DEFAULT_GIF_ROOM_QUOTA: u64 = 50 * 1024 * 1024;

/// Bytes of GIFs all rooms together may store unless configured: a modest disk or MongoDB share.
pub const DEFAULT_GIF_TOTAL_QUOTA: u64 = 2 * 1024 * 1024 * 1024;

/// Per-member rate limiters, one per kind of action.
struct Limits {
    messages: DefaultKeyedRateLimiter<MemberId>,
    uploads: DefaultKeyedRateLimiter<MemberId>,
    rooms: DefaultKeyedRateLimiter<MemberId>,
}

fn quota(per_minute: u32) -> Quota {
    // A full minute's worth may come as a burst; the bucket then refills evenly.
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("max(1) is non-zero"))
}

/// Which limiter an action draws from.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// `sendMessage`.
    Message,
    /// `POST /room/:id/gif`.
    Upload,
    /// `createRoom`.
    CreateRoom,
}

/// The state and rules of every room; cheap to share (`Arc<Hub>`).
pub struct Hub {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    config: HubConfig,
    /// Marks this process's outbox entries, so the tail skips them.
    origin: String,
    hasher: Hasher,
    /// GIF decodes running or waiting, in all rooms together (each decode is CPU work on the blocking pool).
    decodes: Arc<tokio::sync::Semaphore>,
    limits: Limits,
    cells: Mutex<HashMap<RoomId, Arc<presence::RoomCell>>>,
    /// Cancelled at shutdown: grace timers stop (a restart is not a mass exit) and streams end.
    shutdown: CancellationToken,
    /// How often a lagging subscriber was caught up from the store (observability, and tests prove lag happened).
    lag_recoveries: AtomicU64,
}

/// GIF decodes admitted at once (running or queued on the blocking pool); more are `RATE_LIMITED`.
const DECODES: usize = 4;

impl Hub {
    /// A hub over `store` and `bus`; `origin` names this process in the outbox.
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>, config: HubConfig, origin: String) -> Arc<Self> {
        let limits = Limits {
            messages: RateLimiter::keyed(quota(config.messages_per_minute)),
            uploads: RateLimiter::keyed(quota(config.uploads_per_minute)),
            rooms: RateLimiter::keyed(quota(config.rooms_per_minute)),
        };
        Arc::new(Self {
            hasher: Hasher::with_queue(config.hash_parallelism, config.hash_queue),
            decodes: Arc::new(tokio::sync::Semaphore::new(DECODES)),
            store,
            bus,
            config,
            origin,
            limits,
            cells: Mutex::new(HashMap::new()),
            shutdown: CancellationToken::new(),
            lag_recoveries: AtomicU64::new(0),
        })
    }

    /// The store (read access for adapters).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The bus (lobby subscriptions).
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// The settings.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// The token cancelled when the server shuts down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops timers and ends streams; called once by `serve` on shutdown.
    pub fn shut_down(&self) {
        self.shutdown.cancel();
    }

    /// How many times a lagging room subscriber was resynced from the store.
    pub fn lag_recoveries(&self) -> u64 {
        self.lag_recoveries.load(Ordering::Relaxed)
    }

    /// Refuses with `RATE_LIMITED` when `member` has used up the quota for `action`.
    pub fn check_rate(&self, member: &MemberId, action: Action) -> Result<(), HubError> {
        let limiter = match action {
            Action::Message => &self.limits.messages,
            Action::Upload => &self.limits.uploads,
            Action::CreateRoom => &self.limits.rooms,
        };
        limiter.check_key(member).map_err(|_| HubError::RateLimited)
    }

    /// Forgets idle rate-limit buckets so the maps stay bounded.
    fn sweep_limits(&self) {
        self.limits.messages.retain_recent();
        self.limits.uploads.retain_recent();
        self.limits.rooms.retain_recent();
    }
}
