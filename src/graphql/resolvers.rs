//! Root fields. Names and arguments are the public contract; each resolver parses its arguments,
//! calls the hub, and wraps the result.

use std::sync::Arc;

use async_graphql::{Context, Object, Subscription, ID};
use futures::stream::{self, BoxStream};
use futures::StreamExt;

use super::connection::RoomConnection;
use super::live::{LiveItem, LobbyItem, Preset, Tap};
use super::types::{room_id, LobbyUpdate, Member, RoomEventObject, RoomObject, RoomUpdateObject};
use super::{client, session_refused, viewer, GqlResult};
use crate::hub::{Creator, Hub, HubError};

fn hub<'a>(ctx: &Context<'a>) -> &'a Arc<Hub> {
    ctx.data_unchecked::<Arc<Hub>>()
}

fn parse_room(id: &ID) -> Result<crate::domain::RoomId, HubError> {
    room_id(id).ok_or(HubError::NotFound)
}

fn parse_member(id: &ID) -> Result<crate::domain::MemberId, HubError> {
    crate::domain::MemberId::parse(id.as_str())
        .ok_or_else(|| HubError::invalid("NOT_PRESENT", "that member is not in this room"))
}

/// Queries.
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// Who you are: your member id and colour; null until you have a session (your first `createRoom` or
    /// `enterRoom` gives you one — looking around does not).
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        let v = viewer(ctx)?.0.lock().await;
        Ok(v.has_session().then(|| Member::from(&v.id)))
    }

    /// Rooms in the lobby's order — rooms with people first (latest message, whisper or GIF first), then
    /// empty rooms (newest first) — as a cursor connection: `first` rooms (1–100; default the lobby page
    /// size) after the cursor `after`, only those whose title contains `query` (case-insensitive; the
    /// text is matched literally). A cursor marks a place in the order, so paging goes on correctly while
    /// rooms come and go; a room that moved between two pages may appear twice or be missed.
    async fn rooms(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        query: Option<String>,
    ) -> async_graphql::Result<RoomConnection> {
        let hub = hub(ctx);
        let page = hub.rooms_page(first.map(i64::from), after.as_deref(), query.as_deref()).await.gql()?;
        // Viewer-specific, so on the edges of this query only (never in the lobby subscription).
        // A visitor without a session cannot have been kicked from anything.
        let me = match ctx.data_opt::<super::Viewer>() {
            Some(v) => Some(v.0.lock().await).filter(|v| v.has_session()).map(|v| v.id.clone()),
            None => None,
        };
        let removed = match me {
            Some(me) => hub.kicked_from(&me).await.gql()?.into_iter().collect(),
            None => Default::default(),
        };
        Ok(RoomConnection { page, after: after.is_some(), removed })
    }

    /// One room, or null when it does not exist.
    async fn room(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<RoomObject>> {
        let Some(id) = room_id(&id) else { return Ok(None) };
        Ok(hub(ctx).store().room(&id).await.map_err(HubError::from).gql()?.map(|r| RoomObject(r.room)))
    }

    /// History, ascending by `seq`: the latest `last` (≤ 100) events, or those after/before a `seq`.
    /// Secret rooms need the password first (`enterRoom`).
    async fn messages(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        after: Option<i64>,
        before: Option<i64>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<RoomEventObject>> {
        let room = parse_room(&room_id).gql()?;
        let v = viewer(ctx)?.0.lock().await;
        let events =
            hub(ctx).messages(&room, &v.id, v.is_granted(&room), after, before, last.map(i64::from)).await.gql()?;
        Ok(events.into_iter().map(|e| RoomEventObject(Arc::new(e))).collect())
    }
}

/// Mutations.
pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Creates a room you own. Title 1–80 characters, capacity 2–100 (default 10), optional password.
    /// Gives you a session if you have none (over a WebSocket without one: `NO_SESSION`).
    async fn create_room(
        &self,
        ctx: &Context<'_>,
        title: String,
        capacity: Option<i32>,
        password: Option<String>,
    ) -> async_graphql::Result<RoomObject> {
        let mut v = viewer(ctx)?.0.lock().await;
        // The owner must be someone the server remembers.
        v.mint().await.map_err(session_refused)?;
        let creator = Creator::Member(v.id.clone(), client(ctx));
        let room = hub(ctx).create_room(creator, &title, capacity.map(i64::from), password.as_deref()).await.gql()?;
        Ok(RoomObject(room))
    }

    /// Checks that you may enter: the room exists, the password (secret rooms; remembered in your
    /// session), a free place. Subscribing to `room(id)` takes the seat. Once let in, you get a session if
    /// you have none (over a WebSocket without one: `NO_SESSION`); a refusal creates none.
    async fn enter_room(
        &self,
        ctx: &Context<'_>,
        id: ID,
        password: Option<String>,
    ) -> async_graphql::Result<RoomObject> {
        let room = parse_room(&id).gql()?;
        let hub = hub(ctx);
        let mut v = viewer(ctx)?.0.lock().await;
        let granted = v.is_granted(&room);
        let newly_granted = hub.enter_room(&room, &v.id, client(ctx), granted, password.as_deref()).await.gql()?;
        v.mint().await.map_err(session_refused)?;
        if newly_granted {
            v.grant(&room).await.map_err(session_refused)?;
        }
        Ok(RoomObject(hub.room(&room).await.gql()?.room))
    }

    /// Sends a text message (1–1000 characters). With `clientKey`, a retry returns the first message.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        text: String,
        client_key: Option<String>,
    ) -> async_graphql::Result<RoomEventObject> {
        let room = parse_room(&room_id).gql()?;
        let member = viewer(ctx)?.0.lock().await.id.clone();
        let event = hub(ctx).send_message(&room, &member, client(ctx), &text, client_key.as_deref()).await.gql()?;
        Ok(RoomEventObject(event))
    }

    /// Leaves at once (no grace period) and ends your other tabs' subscriptions to the room.
    async fn leave_room(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let room = parse_room(&id).gql()?;
        let member = viewer(ctx)?.0.lock().await.id.clone();
        hub(ctx).leave(&room, &member).await.gql()?;
        Ok(true)
    }

    /// Whispers to one member of the room: only you and they see it (live and in history). With
    /// `clientKey`, a retry returns the first whisper (as `sendMessage` does), so a page may retry safely.
    async fn whisper(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        member_id: ID,
        text: String,
        client_key: Option<String>,
    ) -> async_graphql::Result<RoomEventObject> {
        let room = parse_room(&room_id).gql()?;
        let to = parse_member(&member_id).gql()?;
        let me = viewer(ctx)?.0.lock().await.id.clone();
        let whispered = hub(ctx).whisper(&room, &me, client(ctx), &to, &text, client_key.as_deref()).await.gql()?;
        Ok(RoomEventObject(whispered))
    }

    /// Hands the room to another present member (owner only).
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        member_id: ID,
    ) -> async_graphql::Result<RoomObject> {
        let room = parse_room(&room_id).gql()?;
        let to = parse_member(&member_id).gql()?;
        let me = viewer(ctx)?.0.lock().await.id.clone();
        let hub = hub(ctx);
        hub.transfer_ownership(&room, &me, &to).await.gql()?;
        Ok(RoomObject(hub.room(&room).await.gql()?.room))
    }

    /// Removes a member from the room for as long as it exists (owner only).
    async fn kick(&self, ctx: &Context<'_>, room_id: ID, member_id: ID) -> async_graphql::Result<bool> {
        let room = parse_room(&room_id).gql()?;
        let target = parse_member(&member_id).gql()?;
        let me = viewer(ctx)?.0.lock().await.id.clone();
        hub(ctx).kick(&room, &me, &target).await.gql()?;
        Ok(true)
    }

    /// Tells the others you are typing (throttled; not stored).
    async fn typing(&self, ctx: &Context<'_>, room_id: ID) -> async_graphql::Result<bool> {
        let room = parse_room(&room_id).gql()?;
        let me = viewer(ctx)?.0.lock().await.id.clone();
        hub(ctx).typing(&room, &me, client(ctx)).await.gql()?;
        Ok(true)
    }

    /// Deletes the room (owner only); everyone inside is told.
    async fn delete_room(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let room = parse_room(&id).gql()?;
        let member = viewer(ctx)?.0.lock().await.id.clone();
        hub(ctx).delete_room(&room, &member).await.gql()?;
        Ok(true)
    }
}

