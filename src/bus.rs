//! The bus carries events from the hub to subscriptions. Single node: in-process tokio broadcast
//! channels (this file). The trait exists so a Redis-backed bus can join nodes later without touching
//! the hub or the resolvers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::domain::{LobbyEvent, RoomId, RoomSignal};

/// How many signals a slow room subscriber may fall behind before it lags (and is resynced from the store).
const ROOM_BUFFER: usize = 256;
/// Lobby buffer; lobby events carry whole rooms, so a lagging lobby subscriber re-reads the snapshot.
const LOBBY_BUFFER: usize = 256;

/// Publish/subscribe between the hub and live subscriptions.
pub trait Bus: Send + Sync + 'static {
    /// Sends a lobby event to every lobby subscriber (no-op when nobody listens).
    fn publish_lobby(&self, event: LobbyEvent);
    /// Subscribes to lobby events. Each event is one `Arc` shared by all subscribers, so it is executed and
    /// serialised once for all of them.
    fn subscribe_lobby(&self) -> broadcast::Receiver<Arc<LobbyEvent>>;
    /// Sends a signal to every subscriber of `room`.
    fn publish_room(&self, room: &RoomId, signal: RoomSignal);
    /// Subscribes to one room's signals.
    fn subscribe_room(&self, room: &RoomId) -> broadcast::Receiver<RoomSignal>;
    /// Forgets a deleted room's channel (after its `Closed` signal went out).
    fn drop_room(&self, room: &RoomId);
}

/// The in-process bus: one broadcast channel for the lobby, one per room with subscribers.
pub struct LocalBus {
    lobby: broadcast::Sender<Arc<LobbyEvent>>,
    rooms: Mutex<HashMap<RoomId, broadcast::Sender<RoomSignal>>>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self { lobby: broadcast::channel(LOBBY_BUFFER).0, rooms: Mutex::new(HashMap::new()) }
    }
}

impl Bus for LocalBus {
    fn publish_lobby(&self, event: LobbyEvent) {
        // An error only means nobody is listening right now.
        let _ = self.lobby.send(Arc::new(event));
    }

    fn subscribe_lobby(&self) -> broadcast::Receiver<Arc<LobbyEvent>> {
        self.lobby.subscribe()
    }

    fn publish_room(&self, room: &RoomId, signal: RoomSignal) {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = rooms.get(room) {
            let _ = tx.send(signal);
        }
    }

    fn subscribe_room(&self, room: &RoomId) -> broadcast::Receiver<RoomSignal> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        // Channels whose subscribers are all gone are pruned here, so the map stays as small as the live rooms.
        rooms.retain(|_, tx| tx.receiver_count() > 0);
        rooms.entry(room.clone()).or_insert_with(|| broadcast::channel(ROOM_BUFFER).0).subscribe()
    }

    fn drop_room(&self, room: &RoomId) {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner()).remove(room);
    }
}
