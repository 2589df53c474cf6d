//! What sharing one execution between subscribers could break: visibility, selections, variables,
//! viewer-dependent fields, and the stream's own guarantees (resume, resync, kick, delete) under load.

use std::sync::Arc;
use std::time::Duration;

use gifchat::graphql::FrameCache;
use serde_json::{json, Value};

use crate::api::member_id;
use crate::support::*;

/// A server whose frame cache the test can read.
async fn app_with_frames() -> (TestApp, Arc<FrameCache>) {
    let frames = Arc::new(FrameCache::new(4096));
    let app = TestApp::spawn_with(|s| s.web.frames = frames.clone()).await;
    (app, frames)
}

/// The `next` payload of subscription `id` as the client received it (the whole `ExecutionResult`).
async fn next_payload(ws: &mut Ws, id: &str) -> Value {
    loop {
        let m = ws.recv().await.expect("socket closed while waiting");
        if m["id"] == id && m["type"] == "next" {
            return m["payload"].clone();
        }
        assert_ne!(m["type"], "error", "subscription {id} failed: {m}");
    }
}

/// Reads one socket until each of `ids` has produced a payload matching `wanted`; returns those payloads.
/// (Several subscriptions share the socket, so no message may be skipped for the others.)
async fn each_until(
    ws: &mut Ws,
    ids: &[&str],
    wanted: impl Fn(&Value) -> bool,
) -> std::collections::HashMap<String, Value> {
    let mut found = std::collections::HashMap::new();
    while found.len() < ids.len() {
        let m = ws.recv().await.expect("socket closed while waiting");
        assert_ne!(m["type"], "error", "a subscription failed: {m}");
        let id = m["id"].as_str().unwrap_or_default().to_owned();
        if m["type"] == "next" && ids.contains(&id.as_str()) && !found.contains_key(&id) && wanted(&m["payload"]) {
            found.insert(id, m["payload"].clone());
        }
    }
    found
}

/// The next room event of `id`, skipping other item kinds (typing).
async fn next_event_payload(ws: &mut Ws, id: &str) -> Value {
    loop {
        let p = next_payload(ws, id).await;
        if p["data"]["room"]["__typename"] == "RoomEvent" || p["data"]["room"].get("seq").is_some() {
            return p;
        }
    }
}

/// Joins with the shared test selection and reads the member's own join.
async fn joined(m: &Member, room: &str) -> Ws {
    let mut ws = m.join(room, None).await;
    assert_eq!(ws.next_event("r").await["kind"], "JOINED");
    ws
}

#[tokio::test]
async fn a_whisper_reaches_its_pair_as_the_same_frame_and_never_the_third_member() {
    let (app, frames) = app_with_frames().await;
    let (a, b, c) = (app.member(), app.member(), app.member());
    let room = a.create_room("visibility", 5, None).await;
    let mut wa = joined(&a, &room).await;
    let mut wb = joined(&b, &room).await;
    wa.next_event("r").await; // B joined
    let mut wc = joined(&c, &room).await;
    wa.next_event("r").await; // C joined
    wb.next_event("r").await;

    let b_id = b.me().await.0;
    a.ok(
        "mutation($r: ID!, $m: ID!) { whisper(roomId: $r, memberId: $m, text: \"비밀\") { seq } }",
        json!({ "r": room, "m": b_id }),
    )
    .await;
    let public = a.send(&room, "모두에게").await;

    let (whisper_a, whisper_b) = (next_event_payload(&mut wa, "r").await, next_event_payload(&mut wb, "r").await);
    assert_eq!(whisper_a["data"]["room"]["kind"], "WHISPER", "{whisper_a}");
    assert_eq!(whisper_a, whisper_b, "the pair gets the same frame");
    // The third member's next event is the public message: the whisper's seq is a hole for them.
    let c_next = next_event_payload(&mut wc, "r").await;
    assert_eq!(c_next["data"]["room"]["seq"], public, "{c_next}");
    assert_eq!(c_next["data"]["room"]["kind"], "MESSAGE");
    for ws in [&mut wa, &mut wb] {
        assert_eq!(next_event_payload(ws, "r").await, c_next, "everyone gets the public message alike");
    }
    // And the sharing is real: three subscribers in one group, each event executed once.
    let stats = frames.stats();
    assert!(stats.reused > 0, "no payload was ever reused: {stats:?}");
}

