//! Password attempts: a growing back-off per (room, client address) and a budget per room.
//!
//! Every attempt is counted when it is admitted — before the Argon2 check runs — so a burst of parallel
//! guesses cannot all slip in while the first ones are still being hashed. The first few attempts of an
//! address at a room are free; each one after that doubles the wait before the next (up to a cap). The
//! right password clears that address's count for the room. The per-room budget counts attempts from
//! every address together, so guessing spread over many addresses (or many IPv6 prefixes) is bounded too;
//! while it is spent, nobody without access can try that room's password — the price of not letting a
//! 4-digit password fall to a botnet.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::Quota;

use super::keyed::{Keyed, FULL_TABLE_WAIT};
use crate::domain::{ClientAddr, RoomId};

/// How long after its last wait ended an address's count at a room is forgotten (at least).
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// The password-attempt settings.
#[derive(Debug, Clone)]
pub struct PasswordLimits {
    /// Attempts per room and address before the back-off starts.
    pub free_tries: u32,
    /// The first wait; each further attempt doubles it.
    pub backoff: Duration,
    /// The longest wait.
    pub backoff_max: Duration,
    /// Attempts per room per hour, from all addresses together.
    pub per_room_per_hour: u32,
}

impl Default for PasswordLimits {
    fn default() -> Self {
        Self {
            free_tries: 5,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(15 * 60),
            per_room_per_hour: 60,
        }
    }
}

/// One address's attempts at one room.
struct Tries {
    /// Attempts counted (the right password clears them).
    counted: u32,
    /// No further attempt before this.
    next: Instant,
}

/// The password limiters.
pub(super) struct Passwords {
    settings: PasswordLimits,
    per_address: Mutex<HashMap<(RoomId, ClientAddr), Tries>>,
    per_room: Keyed<RoomId>,
    max_keys: usize,
}

impl Passwords {
    pub(super) fn new(settings: PasswordLimits, max_keys: usize) -> Self {
        let per_hour = std::num::NonZeroU32::new(settings.per_room_per_hour.max(1)).expect("max(1) is non-zero");
        Self {
            per_room: Keyed::new(Quota::per_hour(per_hour), max_keys),
            settings,
            per_address: Mutex::default(),
            max_keys,
        }
    }

    /// The wait after the `tries`-th attempt: none for the free ones, then `backoff`, doubling, capped.
    fn wait_after(&self, tries: u32) -> Duration {
        let Some(over) = tries.checked_sub(self.settings.free_tries.saturating_add(1)) else { return Duration::ZERO };
        let factor = 1u32.checked_shl(over).unwrap_or(u32::MAX);
        self.settings.backoff.checked_mul(factor).unwrap_or(Duration::MAX).min(self.settings.backoff_max)
    }

    /// Admits one attempt at `room`'s password from `addr` (counting it), or says how long to wait.
    pub(super) fn admit(&self, room: &RoomId, addr: Option<ClientAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        // One lock around both decisions, so an attempt refused by the room budget is not counted
        // against the address, and no two attempts of one address pass the same wait.
        let mut tries = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(addr) = addr {
            match tries.get(&(room.clone(), addr)) {
                Some(t) if t.next > now => return Err(t.next - now),
                Some(_) => {}
                None if tries.len() >= self.max_keys => {
                    tries.retain(|_, t| now < t.next + self.forget_after());
                    if tries.len() >= self.max_keys {
                        return Err(FULL_TABLE_WAIT);
                    }
                }
                None => {}
            }
        }
        self.per_room.check(room)?;
        if let Some(addr) = addr {
            let t = tries.entry((room.clone(), addr)).or_insert(Tries { counted: 0, next: now });
            t.counted = t.counted.saturating_add(1);
            t.next = now + self.wait_after(t.counted);
        }
        Ok(())
    }

    /// A wrong password from `addr`: its wait runs from now, when the answer is known, rather than from
    /// the admission (an Argon2 check under load may take longer than the first waits).
    pub(super) fn failed(&self, room: &RoomId, addr: Option<ClientAddr>) {
        let Some(addr) = addr else { return };
        let mut tries = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = tries.get_mut(&(room.clone(), addr)) {
            t.next = t.next.max(Instant::now() + self.wait_after(t.counted));
        }
    }

