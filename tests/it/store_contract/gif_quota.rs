//! The store contract for GIF quotas and usage: counted with every put and delete, checked in the same
//! atomic step as the insert — also between two stores on the same data, as between two servers.

use std::sync::Arc;

use gifchat::domain::{GifName, MemberId, RoomId, Visibility};
use gifchat::store::{GifPut, GifQuota, GifUsage, QuotaScope, Store};

use super::{new_room, Backend, Place};

// The backends, by the names the contract macros call (a `use` would clash with the modules they declare).
fn sqlite() -> Backend {
    super::sqlite()
}

async fn mongo() -> Backend {
    super::mongo().await
}

contract!(
    gif_usage_counts_every_put_per_room_and_in_total_and_a_deleted_room_frees_its_share,
    a_put_past_a_quota_is_refused_stores_nothing_and_keeps_what_is_stored,
);

contract_with_place!(
    puts_racing_for_the_last_space_through_two_stores_store_exactly_what_fits,
    usage_is_read_back_by_a_store_opened_afterwards,
);

fn gif(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn put(store: &Arc<dyn Store>, room: &RoomId, len: usize, quota: GifQuota) -> (GifName, GifPut) {
    let name = GifName::generate();
    let outcome = store.gif_put(room, &name, &Visibility::Room, gif(len), quota).await.unwrap();
    (name, outcome)
}

async fn gif_usage_counts_every_put_per_room_and_in_total_and_a_deleted_room_frees_its_share(store: Arc<dyn Store>) {
    let (one, two) = (
        store.create_room(new_room(5, None), "t").await.unwrap().id,
        store.create_room(new_room(5, None), "t").await.unwrap().id,
    );
    assert_eq!(store.gif_usage(&one).await.unwrap(), GifUsage { room: 0, total: 0 }, "a new store holds nothing");
    put(&store, &one, 10, GifQuota::NONE).await;
    // Whispered GIFs take space like public ones.
    let pair = Visibility::Pair(MemberId::generate(), MemberId::generate());
    store.gif_put(&one, &GifName::generate(), &pair, gif(20), GifQuota::NONE).await.unwrap();
    put(&store, &two, 5, GifQuota::NONE).await;
    assert_eq!(store.gif_usage(&one).await.unwrap(), GifUsage { room: 30, total: 35 });
    assert_eq!(store.gif_usage(&two).await.unwrap(), GifUsage { room: 5, total: 35 });
    assert_eq!(store.gif_usage(&RoomId::generate()).await.unwrap(), GifUsage { room: 0, total: 35 }, "no such room");
    // A put refused for a missing room counts nowhere.
    assert!(store
        .gif_put(&RoomId::generate(), &GifName::generate(), &Visibility::Room, gif(7), GifQuota::NONE)
        .await
        .is_err());
    assert_eq!(store.gif_usage(&two).await.unwrap().total, 35);

    assert!(store.delete_room(&one, "t").await.unwrap());
    assert_eq!(
        store.gif_usage(&one).await.unwrap(),
        GifUsage { room: 0, total: 5 },
        "the deleted room's share is free"
    );
    assert_eq!(store.gif_usage(&two).await.unwrap(), GifUsage { room: 5, total: 5 }, "the other room keeps its own");
}

async fn a_put_past_a_quota_is_refused_stores_nothing_and_keeps_what_is_stored(store: Arc<dyn Store>) {
    let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
    let quota = GifQuota { room: Some(30), total: Some(35) };
    let (first, outcome) = put(&store, &room, 10, quota).await;
    assert_eq!(outcome, GifPut::Stored);
    let (second, outcome) = put(&store, &room, 20, quota).await;
    assert_eq!(outcome, GifPut::Stored, "filling a quota exactly is allowed");
    let (refused, outcome) = put(&store, &room, 1, quota).await;
    assert_eq!(outcome, GifPut::Refused(QuotaScope::Room), "one byte past the room's quota");
    assert_eq!(store.gif_get(&refused).await.unwrap(), None, "nothing stored for a refused put");
    assert_eq!(store.gif_get(&first).await.unwrap().unwrap().bytes, gif(10), "what was stored stays");
    assert_eq!(store.gif_get(&second).await.unwrap().unwrap().bytes, gif(20));
    assert_eq!(store.gif_usage(&room).await.unwrap(), GifUsage { room: 30, total: 30 }, "a refusal counts nothing");

    // The total: another room's puts meet what this room already takes.
    let other = store.create_room(new_room(5, None), "t").await.unwrap().id;
    assert_eq!(put(&store, &other, 5, quota).await.1, GifPut::Stored);
    assert_eq!(put(&store, &other, 1, quota).await.1, GifPut::Refused(QuotaScope::Total));
    // Both full: the total is named (this room's deletion alone would not make space).
    assert_eq!(put(&store, &room, 1, quota).await.1, GifPut::Refused(QuotaScope::Total));
    // A GIF larger than a whole quota never fits; without limits everything does.
    let fresh = store.create_room(new_room(5, None), "t").await.unwrap().id;
    let big = GifQuota { room: Some(100), total: None };
    assert_eq!(put(&store, &fresh, 101, big).await.1, GifPut::Refused(QuotaScope::Room));
    assert_eq!(put(&store, &fresh, 100, big).await.1, GifPut::Stored);
    assert_eq!(put(&store, &fresh, 1000, GifQuota::NONE).await.1, GifPut::Stored, "no limit set");
    assert_eq!(store.gif_usage(&fresh).await.unwrap(), GifUsage { room: 1100, total: 1135 });
}

/// How many of `puts` concurrent puts of `len` bytes into `rooms` (in turn, through `store` and a second
/// store on the same data in turn) were stored and which were refused.
async fn race(
    stores: [Arc<dyn Store>; 2],
    rooms: &[RoomId],
    puts: usize,
    len: usize,
    quota: GifQuota,
) -> (Vec<GifName>, Vec<GifPut>) {
    let tasks: Vec<_> = (0..puts)
        .map(|i| {
            let store = stores[i % 2].clone();
            let room = rooms[i % rooms.len()].clone();
            tokio::spawn(async move { put(&store, &room, len, quota).await })
        })
        .collect();
    let (mut stored, mut refused) = (Vec::new(), Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            (name, GifPut::Stored) => stored.push(name),
            (_, outcome) => refused.push(outcome),
        }
    }
    (stored, refused)
}