#[tokio::test]
async fn subscriptions_with_different_selections_or_variables_each_get_exactly_their_fields() {
    let (app, _frames) = app_with_frames().await;
    let (a, b) = (app.member(), app.member());
    let room = a.create_room("selections", 5, None).await;
    // Seats first (seq 1 and 2), so the subscriptions below are further tabs: they post nothing and
    // replay exactly those two events from `after: 0` before they are live.
    let _seat_a = joined(&a, &room).await;
    let _seat_b = joined(&b, &room).await;
    let texts =
        "subscription($id: ID!, $after: Int) { room(id: $id, after: $after) { ... on RoomEvent { seq text } } }";
    let kinds = "subscription($id: ID!, $after: Int) { room(id: $id, after: $after) {
        ... on RoomEvent { seq kind member { color } } } }";
    // One document, a variable that changes the rendering (not a root argument).
    let toggled = "subscription($id: ID!, $after: Int, $withText: Boolean!) { room(id: $id, after: $after) {
        ... on RoomEvent { seq text @include(if: $withText) } } }";
    let mut wa = a.ws().await;
    wa.subscribe("t", texts, json!({ "id": room, "after": 0 })).await;
    wa.subscribe("k", kinds, json!({ "id": room, "after": 0 })).await;
    let mut wb = b.ws().await;
    wb.subscribe("on", toggled, json!({ "id": room, "after": 0, "withText": true })).await;
    wb.subscribe("off", toggled, json!({ "id": room, "after": 0, "withText": false })).await;
    let replayed = |p: &Value| p["data"]["room"]["seq"] == 2;
    each_until(&mut wa, &["t", "k"], replayed).await;
    each_until(&mut wb, &["on", "off"], replayed).await;

    let seq = a.send(&room, "필드").await;
    let color = a.me().await.1;
    let is_msg = |p: &Value| p["data"]["room"]["seq"] == seq;
    let from_a = each_until(&mut wa, &["t", "k"], is_msg).await;
    let from_b = each_until(&mut wb, &["on", "off"], is_msg).await;
    let got: Vec<Value> =
        [&from_a["t"], &from_a["k"], &from_b["on"], &from_b["off"]].iter().map(|p| p["data"]["room"].clone()).collect();
    assert_eq!(got[0], json!({ "seq": seq, "text": "필드" }));
    assert_eq!(got[1], json!({ "seq": seq, "kind": "MESSAGE", "member": { "color": color } }));
    assert_eq!(got[2], json!({ "seq": seq, "text": "필드" }));
    assert_eq!(got[3], json!({ "seq": seq }));
}

#[tokio::test]
async fn a_viewer_dependent_field_is_never_answered_from_another_members_execution() {
    let (app, frames) = app_with_frames().await;
    let (owner, stranger) = (app.member(), app.member());
    // `members` of a secret room depends on who asks: its owner may see them, a stranger may not.
    let sub = "subscription { lobby { __typename
        ... on RoomUpdated { room { id memberCount members { member { id } } } } } }";
    // The owner's socket must carry the owner's session (sockets cannot get one later): a first room
    // gives it, as the owner's page would have before opening its socket.
    owner.create_room("first", 5, None).await;
    let mut lobbies = Vec::new();
    for m in [&stranger, &owner, &stranger] {
        let mut ws = m.ws().await;
        ws.subscribe("l", sub, json!({})).await;
        assert_eq!(next_payload(&mut ws, "l").await["data"]["lobby"]["__typename"], "LobbySnapshot");
        lobbies.push(ws);
    }
    let before = frames.stats();
    let room = owner.create_room("secret", 5, Some("pw")).await;
    let owner_id = owner.me().await.0;
    let _seat = joined(&owner, &room).await;

    let mut updates = Vec::new();
    for ws in &mut lobbies {
        loop {
            let p = next_payload(ws, "l").await;
            // A stranger's FORBIDDEN on the non-null `members` nulls the whole item (GraphQL's null
            // propagation), so their update is the one that carries errors.
            let owners_update =
                p["data"]["lobby"]["__typename"] == "RoomUpdated" && p["data"]["lobby"]["room"]["memberCount"] == 1;
            if owners_update || p.get("errors").is_some() {
                updates.push(p);
                break;
            }
        }
    }
    // The owner (second socket) sees the member list; the strangers get FORBIDDEN for that field.
    assert_eq!(
        updates[1]["data"]["lobby"]["room"]["members"],
        json!([{ "member": { "id": owner_id } }]),
        "{}",
        updates[1]
    );
    for stranger_view in [&updates[0], &updates[2]] {
        assert_eq!(stranger_view["errors"][0]["extensions"]["code"], "FORBIDDEN", "{stranger_view}");
        assert!(!stranger_view.to_string().contains(&owner_id), "a stranger saw the owner's id: {stranger_view}");
    }
    assert!(frames.stats().personal >= before.personal + 3, "each lobby executed the update for its own viewer");
}

