//! Rate limits, each kept per member AND per client address.
//!
//! A member is only a cookie: dropping it mints a new one with fresh buckets. The client address is what
//! a new cookie cannot change, so every action draws from both — the member's bucket (fair to people
//! sharing an address) and the address's (somewhat looser, since a NAT or a campus puts many people
//! behind one). Callers without an address (the CLI, in-process tools) draw from the member's only;
//! the operator's room creation draws from none.
//!
//! Memory is bounded twice: idle keys are forgotten by the hub's periodic sweep, and each table refuses
//! new keys beyond `max_keys` (see `keyed.rs` for why refusing beats forgetting).

mod keyed;
mod passwords;
mod sockets;

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;

pub(crate) use keyed::Keyed;
pub use passwords::PasswordLimits;
use passwords::Passwords;
pub use sockets::SocketSlot;
use sockets::Sockets;

use crate::domain::{ClientAddr, MemberId, RoomId};

/// One action's allowance per minute for a member and for a client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMinute {
    /// Per member (a browser session).
    pub member: u32,
    /// Per client address (IPv4 address or IPv6 /64).
    pub address: u32,
}

impl PerMinute {
    /// The same allowance for both.
    pub const fn both(n: u32) -> Self {
        Self { member: n, address: n }
    }
}

/// Every limit (filled from the CLI's `serve` flags). A minute's allowance may come as a burst; the
/// bucket then refills evenly over the minute.
#[derive(Debug, Clone)]
pub struct LimitConfig {
    /// `createRoom` and the create form.
    pub rooms: PerMinute,
    /// `sendMessage` and `whisper`.
    pub messages: PerMinute,
    /// `POST /room/:id/gif`.
    pub uploads: PerMinute,
    /// `enterRoom`, opening a room page, subscribing to a room.
    pub joins: PerMinute,
    /// `typing`.
    pub typing: PerMinute,
    /// New sessions (anonymous identities) per client address per minute.
    pub sessions_per_address: u32,
    /// WebSockets open at once per client address.
    pub sockets_per_address: usize,
    /// Password attempts.
    pub passwords: PasswordLimits,
    /// Most keys one limiter table holds; beyond, new keys are refused until idle ones are forgotten.
    pub max_keys: usize,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            rooms: PerMinute { member: 10, address: 20 },
            messages: PerMinute { member: 60, address: 180 },
            uploads: PerMinute { member: 10, address: 30 },
            joins: PerMinute { member: 30, address: 120 },
            typing: PerMinute { member: 60, address: 240 },
            sessions_per_address: 60,
            sockets_per_address: 64,
            passwords: PasswordLimits::default(),
            max_keys: 65_536,
        }
    }
}

/// Which allowance an action draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `createRoom`.
    CreateRoom,
    /// `sendMessage`, `whisper`.
    Message,
    /// `POST /room/:id/gif`.
    Upload,
    /// `enterRoom`, a room page, a room subscription.
    Join,
    /// `typing`.
    Typing,
}

/// What a client refused a WebSocket (too many open from its address) is told to wait: any of its
/// sockets closing frees a place, so there is no exact time.
pub(super) const SOCKET_WAIT: Duration = Duration::from_secs(5);

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("max(1) is non-zero"))
}

/// A member limiter and an address limiter for one action.
struct Pair {
    member: Keyed<MemberId>,
    address: Keyed<ClientAddr>,
}

impl Pair {
    fn new(allowance: PerMinute, max_keys: usize) -> Self {
        Self {
            member: Keyed::new(per_minute(allowance.member), max_keys),
            address: Keyed::new(per_minute(allowance.address), max_keys),
        }
    }

    /// Draws from the member's bucket, then the address's. A refusal by the address still spent the
    /// member's unit: governor cannot look without taking, and erring towards stricter is safe here.
    fn check(&self, member: &MemberId, addr: Option<ClientAddr>) -> Result<(), Duration> {
        self.member.check(member)?;
        match addr {
            Some(addr) => self.address.check(&addr),
            None => Ok(()),
        }
    }

    fn sweep(&self) {
        self.member.sweep();
        self.address.sweep();
    }
}

/// All the limiters of a hub.
pub(super) struct Limits {
    rooms: Pair,
    messages: Pair,
    uploads: Pair,
    joins: Pair,
    typing: Pair,
    sessions: Keyed<ClientAddr>,
    sockets: Sockets,
    passwords: Passwords,
}

impl Limits {
    pub(super) fn new(config: &LimitConfig) -> Self {
        let max = config.max_keys;
        Self {
            rooms: Pair::new(config.rooms, max),
            messages: Pair::new(config.messages, max),
            uploads: Pair::new(config.uploads, max),
            joins: Pair::new(config.joins, max),
            typing: Pair::new(config.typing, max),
            sessions: Keyed::new(per_minute(config.sessions_per_address), max),
            sockets: Sockets::new(config.sockets_per_address),
            passwords: Passwords::new(config.passwords.clone(), max),
        }
    }

    /// Takes one unit of `action` for `member` at `addr`, or says how long to wait.
    pub(super) fn check(&self, action: Action, member: &MemberId, addr: Option<ClientAddr>) -> Result<(), Duration> {
        let pair = match action {
            Action::CreateRoom => &self.rooms,
            Action::Message => &self.messages,
            Action::Upload => &self.uploads,
            Action::Join => &self.joins,
            Action::Typing => &self.typing,
        };
        pair.check(member, addr)
    }

    /// Admits minting one more session for `addr`.
    pub(super) fn new_session(&self, addr: ClientAddr) -> Result<(), Duration> {
        self.sessions.check(&addr)
    }

    /// A place for one more WebSocket from `addr`, held until the slot is dropped.
    pub(super) fn open_socket(&self, addr: ClientAddr) -> Option<SocketSlot> {
        self.sockets.open(addr)
    }

    /// Admits one password attempt (before any hashing).
    pub(super) fn password_attempt(&self, room: &RoomId, addr: Option<ClientAddr>) -> Result<(), Duration> {
        self.passwords.admit(room, addr)
    }

    /// A wrong password came from `addr`.
    pub(super) fn password_wrong(&self, room: &RoomId, addr: Option<ClientAddr>) {
        self.passwords.failed(room, addr);
    }

    /// The right password came from `addr`.
    pub(super) fn password_right(&self, room: &RoomId, addr: Option<ClientAddr>) {
        self.passwords.succeeded(room, addr);
    }

    /// Forgets idle keys everywhere.
    pub(super) fn sweep(&self) {
        for pair in [&self.rooms, &self.messages, &self.uploads, &self.joins, &self.typing] {
            pair.sweep();
        }
        self.sessions.sweep();
        self.passwords.sweep();
    }

    /// How many keys each table holds (observability; tests prove the bound).
    pub(super) fn sizes(&self) -> Vec<(String, usize)> {
        let mut sizes = Vec::new();
        for (name, pair) in [
            ("rooms", &self.rooms),
            ("messages", &self.messages),
            ("uploads", &self.uploads),
            ("joins", &self.joins),
            ("typing", &self.typing),
        ] {
            sizes.push((format!("{name} per member"), pair.member.len()));
            sizes.push((format!("{name} per address"), pair.address.len()));
        }
        sizes.push(("sessions per address".into(), self.sessions.len()));
        sizes.push(("sockets per address".into(), self.sockets.len()));
        sizes.extend(self.passwords.sizes().map(|(name, n)| (name.to_owned(), n)));
        sizes
    }
}
