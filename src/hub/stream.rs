//! The room subscription: take the seat, replay what followed `after`, then stream live — with no gap
//! and no duplicate at the seam, and a store resync when the bus lags.

use std::sync::Arc;

use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::{Action, Hub, HubError};
use crate::domain::{ClientAddr, EndReason, MemberId, RoomEvent, RoomId, RoomSignal};
use crate::store::Page;

/// Why the server ended a room subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedReason {
    /// The room was deleted.
    Deleted,
    /// The member left from another tab.
    Left,
    /// The owner kicked the member.
    Kicked,
    /// The server is shutting down; reconnect with the last `seq`.
    ShuttingDown,
}

/// One item of a room subscription.
#[derive(Debug, Clone)]
pub enum RoomUpdate {
    /// A persisted event, in `seq` order.
    Event(Arc<RoomEvent>),
    /// Too much was missed to replay: refetch history, then continue; `latest_seq` is where the stream resumes.
    Resync {
        /// The newest `seq` the client can now assume.
        latest_seq: i64,
    },
    /// Another member is typing (live only: no `seq`, not stored, not replayed).
    Typing {
        /// Who.
        member: MemberId,
    },
    /// The last item before the stream ends.
    Closed(ClosedReason),
}

/// Releases the connection when the subscription stream is dropped (socket closed, `complete`, error).
struct ConnectionGuard {
    hub: Arc<Hub>,
    room: RoomId,
    member: MemberId,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let (hub, room, member) = (self.hub.clone(), self.room.clone(), self.member.clone());
        // Drop cannot await; the disconnect only starts a grace timer, so running it a moment later is fine.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { hub.disconnect(&room, &member).await });
        }
    }
}

impl Hub {
    /// Subscribes `member` to `room`: checks access, takes a seat atomically (several tabs count once),
    /// then yields events after `after` from the store followed by live ones. Counts as a join.
    pub async fn join(
        self: &Arc<Self>,
        room: &RoomId,
        member: &MemberId,
        addr: Option<ClientAddr>,
        granted: bool,
        after: Option<i64>,
    ) -> Result<impl Stream<Item = RoomUpdate> + Send + 'static, HubError> {
        self.check_rate(member, addr, Action::Join)?;
        let rec = self.room(room).await?;
        if !Self::has_access(&rec, member, granted) {
            return Err(HubError::Forbidden("this room needs its password"));
        }
        // Subscribe before anything is read or written: whatever commits from now on reaches `rx`.
        let mut rx = self.bus.subscribe_room(room);
        // Without `after` the stream is live-only: it starts after whatever is stored now, so a later
        // store catch-up (after a lag) never replays older history.
        let start = match after {
            Some(after) => after,
            None => self.latest_seq(room, member).await?,
        };
        // Taking the seat runs on its own task and hands back the guard that will release it: if this
        // subscription is dropped meanwhile (the client completes it, the socket closes), the task still
        // finishes and dropping its unclaimed guard releases the seat — never a seat held by nobody.
        let seat = {
            let (hub, room, member) = (self.clone(), room.clone(), member.clone());
            tokio::spawn(async move {
                hub.connect(&room, &member).await?;
                Ok::<_, HubError>(ConnectionGuard { hub, room, member })
            })
        };
        let guard =
            seat.await.map_err(|e| HubError::from(crate::store::StoreError::Backend(format!("seat task: {e}"))))??;
        let hub = self.clone();
        let (room, member) = (room.clone(), member.clone());
        let shutdown = self.shutdown.clone();
        Ok(async_stream::stream! {
            let _guard = guard;
            // `last` is the newest seq delivered; live events at or below it were already replayed.
            let mut last = start;
            if after.is_some() {
                match hub.catch_up(&room, &member, last).await {
                    Ok(CatchUp::Events(events)) => for e in events { last = e.seq; yield RoomUpdate::Event(e); },
                    Ok(CatchUp::TooMany(latest)) => { last = latest; yield RoomUpdate::Resync { latest_seq: latest }; }
                    Err(_) => { yield RoomUpdate::Closed(ClosedReason::ShuttingDown); return; }
                }
            }
            loop {
                let signal = tokio::select! {
                    _ = shutdown.cancelled() => { yield RoomUpdate::Closed(ClosedReason::ShuttingDown); return; }
                    s = rx.recv() => s,
                };
                match signal {
                    Ok(RoomSignal::Event(e)) => {
                        if e.seq > last {
                            last = e.seq;
                            if e.visible_to(&member) { yield RoomUpdate::Event(e); }
                        }
                    }
                    Ok(RoomSignal::Closed) | Err(RecvError::Closed) => {
                        yield RoomUpdate::Closed(ClosedReason::Deleted); return;
                    }
                    Ok(RoomSignal::MemberEnded { member: who, reason }) if who == member => {
                        let reason = match reason { EndReason::Left => ClosedReason::Left, EndReason::Kicked => ClosedReason::Kicked };
                        yield RoomUpdate::Closed(reason); return;
                    }
                    Ok(RoomSignal::MemberEnded { .. }) => {}
                    Ok(RoomSignal::Typing { member: who }) => {
                        if who != member { yield RoomUpdate::Typing { member: who }; }
                    }
                    // Fell behind the bus: the store has everything, so read what was missed from it — unless
                    // what was missed includes this member's own kick, which the store remembers too.
                    Err(RecvError::Lagged(_)) if hub.store.is_kicked(&room, &member).await.unwrap_or(false) => {
                        yield RoomUpdate::Closed(ClosedReason::Kicked); return;
                    }
                    Err(RecvError::Lagged(_)) => match hub.note_lag().catch_up(&room, &member, last).await {
                        Ok(CatchUp::Events(events)) => for e in events { last = e.seq; yield RoomUpdate::Event(e); },
                        Ok(CatchUp::TooMany(latest)) => { last = latest; yield RoomUpdate::Resync { latest_seq: latest }; }
                        Err(_) => { yield RoomUpdate::Closed(ClosedReason::ShuttingDown); return; }
                    },
                }
            }
        })
    }

    fn note_lag(&self) -> &Self {
        self.lag_recoveries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// The newest seq `member` can see in `room` (0 for an empty history).
    async fn latest_seq(&self, room: &RoomId, member: &MemberId) -> Result<i64, HubError> {
        let newest = Page { after: None, before: None, limit: 1, newest: true };
        Ok(self.store.events(room, member, newest).await?.pop().map(|e| e.seq).unwrap_or(0))
    }

    /// Events after `after` from the store, or "too many" with the newest seq when over the replay cap.
    async fn catch_up(&self, room: &RoomId, member: &MemberId, after: i64) -> Result<CatchUp, HubError> {
        let cap = self.config.replay_cap;
        let page = Page { after: Some(after), before: None, limit: cap + 1, newest: false };
        let mut events = self.store.events(room, member, page).await?;
        if events.len() as u32 > cap {
            return Ok(CatchUp::TooMany(self.latest_seq(room, member).await?));
        }
        Ok(CatchUp::Events(events.drain(..).map(Arc::new).collect()))
    }
}

enum CatchUp {
    Events(Vec<Arc<RoomEvent>>),
    TooMany(i64),
}
