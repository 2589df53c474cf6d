//! WebSockets open at once per client address: a count with a guard, not a rate — a socket holds memory
//! and a task for as long as it lives, however slowly it was opened.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::ClientAddr;

/// Open sockets by address. Only addresses with an open socket have an entry, so the table is bounded by
/// the sockets themselves.
pub(super) struct Sockets {
    open: Arc<Mutex<HashMap<ClientAddr, usize>>>,
    max: usize,
}

impl Sockets {
    pub(super) fn new(max: usize) -> Self {
        Self { open: Arc::default(), max: max.max(1) }
    }

    /// A slot for one more socket from `addr`, or `None` when it has `max` open already.
    pub(super) fn open(&self, addr: ClientAddr) -> Option<SocketSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(addr).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(SocketSlot { open: self.open.clone(), addr })
    }

    pub(super) fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// One open socket's place in its address's count; dropping it (the socket ended, or the upgrade never
/// completed) gives the place back.
pub struct SocketSlot {
    open: Arc<Mutex<HashMap<ClientAddr, usize>>>,
    addr: ClientAddr,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.addr) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> ClientAddr {
        ClientAddr::of(text.parse().unwrap())
    }

    #[test]
    fn an_address_gets_max_slots_and_a_dropped_slot_comes_back() {
        let sockets = Sockets::new(2);
        let first = sockets.open(addr("192.0.2.1")).unwrap();
        let _second = sockets.open(addr("192.0.2.1")).unwrap();
        assert!(sockets.open(addr("192.0.2.1")).is_none());
        assert!(sockets.open(addr("192.0.2.2")).is_some(), "another address has its own count");
        drop(first);
        assert!(sockets.open(addr("192.0.2.1")).is_some());
    }

    #[test]
    fn addresses_without_open_sockets_leave_no_entry() {
        let sockets = Sockets::new(2);
        let slot = sockets.open(addr("192.0.2.1")).unwrap();
        assert!(sockets.open(addr("192.0.2.1")).is_some(), "the slot from this line was dropped at once");
        assert_eq!(sockets.len(), 1);
        drop(slot);
        assert_eq!(sockets.len(), 0);
    }
}
