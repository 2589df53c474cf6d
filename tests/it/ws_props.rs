//! A bounded property test over a real socket: random sequences of graphql-transport-ws frames — valid
//! messages in any order, invalid ones, binary frames — get exactly the protocol's answers. A model of the
//! protocol (PROTOCOL.md: 4400 invalid message, 4401 subscribe before the ack, 4409 a duplicate id,
//! 4429 a second init; the socket's own cap answered with an `error`) says how each sequence must end:
//! closed with which code, or still open and answering a ping. The pure parser underneath has its own
//! properties (src/graphql/protocol.rs); this checks that the socket acts on them.
//!
//! One server serves every case (each case opens its own socket); 48 cases of at most 12 frames.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use futures::SinkExt;
use proptest::prelude::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

/// The per-socket subscription cap for this server: small, so sequences reach it.
const CAP: usize = 3;

/// One frame a client might send.
#[derive(Debug, Clone)]
enum Frame {
    Init,
    Ping,
    Pong,
    Subscribe(String),
    Complete(String),
    /// Text that is not a client message of the protocol.
    Invalid(String),
    Binary(Vec<u8>),
}

impl Frame {
    fn message(&self) -> Message {
        let text = |v: Value| Message::Text(v.to_string().into());
        match self {
            Frame::Init => text(json!({"type": "connection_init"})),
            Frame::Ping => text(json!({"type": "ping"})),
            Frame::Pong => text(json!({"type": "pong"})),
            // A lobby subscription stays open until completed, so which ids are open is known exactly.
            Frame::Subscribe(id) => text(json!({"type": "subscribe", "id": id,
                "payload": {"query": "subscription { lobby { __typename } }"}})),
            Frame::Complete(id) => text(json!({"type": "complete", "id": id})),
            Frame::Invalid(t) => Message::Text(t.clone().into()),
            Frame::Binary(b) => Message::Binary(b.clone().into()),
        }
    }
}

/// Ids: a few good ones to collide on, the empty id and one over the 128-byte limit.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(&["a", "b", "c", "d", "e", "f"][..]).prop_map(str::to_owned),
        1 => Just(String::new()),
        1 => Just("i".repeat(129)),
    ]
}

fn invalid_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Never JSON: it starts with '#'.
        ".{0,24}".prop_map(|t| format!("#{t}")),
        proptest::sample::select(
            &[
                r#"{"type":"next","id":"a","payload":{}}"#,
                r#"{"type":"connection_ack"}"#,
                r#"{"type":"subscribe","id":"a","payload":{}}"#,
                r#"{"type":"subscribe","id":"a"}"#,
                r#"{"type":"ping","payload":"x"}"#,
                r#"{"type":"complete"}"#,
                r#"{"type":null}"#,
                "[]",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        1 => Just(Frame::Init),
        2 => Just(Frame::Ping),
        1 => Just(Frame::Pong),
        6 => id().prop_map(Frame::Subscribe),
        3 => id().prop_map(Frame::Complete),
        1 => invalid_text().prop_map(Frame::Invalid),
        1 => proptest::collection::vec(any::<u8>(), 0..16).prop_map(Frame::Binary),
    ]
}

/// Up to 12 frames; most sequences start with `connection_init`, so that they get past it.
fn frames() -> impl Strategy<Value = Vec<Frame>> {
    let any = || proptest::collection::vec(frame(), 1..12);
    prop_oneof![
        1 => any(),
        3 => any().prop_map(|rest| [vec![Frame::Init], rest].concat()),
    ]
}

/// What the protocol says a sequence leads to.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    /// The frames sent (the sequence is cut after the frame that closes the socket).
    sent: usize,
    acks: usize,
    pongs: usize,
    /// Subscribe ids refused with `error` (the cap).
    refused: Vec<String>,
    /// Every id that was ever accepted (its `next`s may arrive).
    started: BTreeSet<String>,
    close: Option<u16>,
}