    /// The right password came from `addr`: its count at `room` starts again.
    pub(super) fn succeeded(&self, room: &RoomId, addr: Option<ClientAddr>) {
        if let Some(addr) = addr {
            self.per_address.lock().unwrap_or_else(|p| p.into_inner()).remove(&(room.clone(), addr));
        }
    }

    fn forget_after(&self) -> Duration {
        self.settings.backoff_max.max(FORGET_AFTER)
    }

    /// Forgets counts that have been quiet long enough, and idle room budgets.
    pub(super) fn sweep(&self) {
        let now = Instant::now();
        let forget = self.forget_after();
        self.per_address.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, t| now < t.next + forget);
        self.per_room.sweep();
    }

    /// Sizes of the two tables.
    pub(super) fn sizes(&self) -> [(&'static str, usize); 2] {
        let per_address = self.per_address.lock().unwrap_or_else(|p| p.into_inner()).len();
        [("passwords per room and address", per_address), ("passwords per room", self.per_room.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(free_tries: u32, per_room_per_hour: u32) -> Passwords {
        let settings = PasswordLimits {
            free_tries,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            per_room_per_hour,
        };
        Passwords::new(settings, 1000)
    }

    fn addr(text: &str) -> Option<ClientAddr> {
        Some(ClientAddr::of(text.parse().unwrap()))
    }

    #[test]
    fn the_wait_doubles_after_the_free_tries_up_to_the_cap() {
        let p = limits(3, 100);
        let waits: Vec<u64> = (1..=12).map(|n| p.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.wait_after(u32::MAX), Duration::from_secs(60), "no overflow at the extreme");
    }

    #[test]
    fn an_address_is_held_back_after_its_free_tries_and_others_are_not() {
        let (p, room) = (limits(2, 100), RoomId::generate());
        p.admit(&room, addr("192.0.2.1")).unwrap();
        p.admit(&room, addr("192.0.2.1")).unwrap();
        // The third attempt passes but starts the back-off; the fourth must wait.
        p.admit(&room, addr("192.0.2.1")).unwrap();
        let wait = p.admit(&room, addr("192.0.2.1")).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        p.admit(&room, addr("192.0.2.2")).expect("another address has its own count");
        p.admit(&RoomId::generate(), addr("192.0.2.1")).expect("another room has its own count");
    }

    #[test]
    fn a_wrong_answer_restarts_the_wait_from_when_it_is_known() {
        let settings = PasswordLimits {
            free_tries: 0,
            backoff: Duration::from_millis(200),
            backoff_max: Duration::from_secs(1),
            per_room_per_hour: 100,
        };
        let (p, room) = (Passwords::new(settings, 1000), RoomId::generate());
        p.admit(&room, addr("192.0.2.1")).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        // The admission's wait has passed while "hashing"; the answer starts it again.
        p.failed(&room, addr("192.0.2.1"));
        let wait = p.admit(&room, addr("192.0.2.1")).unwrap_err();
        assert!(wait > Duration::from_millis(100), "{wait:?}");
        // Positive control: without the wrong answer, the wait would be over.
        let other = RoomId::generate();
        p.admit(&other, addr("192.0.2.1")).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        p.admit(&other, addr("192.0.2.1")).expect("the admission's wait has passed");
    }

    #[test]
    fn the_right_password_clears_the_count() {
        let (p, room) = (limits(1, 100), RoomId::generate());
        p.admit(&room, addr("192.0.2.1")).unwrap();
        p.admit(&room, addr("192.0.2.1")).unwrap();
        assert!(p.admit(&room, addr("192.0.2.1")).is_err());
        p.succeeded(&room, addr("192.0.2.1"));
        p.admit(&room, addr("192.0.2.1")).expect("counting starts again");
    }

    #[test]
    fn the_room_budget_holds_across_addresses_and_is_not_charged_to_an_address() {
        let (p, room) = (limits(100, 3), RoomId::generate());
        for i in 1..=3 {
            p.admit(&room, addr(&format!("192.0.2.{i}"))).unwrap();
        }
        assert!(p.admit(&room, addr("192.0.2.9")).is_err(), "a fresh address meets the spent room budget");
        assert!(p.admit(&room, None).is_err(), "so does a caller without an address");
        assert_eq!(p.sizes()[0].1, 3, "the refused attempt was not counted against 192.0.2.9");
        p.admit(&RoomId::generate(), addr("192.0.2.9")).expect("another room has its own budget");
    }
}