#[tokio::test]
async fn lobby_changes_are_executed_once_for_every_lobby_with_the_same_selection() {
    let (app, frames) = app_with_frames().await;
    let sub = "subscription { lobby { __typename ... on RoomCreated { room { id title owner { color } } } } }";
    let mut lobbies = Vec::new();
    for _ in 0..10 {
        let mut ws = app.member().ws().await;
        ws.subscribe("l", sub, json!({})).await;
        next_payload(&mut ws, "l").await;
        lobbies.push(ws);
    }
    let before = frames.stats();
    let room = app.member().create_room("한 번만", 5, None).await;
    let mut seen = Vec::new();
    for ws in &mut lobbies {
        seen.push(next_payload(ws, "l").await);
    }
    assert_eq!(seen[0]["data"]["lobby"]["room"]["id"], room.as_str());
    assert!(seen.iter().all(|p| *p == seen[0]), "every lobby got the same frame");
    let after = frames.stats();
    assert_eq!(after.shared - before.shared, 1, "one execution for ten lobbies: {after:?}");
    assert_eq!(after.reused - before.reused, 9, "{after:?}");
}

#[tokio::test]
async fn under_load_resume_lag_kick_and_delete_keep_their_guarantees() {
    let app = TestApp::spawn_with(|s| s.hub.replay_cap = 100_000).await;
    let owner = app.member();
    let room = owner.create_room("load", 40, None).await;
    let mut wo = joined(&owner, &room).await;
    let mut members = Vec::new();
    for _ in 0..12 {
        let m = app.member();
        let ws = joined(&m, &room).await;
        members.push((m, ws));
    }
    // Senders in parallel, well past the bus's buffer (256), while nobody reads: every socket lags.
    let total = 400usize;
    let senders: Vec<_> = (0..4)
        .map(|s| {
            let (m, room) = (owner.clone(), room.clone());
            tokio::spawn(async move {
                for i in 0..total / 4 {
                    m.send(&room, &format!("s{s}-{i}")).await;
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    // One member drops mid-stream and resumes after the last seq it read.
    let (resumer, mut ws) = members.pop().unwrap();
    let mut last = 0;
    for _ in 0..50 {
        last = ws.next_event("r").await["seq"].as_i64().unwrap();
    }
    ws.close().await;
    let mut resumed = resumer.join(&room, Some(last)).await;

    // Everyone still connected reads every event, in order, without gap or duplicate.
    let mut expected: Option<Vec<i64>> = None;
    for (_, ws) in &mut members {
        let seqs = read_messages(ws, total).await;
        match &expected {
            None => expected = Some(seqs),
            Some(e) => assert_eq!(&seqs, e, "every member reads the same sequence"),
        }
    }
    let expected = expected.unwrap();
    let mut after_resume = Vec::new();
    while after_resume.last() != expected.last() {
        let e = resumed.next_event("r").await;
        if e["kind"] == "MESSAGE" {
            after_resume.push(e["seq"].as_i64().unwrap());
        }
    }
    let tail: Vec<i64> = expected.iter().copied().filter(|s| *s > last).collect();
    assert_eq!(after_resume, tail, "the resumed subscription continues right after {last}");

    // Kick one member while messages keep flowing: their subscription ends with KICKED, nothing after.
    let (kicked, mut wk) = members.pop().unwrap();
    let kicked_id = member_id(&kicked).await.to_string();
    let flow = {
        let (m, room) = (owner.clone(), room.clone());
        tokio::spawn(async move {
            for i in 0..100 {
                m.send(&room, &format!("k{i}")).await;
            }
        })
    };
    owner
        .ok("mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }", json!({ "r": room, "m": kicked_id }))
        .await;
    let closed = loop {
        let item = wk.next_item("r").await;
        if item["__typename"] == "RoomClosed" {
            break item;
        }
    };
    assert_eq!(closed["reason"], "KICKED");
    // The next message must end the operation: any further `next` would be an item after RoomClosed.
    let done = wk.recv().await.expect("the socket stays open");
    assert_ne!(done["type"], "next", "an item after RoomClosed: {done}");
    assert_eq!(done["type"], "complete", "{done}");
    flow.await.unwrap();

    // Delete while messages flow: every remaining subscriber ends with DELETED.
    owner.ok("mutation($r: ID!) { deleteRoom(id: $r) }", json!({ "r": room })).await;
    for ws in std::iter::once(&mut wo).chain(members.iter_mut().map(|(_, ws)| ws)) {
        let closed = loop {
            let item = ws.next_item("r").await;
            if item["__typename"] == "RoomClosed" {
                break item;
            }
        };
        assert_eq!(closed["reason"], "DELETED");
    }
}

/// Reads until `count` messages have arrived (resyncs would fail the test: the replay cap is high).
async fn read_messages(ws: &mut Ws, count: usize) -> Vec<i64> {
    let mut seqs = Vec::new();
    while seqs.len() < count {
        let item = tokio::time::timeout(Duration::from_secs(20), ws.next_item("r")).await.expect("stalled");
        assert_eq!(item["__typename"], "RoomEvent", "{item}");
        if item["kind"] == "MESSAGE" {
            seqs.push(item["seq"].as_i64().unwrap());
        }
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in seq order: {seqs:?}");
    seqs
}
