//! Live behaviour over real WebSockets: chatting, presence, grace, lobby updates, resume.

use std::time::Duration;

use serde_json::json;

use crate::api::{member_id, parse_room};
use crate::support::*;

const LOBBY_SUB: &str = "subscription { lobby { __typename
    ... on LobbySnapshot { rooms { id memberCount } }
    ... on RoomCreated { room { id title memberCount owner { color } } }
    ... on RoomUpdated { room { id memberCount } }
    ... on RoomRemoved { id } } }";

async fn lobby(m: &Member) -> Ws {
    let mut ws = m.ws().await;
    ws.subscribe("l", LOBBY_SUB, json!({})).await;
    let first = ws.recv().await.unwrap();
    assert_eq!(first["payload"]["data"]["lobby"]["__typename"], "LobbySnapshot", "{first}");
    ws
}

/// The next lobby item.
async fn lobby_next(ws: &mut Ws) -> serde_json::Value {
    let m = ws.recv().await.expect("lobby closed");
    assert_eq!(m["type"], "next", "{m}");
    m["payload"]["data"]["lobby"].clone()
}

#[tokio::test]
async fn two_members_chat_live_and_see_each_others_joins() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("chat", 5, None).await;
    let mut wa = a.join(&room, None).await;
    let joined = wa.next_event("r").await;
    assert_eq!(joined["kind"], "JOINED");
    assert_eq!(joined["member"]["id"], a.me().await.0.as_str());
    let mut wb = b.join(&room, None).await;
    let b_joined = wb.next_event("r").await;
    assert_eq!(b_joined["kind"], "JOINED");
    assert_eq!(wa.next_event("r").await, b_joined, "A sees B's join");
    let seq = a.send(&room, "안녕").await;
    for ws in [&mut wa, &mut wb] {
        let e = ws.next_event("r").await;
        assert_eq!(
            (e["kind"].as_str(), e["text"].as_str(), e["seq"].as_i64()),
            (Some("MESSAGE"), Some("안녕"), Some(seq))
        );
    }
    b.send(&room, "반가워").await;
    assert_eq!(wa.next_event("r").await["text"], "반가워");
    assert_eq!(wb.next_event("r").await["text"], "반가워");
}