/// The model: PROTOCOL.md's rules and the socket's cap, frame by frame.
fn model(frames: &[Frame]) -> Expected {
    let good = |id: &str| !id.is_empty() && id.len() <= 128;
    let (mut acked, mut open, mut out) = (false, BTreeSet::new(), Expected::default());
    for f in frames {
        out.sent += 1;
        let close = match f {
            Frame::Invalid(_) | Frame::Binary(_) => Some(4400),
            Frame::Subscribe(id) | Frame::Complete(id) if !good(id) => Some(4400),
            Frame::Init if acked => Some(4429),
            Frame::Init => {
                acked = true;
                out.acks += 1;
                None
            }
            Frame::Ping => {
                out.pongs += 1;
                None
            }
            Frame::Pong => None,
            Frame::Subscribe(_) if !acked => Some(4401),
            Frame::Subscribe(id) if open.contains(id) => Some(4409),
            Frame::Subscribe(id) if open.len() >= CAP => {
                out.refused.push(id.clone());
                None
            }
            Frame::Subscribe(id) => {
                open.insert(id.clone());
                out.started.insert(id.clone());
                None
            }
            Frame::Complete(id) => {
                open.remove(id);
                None
            }
        };
        if close.is_some() {
            out.close = close;
            break;
        }
    }
    out
}

/// Plays `frames` on a fresh socket and reports what the server did, in the model's terms.
async fn play(app: &TestApp, frames: &[Frame], expected: &Expected) -> Expected {
    let mut ws = Ws::connect(&app.base, None, None).await.expect("connect");
    for f in &frames[..expected.sent] {
        ws.inner.send(f.message()).await.expect("send");
    }
    let mut seen = Expected { sent: expected.sent, ..Expected::default() };
    if expected.close.is_none() {
        // Still open: a ping must come back after everything else.
        ws.inner.send(Frame::Ping.message()).await.expect("send the final ping");
    }
    let final_pong = usize::from(expected.close.is_none());
    loop {
        let msg = tokio::time::timeout(WAIT, futures::StreamExt::next(&mut ws.inner)).await.expect("an answer in time");
        let v: Value = match msg {
            Some(Ok(Message::Text(t))) => serde_json::from_str(t.as_str()).expect("the server sends JSON"),
            Some(Ok(Message::Close(frame))) => {
                seen.close = Some(frame.map(|f| u16::from(f.code)).unwrap_or(1005));
                break;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("unexpected {other:?} (a server that dies shows here)"),
        };
        let id = v["id"].as_str().map(str::to_owned);
        match (v["type"].as_str(), id) {
            (Some("connection_ack"), None) => seen.acks += 1,
            (Some("pong"), None) => {
                seen.pongs += 1;
                if expected.close.is_none() && seen.pongs == expected.pongs + final_pong {
                    seen.pongs -= final_pong;
                    break;
                }
            }
            (Some("next"), Some(id)) => {
                seen.started.insert(id);
            }
            (Some("error"), Some(id)) => {
                assert_eq!(v["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{v}");
                seen.refused.push(id);
            }
            _ => panic!("a message the protocol does not send here: {v}"),
        }
    }
    let _ = ws.inner.close(None).await;
    seen
}

/// The server and its runtime, shared by every case.
fn server() -> &'static Mutex<(tokio::runtime::Runtime, TestApp)> {
    static SERVER: OnceLock<Mutex<(tokio::runtime::Runtime, TestApp)>> = OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let app = rt.block_on(TestApp::spawn_with(|s| s.web.ws.max_subscriptions = CAP));
        Mutex::new((rt, app))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_frames_gets_the_protocols_answers(frames in frames()) {
        let expected = model(&frames);
        let guard = server().lock().unwrap_or_else(|p| p.into_inner());
        let (rt, app) = &*guard;
        let seen = rt.block_on(play(app, &frames, &expected));
        prop_assert_eq!(seen.close, expected.close);
        prop_assert_eq!(seen.acks, expected.acks);
        prop_assert_eq!(seen.refused, expected.refused);
        prop_assert_eq!(seen.pongs, expected.pongs);
        // Every `next` belongs to a subscription the model accepted (one completed before its first item
        // may send none).
        prop_assert!(seen.started.is_subset(&expected.started), "{:?} vs {:?}", seen.started, expected.started);
    }
}