/// Subscriptions (graphql-transport-ws at `/graphql/ws`).
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// The room list: a snapshot first, then rooms created, updated (count, owner) and removed.
    async fn lobby(&self, ctx: &Context<'_>) -> async_graphql::Result<BoxStream<'static, LobbyUpdate>> {
        if let Some(LiveItem::Lobby(item)) = preset(ctx) {
            return Ok(stream::once(async move { LobbyUpdate::from(item) }).boxed());
        }
        let hub = hub(ctx).clone();
        // Subscribe first, then read the snapshot: nothing that happens in between is lost, and applying
        // an event the snapshot already reflects is harmless (upsert / delete).
        let mut rx = hub.bus().subscribe_lobby();
        let first_page = hub.rooms_page(None, None, None).await.gql()?;
        let token = hub.shutdown_token();
        let items = async_stream::stream! {
            yield LobbyItem::Snapshot(Arc::new(first_page));
            loop {
                let next = tokio::select! {
                    _ = token.cancelled() => return,
                    n = rx.recv() => n,
                };
                match next {
                    Ok(change) => yield LobbyItem::Change(change),
                    // Lagged: a fresh snapshot replaces whatever was missed.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => match hub.rooms_page(None, None, None).await {
                        Ok(page) => yield LobbyItem::Snapshot(Arc::new(page)),
                        Err(_) => return,
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        };
        Ok(tapped(ctx, items.map(LiveItem::Lobby).boxed(), |item| match item {
            LiveItem::Lobby(item) => Some(LobbyUpdate::from(item)),
            LiveItem::Room(_) => None,
        }))
    }

    /// Takes your seat in the room (access and capacity checked atomically) and streams its events.
    /// With `after`, first replays what followed that `seq`; without it, live events only. Needs a session
    /// (the room page or `enterRoom` over HTTP gives one): a socket without one gets `NO_SESSION`.
    async fn room(
        &self,
        ctx: &Context<'_>,
        id: ID,
        after: Option<i64>,
    ) -> async_graphql::Result<BoxStream<'static, RoomUpdateObject>> {
        if let Some(LiveItem::Room(item)) = preset(ctx) {
            return Ok(stream::once(async move { RoomUpdateObject::from(item) }).boxed());
        }
        let room = parse_room(&id).gql()?;
        let hub = hub(ctx).clone();
        let (member, granted) = {
            let mut v = viewer(ctx)?.0.lock().await;
            // A seat is held by someone the server remembers; a socket cannot mint a session.
            v.mint().await.map_err(session_refused)?;
            // The socket's session may predate an `enterRoom` made over HTTP: read the grants afresh.
            v.refresh(hub.store().as_ref()).await;
            (v.id.clone(), v.is_granted(&room))
        };
        let stream = hub.join(&room, &member, client(ctx), granted, after).await.gql()?;
        Ok(tapped(ctx, stream.map(LiveItem::Room).boxed(), |item| match item {
            LiveItem::Room(item) => Some(RoomUpdateObject::from(item)),
            LiveItem::Lobby(_) => None,
        }))
    }
}

/// The item to execute when the socket runs one item of a tapped subscription (see `live.rs`).
fn preset(ctx: &Context<'_>) -> Option<LiveItem> {
    ctx.data_opt::<Preset>().and_then(Preset::take)
}

/// Hands `items` to the socket's tap when there is one (the socket then executes each item, shared where
/// it can); otherwise async-graphql executes them here, once per subscriber.
fn tapped<T: Send + 'static>(
    ctx: &Context<'_>,
    items: BoxStream<'static, LiveItem>,
    convert: fn(LiveItem) -> Option<T>,
) -> BoxStream<'static, T> {
    match ctx.data_opt::<Arc<Tap>>() {
        Some(tap) => {
            tap.put(items);
            stream::empty().boxed()
        }
        None => items.filter_map(move |item| std::future::ready(convert(item))).boxed(),
    }
}
