//! A governor keyed limiter whose key table has a hard cap.
//!
//! governor's own keyed stores grow with every new key until `retain_recent` runs, and they cannot be
//! asked whether a key is known. This store keeps the same per-key GCRA state (one atomic "theoretical
//! arrival time" per key, as governor's `InMemoryState` does) in a map the wrapper can also see, so a new
//! key can be refused while the table is full.
//!
//! Full means: refuse new keys, keep serving known ones. The alternative — forgetting keys to make room —
//! would let anyone holding many addresses (an IPv6 /48 has 65 536 /64s) reset their own buckets by
//! flooding; refusing only newcomers keeps every limit in force, and costs only while the flood lasts,
//! because idle keys are forgotten by `retain_recent` as soon as their buckets are full again.

use std::hash::Hash;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

/// What a refused new key is told to wait: sweeping a full table is allowed once per this period.
pub(super) const FULL_TABLE_WAIT: Duration = Duration::from_secs(1);

/// Per-key GCRA state shared between the limiter and its wrapper. 0 means "no state yet".
struct SharedStore<K: Hash + Eq>(Arc<DashMap<K, AtomicU64>>);

impl<K: Hash + Eq + Clone> StateStore for SharedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // The fast path borrows the shard for reading only; a new key takes the write lock once.
        let measure = |state: &AtomicU64| {
            let mut prev = state.load(Ordering::Acquire);
            loop {
                let (result, next) = f(NonZeroU64::new(prev).map(|n| Nanos::from(n.get())))?;
                match state.compare_exchange_weak(prev, next.into(), Ordering::Release, Ordering::Relaxed) {
                    Ok(_) => return Ok(result),
                    Err(current) => prev = current,
                }
            }
        };
        if let Some(state) = self.0.get(key) {
            return measure(&state);
        }
        let state = self.0.entry(key.clone()).or_default();
        measure(&state)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for SharedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        let drop_below = u64::from(drop_below);
        self.0.retain(|_, state| state.load(Ordering::Relaxed) > drop_below);
    }

    fn shrink_to_fit(&self) {
        self.0.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A keyed rate limiter holding at most about `max_keys` keys (concurrent first uses may overshoot by
/// the number of requests in flight).
pub(crate) struct Keyed<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, SharedStore<K>, DefaultClock>,
    states: Arc<DashMap<K, AtomicU64>>,
    max_keys: usize,
    /// When a full table was last swept: sweeping is linear in its size, so a flood of new keys may not
    /// trigger it on every request.
    swept_full: Mutex<Option<Instant>>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    /// A limiter of `quota` per key over at most `max_keys` keys.
    pub(crate) fn new(quota: Quota, max_keys: usize) -> Self {
        let states = Arc::new(DashMap::new());
        let limiter = RateLimiter::new(quota, SharedStore(states.clone()), DefaultClock::default());
        Self { limiter, states, max_keys: max_keys.max(1), swept_full: Mutex::new(None) }
    }

    /// Takes one unit for `key`, or says how long to wait for it.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        if self.states.len() >= self.max_keys && !self.states.contains_key(key) && !self.make_room() {
            return Err(FULL_TABLE_WAIT);
        }
        let clock = self.limiter.clock();
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(clock.now()))
    }

    /// Forgets idle keys when the table is full (at most once per [`FULL_TABLE_WAIT`]); whether a new
    /// key fits now.
    fn make_room(&self) -> bool {
        {
            let mut swept = self.swept_full.lock().unwrap_or_else(|p| p.into_inner());
            if swept.is_some_and(|at| at.elapsed() < FULL_TABLE_WAIT) {
                return false;
            }
            *swept = Some(Instant::now());
        }
        self.limiter.retain_recent();
        self.states.len() < self.max_keys
    }

    /// Forgets keys whose buckets are full again (they are indistinguishable from new ones).
    pub(crate) fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// How many keys are held now.
    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn per_minute(n: u32) -> Quota {
        Quota::per_minute(NonZeroU32::new(n).unwrap())
    }

    #[test]
    fn a_key_gets_its_burst_then_a_wait() {
        let limiter = Keyed::new(per_minute(3), 10);
        for _ in 0..3 {
            limiter.check(&"a").unwrap();
        }
        let wait = limiter.check(&"a").unwrap_err();
        // One unit comes back every 20 s.
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20), "{wait:?}");
        // Positive control: another key has its own bucket.
        limiter.check(&"b").unwrap();
    }

    #[test]
    fn a_full_table_refuses_new_keys_but_serves_known_ones() {
        let limiter = Keyed::new(per_minute(5), 3);
        for key in 0..3 {
            limiter.check(&key).unwrap();
        }
        assert_eq!(limiter.len(), 3);
        assert_eq!(limiter.check(&99), Err(FULL_TABLE_WAIT));
        assert_eq!(limiter.len(), 3, "the refused key was not stored");
        limiter.check(&1).expect("a known key is still served");
    }

    #[test]
    fn sweeping_forgets_only_keys_whose_bucket_is_full_again() {
        // One unit per millisecond: a key used once is full again almost at once.
        let limiter = Keyed::new(Quota::with_period(Duration::from_millis(1)).unwrap(), 10);
        limiter.check(&"idle").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        limiter.sweep();
        assert_eq!(limiter.len(), 0);
        // Positive control: a key that is still waiting is kept.
        let slow = Keyed::new(per_minute(1), 10);
        slow.check(&"busy").unwrap();
        slow.sweep();
        assert_eq!(slow.len(), 1);
    }
}