async fn puts_racing_for_the_last_space_through_two_stores_store_exactly_what_fits(
    store: Arc<dyn Store>,
    place: Place,
) {
    let second = place.open_fresh().await;
    for round in 0..3 {
        // The room's quota: twenty puts for five places, no total limit.
        let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
        let quota = GifQuota { room: Some(500), total: None };
        let (stored, refused) =
            race([store.clone(), second.clone()], std::slice::from_ref(&room), 20, 100, quota).await;
        assert_eq!(stored.len(), 5, "round {round}: exactly the puts that fit the room");
        assert!(refused.iter().all(|r| *r == GifPut::Refused(QuotaScope::Room)), "round {round}: {refused:?}");
        assert_eq!(store.gif_usage(&room).await.unwrap().room, 500);
        for name in &stored {
            assert!(store.gif_get(name).await.unwrap().is_some(), "round {round}: a stored GIF is there");
        }

        // The total: twenty puts into four rooms for three places.
        let before = store.gif_usage(&room).await.unwrap().total;
        let mut rooms = Vec::new();
        for _ in 0..4 {
            rooms.push(store.create_room(new_room(5, None), "t").await.unwrap().id);
        }
        let quota = GifQuota { room: None, total: Some(before + 300) };
        let (stored, refused) = race([store.clone(), second.clone()], &rooms, 20, 100, quota).await;
        assert_eq!(stored.len(), 3, "round {round}: exactly the puts that fit the total");
        assert!(refused.iter().all(|r| *r == GifPut::Refused(QuotaScope::Total)), "round {round}: {refused:?}");
        assert_eq!(second.gif_usage(&rooms[0]).await.unwrap().total, before + 300, "both stores count the same");
        let per_room: u64 = {
            let mut sum = 0;
            for r in &rooms {
                sum += store.gif_usage(r).await.unwrap().room;
            }
            sum
        };
        assert_eq!(per_room, 300, "round {round}: the rooms' counters add up to the total's growth");
    }
}

async fn usage_is_read_back_by_a_store_opened_afterwards(store: Arc<dyn Store>, place: Place) {
    let room = store.create_room(new_room(5, None), "t").await.unwrap().id;
    put(&store, &room, 40, GifQuota::NONE).await;
    put(&store, &room, 2, GifQuota::NONE).await;
    drop(store);
    let fresh = place.open_fresh().await;
    assert_eq!(fresh.gif_usage(&room).await.unwrap(), GifUsage { room: 42, total: 42 });
    let quota = GifQuota { room: Some(50), total: None };
    assert_eq!(put(&fresh, &room, 9, quota).await.1, GifPut::Refused(QuotaScope::Room), "the quota sees the old GIFs");
    assert_eq!(put(&fresh, &room, 8, quota).await.1, GifPut::Stored);
}