#[tokio::test]
async fn several_tabs_count_once_and_a_refresh_posts_no_exit_or_join() {
    let app = TestApp::spawn_with(|s| s.hub.grace = Duration::from_millis(800)).await;
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("tabs", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    let mut b1 = b.join(&room, None).await;
    b1.next_event("r").await;
    assert_eq!(wa.next_event("r").await["kind"], "JOINED");
    // A second tab of B, read once it holds the seat (`join` waits for that): still two members, and the
    // next thing A hears is the next message, not a second join.
    let b2 = b.join(&room, None).await;
    let d =
        a.ok("query($id: ID!) { room(id: $id) { memberCount members { member { id } } } }", json!({"id": room})).await;
    assert_eq!(d["room"]["memberCount"], 2, "the second tab counted as another member: {d}");
    let ids: Vec<&str> =
        d["room"]["members"].as_array().unwrap().iter().map(|m| m["member"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a.me().await.0, b.me().await.0]);
    let sync = a.send(&room, "sync").await;
    assert_eq!(wa.next_event("r").await["seq"], sync, "the second tab posted something");
    // B closes both tabs and comes back at once (a refresh): A hears nothing.
    b1.close().await;
    b2.close().await;
    let mut b3 = b.join(&room, Some(0)).await;
    let replayed = b3.next_event("r").await;
    assert_eq!(replayed["seq"], 1, "resume from 0 replays history");
    assert_eq!(wa.quiet_for(Duration::from_millis(1500)).await, None, "a refresh posts no exit/join");
    let d = a.ok("query($id: ID!) { room(id: $id) { memberCount } }", json!({"id": room})).await;
    assert_eq!(d["room"]["memberCount"], 2);
    // Positive control for the quiet: A's socket still hears what is posted.
    let after = a.send(&room, "after the refresh").await;
    assert_eq!(wa.next_event("r").await["seq"], after);
}

#[tokio::test]
async fn a_dropped_member_leaves_after_the_grace_period() {
    let app = TestApp::spawn_with(|s| s.hub.grace = Duration::from_millis(300)).await;
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("grace", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    let wb = b.join(&room, None).await;
    let b_id = b.me().await.0;
    assert_eq!(wa.next_event("r").await["member"]["id"], b_id.as_str());
    wb.close().await;
    let left = wa.next_event("r").await;
    assert_eq!(left["kind"], "LEFT");
    assert_eq!(left["member"]["id"], b_id.as_str());
    let d = a.ok("query($id: ID!) { room(id: $id) { memberCount } }", json!({"id": room})).await;
    assert_eq!(d["room"]["memberCount"], 1);
}

#[tokio::test]
async fn leave_room_is_immediate_and_ends_the_members_other_tabs() {
    let app = TestApp::spawn_with(|s| s.hub.grace = Duration::from_secs(30)).await;
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("leave", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    let mut b1 = b.join(&room, None).await;
    let b_joined = b1.next_event("r").await["seq"].as_i64().unwrap();
    wa.next_event("r").await;
    // The second tab resumes after B's join, so the next message proves it is live before B leaves.
    let mut b2 = b.join(&room, Some(b_joined)).await;
    let sync = a.send(&room, "sync").await;
    for ws in [&mut wa, &mut b1, &mut b2] {
        assert_eq!(ws.next_event("r").await["seq"], sync);
    }
    b.ok("mutation($id: ID!) { leaveRoom(id: $id) }", json!({"id": room})).await;
    assert_eq!(wa.next_event("r").await["kind"], "LEFT", "no grace period for an explicit leave");
    for ws in [&mut b1, &mut b2] {
        loop {
            let item = ws.next_item("r").await;
            if item["__typename"] == "RoomClosed" {
                assert_eq!(item["reason"], "LEFT");
                break;
            }
        }
        let done = ws.recv().await.unwrap();
        assert_eq!(done["type"], "complete", "{done}");
    }
}

#[tokio::test]
async fn the_last_member_leaving_deletes_the_room_and_tells_the_lobby() {
    let app = TestApp::spawn().await;
    let (a, watcher) = (app.member(), app.member());
    let mut lob = lobby(&watcher).await;
    let room = a.create_room("bye", 5, None).await;
    let created = lobby_next(&mut lob).await;
    assert_eq!(
        (created["__typename"].as_str(), created["room"]["id"].as_str()),
        (Some("RoomCreated"), Some(room.as_str()))
    );
    assert_eq!(created["room"]["owner"]["color"], a.me().await.1.as_str());
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    let updated = lobby_next(&mut lob).await;
    assert_eq!(
        (updated["__typename"].as_str(), updated["room"]["memberCount"].as_i64()),
        (Some("RoomUpdated"), Some(1))
    );
    a.ok("mutation($id: ID!) { leaveRoom(id: $id) }", json!({"id": room})).await;
    let removed = lobby_next(&mut lob).await;
    assert_eq!((removed["__typename"].as_str(), removed["id"].as_str()), (Some("RoomRemoved"), Some(room.as_str())));
    assert_eq!(a.ok("{ rooms { nodes { id } } }", json!({})).await["rooms"]["nodes"], json!([]));
}

#[tokio::test]
async fn a_dropped_last_member_deletes_the_room_after_the_grace_period() {
    let app = TestApp::spawn_with(|s| s.hub.grace = Duration::from_millis(300)).await;
    let (a, watcher) = (app.member(), app.member());
    let room = a.create_room("drop", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    let mut lob = lobby(&watcher).await;
    wa.close().await;
    let removed = lobby_next(&mut lob).await;
    assert_eq!((removed["__typename"].as_str(), removed["id"].as_str()), (Some("RoomRemoved"), Some(room.as_str())));
}

#[tokio::test]
async fn rooms_nobody_entered_are_swept_after_the_configured_time() {
    let app = TestApp::spawn_with(|s| s.hub.unused_room_ttl = Duration::from_millis(200)).await;
    let watcher = app.member();
    let mut lob = lobby(&watcher).await;
    let room = app.member().create_room("never entered", 5, None).await;
    assert_eq!(lobby_next(&mut lob).await["__typename"], "RoomCreated");
    let removed = lobby_next(&mut lob).await;
    assert_eq!(removed["id"], room.as_str());
}

#[tokio::test]
async fn fifty_concurrent_joins_into_ten_free_places_admit_exactly_ten() {
    for round in 0..3 {
        let app = TestApp::spawn().await;
        let owner = app.member();
        let room = owner.create_room("race", 10, None).await;
        // Each has a session first (entering before anyone sits is always let in); the race is the seats.
        let mut entered = Vec::new();
        for _ in 0..50 {
            let m = app.member();
            assert_eq!(m.enter(&room).await, None);
            entered.push(m);
        }
        let mut tasks = Vec::new();
        for m in entered {
            let room = room.clone();
            tasks.push(tokio::spawn(async move {
                let mut ws = m.ws().await;
                ws.subscribe_room("r", &room, None).await;
                let first = ws.recv().await.unwrap();
                (first, ws)
            }));
        }
        let mut admitted = 0;
        let mut full = 0;
        let mut sockets = Vec::new();
        for t in tasks {
            let (first, ws) = t.await.unwrap();
            match first["type"].as_str() {
                Some("next") => admitted += 1,
                Some("error") => {
                    assert_eq!(first["payload"][0]["extensions"]["code"], "ROOM_FULL", "{first}");
                    full += 1;
                }
                other => panic!("unexpected {other:?}: {first}"),
            }
            sockets.push(ws);
        }
        assert_eq!((admitted, full), (10, 40), "round {round}");
        let d = owner.ok("query($id: ID!) { room(id: $id) { memberCount full } }", json!({"id": room})).await;
        assert_eq!(d["room"]["memberCount"], 10);
        assert_eq!(d["room"]["full"], true);
        let _ = member_id;
        let _ = parse_room;
    }
}

#[tokio::test]
async fn resume_after_a_disconnect_replays_what_was_missed_without_gap_or_duplicate() {
    let app = TestApp::spawn_with(|s| s.hub.grace = Duration::from_secs(30)).await;
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("resume", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    let mut wb = b.join(&room, None).await;
    let mut last = wb.next_event("r").await["seq"].as_i64().unwrap();
    wa.next_event("r").await;
    let s1 = a.send(&room, "before").await;
    last = last.max(wb.next_event("r").await["seq"].as_i64().unwrap());
    assert_eq!(last, s1);
    wb.close().await;
    // Messages posted while B is away, and more while B re-subscribes.
    for i in 0..5 {
        a.send(&room, &format!("away {i}")).await;
    }
    let sender = {
        let a = a.clone();
        let room = room.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                a.send(&room, &format!("during {i}")).await;
            }
        })
    };
    let mut wb = b.join(&room, Some(last)).await;
    sender.await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 25 {
        let e = wb.next_event("r").await;
        seen.push((e["seq"].as_i64().unwrap(), e["text"].as_str().unwrap().to_owned()));
    }
    let seqs: Vec<i64> = seen.iter().map(|s| s.0).collect();
    assert_eq!(seqs, ((last + 1)..=(last + 25)).collect::<Vec<_>>(), "no gap, no duplicate");
    assert_eq!(seen[0].1, "away 0");
    assert_eq!(seen[24].1, "during 19");
    assert_eq!(wb.quiet_for(Duration::from_millis(300)).await, None, "nothing extra");
}

#[tokio::test]
async fn a_replay_beyond_the_cap_asks_the_client_to_resync() {
    let app = TestApp::spawn_with(|s| s.hub.replay_cap = 5).await;
    let a = app.member();
    let room = a.create_room("cap", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    for i in 0..10 {
        a.send(&room, &format!("m{i}")).await;
    }
    let mut late = a.join(&room, Some(1)).await;
    let item = late.next_item("r").await;
    assert_eq!(item["__typename"], "RoomResync", "{item}");
    assert_eq!(item["latestSeq"], 11);
    let seq = a.send(&room, "after resync").await;
    assert_eq!(late.next_event("r").await["seq"], seq);
}

#[tokio::test]
async fn a_lagging_subscriber_is_resynced_from_the_store_not_skipped() {
    use futures::StreamExt;
    let app = TestApp::spawn_with(|s| s.hub.replay_cap = 100_000).await;
    let (a, slow) = (app.member(), app.member());
    let room = a.create_room("lag", 5, None).await;
    let mut wa = a.join(&room, None).await;
    wa.next_event("r").await;
    // A subscriber that is not polled while far more events are posted than the bus buffers (256):
    // its broadcast receiver overflows, as a slow client's would once its socket buffers are full.
    assert_eq!(slow.enter(&room).await, None);
    let slow_id = member_id(&slow).await;
    let stream = app.hub.join(&parse_room(&room), &slow_id, None, false, None).await.expect("join");
    let mut stream = Box::pin(stream);
    let total = 600;
    for i in 0..total {
        a.send(&room, &format!("m{i}")).await;
    }
    let mut seqs = Vec::new();
    while seqs.len() < total + 1 {
        let item = tokio::time::timeout(WAIT, stream.next()).await.expect("stream stalled").expect("stream ended");
        match item {
            gifchat::hub::RoomUpdate::Event(e) => seqs.push(e.seq),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Its own join (seq 2) first, then every message in order: nothing skipped, nothing twice.
    assert_eq!(seqs, (2..=(total as i64 + 2)).collect::<Vec<_>>());
    assert!(app.hub.lag_recoveries() > 0, "the subscriber never lagged, so this test proved nothing");
}
