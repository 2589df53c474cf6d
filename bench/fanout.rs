//! Fan-out benchmark: how fast a room delivers messages to N live subscribers, over real HTTP and real
//! WebSockets, on the embedded store. Compares each N with N = 1 measured in the same run (ratios, since
//! the machine is noisy). Run: `cargo bench --bench fanout` (results and notes in bench/RESULTS.md).

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use support::{Member, TestApp, Ws};

/// Messages posted per measurement.
const MESSAGES: usize = 200;

async fn seat(app: &TestApp, room: &str) -> Ws {
    let m: Member = app.member();
    let mut ws = m.join(room, None).await;
    ws.next_event("r").await; // own join: the subscription is live
    ws
}

/// Posts MESSAGES from one member and waits until each of `n` subscribers has all of them.
/// Returns (send phase duration, total duration until the last delivery, per-send latencies).
async fn run(n: usize) -> (Duration, Duration, Vec<Duration>) {
    let app = TestApp::spawn().await;
    let sender = app.member();
    let room = sender.create_room("bench", 100, None).await;
    let _sender_ws = seat_member(&sender, &room).await;
    let mut subscribers = Vec::new();
    for _ in 0..n {
        subscribers.push(seat(&app, &room).await);
    }
    // Drain the join events of later members so every socket starts at the same point.
    for (i, ws) in subscribers.iter_mut().enumerate() {
        for _ in (i + 1)..n {
            ws.next_event("r").await;
        }
    }
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                for _ in 0..MESSAGES {
                    ws.next_event("r").await;
                }
                Instant::now()
            })
        })
        .collect();
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let t = Instant::now();
        sender.send(&room, &format!("message {i}")).await;
        latencies.push(t.elapsed());
    }
    let sent = start.elapsed();
    let mut last = start;
    for r in readers {
        last = last.max(r.await.unwrap());
    }
    (sent, last - start, latencies)
}

async fn seat_member(m: &Member, room: &str) -> Ws {
    let mut ws = m.join(room, None).await;
    ws.next_event("r").await;
    ws
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    println!("fan-out: {MESSAGES} messages from one sender, debug={}", cfg!(debug_assertions));
    println!(
        "{:>5} {:>12} {:>14} {:>12} {:>10} {:>10} {:>16}",
        "N", "send msgs/s", "deliveries/s", "until last", "p50 send", "p99 send", "deliveries/s ÷ N=1"
    );
    let mut base = None;
    for n in [1, 10, 50, 99] {
        let (sent, total, mut lat) = run(n).await;
        lat.sort();
        let deliveries = (MESSAGES * n) as f64 / total.as_secs_f64();
        let base = *base.get_or_insert(deliveries);
        println!(
            "{:>5} {:>12.0} {:>14.0} {:>10.0}ms {:>8.2}ms {:>8.2}ms {:>16.2}",
            n,
            MESSAGES as f64 / sent.as_secs_f64(),
            deliveries,
            total.as_secs_f64() * 1000.0,
            percentile(&lat, 0.5).as_secs_f64() * 1000.0,
            percentile(&lat, 0.99).as_secs_f64() * 1000.0,
            deliveries / base,
        );
    }
}
