//! `sendload`: a quick load tool for persisted `sendMessage`s (issue 8, target (e)), for profiling the
//! store side. The official benchmark is `bench/gifbench`; this one only answers "how many acked sends per
//! second, and how fast are the acks" against an already running server.
//!
//! Each room gets `--members` visitors, each with its own cookie session and HTTP/1.1 keep-alive client,
//! holding a `room(id)` subscription over graphql-transport-ws (a seat is needed to send) whose frames are
//! drained and counted. Then either
//! - open loop (`--rate R`): sends are scheduled at R per second round-robin over the senders, and each
//!   ack's latency is measured from its *scheduled* time (so a stalled server cannot hide its queue), or
//! - closed loop (`--rate 0`): every sender keeps `--inflight` sends outstanding, as fast as acks come.
//!
//! Run the server with high `--messages-per-minute` and `--address-messages-per-minute` (every sender
//! comes from one address); pin it and this tool to different cores, e.g. `taskset -c 0
//! target/release/gifchat serve --messages-per-minute 100000000 --address-messages-per-minute 100000000 &` and
//! `taskset -c 1 target/release/examples/sendload --url http://127.0.0.1:8005 --rate 5000 --server-pid $!`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::cookie::CookieStore;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// The mutation every send uses (the pages' own shape: text plus a client key).
const SEND: &str =
    "mutation($r: ID!, $t: String!, $k: String) { sendMessage(roomId: $r, text: $t, clientKey: $k) { seq } }";

/// Command line, parsed by hand to keep this tool dependency-free beyond the crate's dev-dependencies.
#[derive(Debug, Clone)]
struct Args {
    url: String,
    rooms: usize,
    members: usize,
    rate: u64,
    inflight: usize,
    secs: u64,
    warmup: u64,
    server_pid: Option<u32>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: "http://127.0.0.1:8005".into(),
        rooms: 100,
        members: 1,
        rate: 0,
        inflight: 1,
        secs: 10,
        warmup: 2,
        server_pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--url" => a.url = value()?,
            "--rooms" => a.rooms = num(value()?)? as usize,
            "--members" => a.members = num(value()?)? as usize,
            "--rate" => a.rate = num(value()?)?,
            "--inflight" => a.inflight = num(value()?)? as usize,
            "--secs" => a.secs = num(value()?)?,
            "--warmup" => a.warmup = num(value()?)?,
            "--server-pid" => a.server_pid = Some(num(value()?)? as u32),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.rooms == 0 || a.members == 0 || a.inflight == 0 || a.secs == 0 {
        return Err("--rooms, --members, --inflight and --secs must be positive".into());
    }
    Ok(a)
}

/// One visitor who sends: its HTTP client (cookie jar, keep-alive pool) and its room.
struct Sender {
    http: reqwest::Client,
    room: String,
    name: usize,
}

/// Counters shared by all tasks.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    delivered: AtomicU64,
}

async fn gql(http: &reqwest::Client, url: &str, query: &str, variables: Value) -> Result<Value, String> {
    let body = json!({ "query": query, "variables": variables });
    let resp = http.post(format!("{url}/graphql")).json(&body).send().await.map_err(|e| e.to_string())?;
    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
    if v.get("errors").is_some() {
        return Err(v["errors"].to_string());
    }
    Ok(v["data"].clone())
}

/// Creates a visitor with a session, a room seat and a drained subscription.
async fn seat(url: &str, room: Option<String>, name: usize, tally: Arc<Tally>) -> Result<Sender, String> {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .tcp_nodelay(true)
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    gql(&http, url, "{ me { id } }", json!({})).await?;
    let room = match room {
        Some(r) => r,
        None => {
            let d = gql(
                &http,
                url,
                "mutation($t: String!) { createRoom(title: $t, capacity: 99) { id } }",
                json!({ "t": format!("load {name}") }),
            )
            .await?;
            d["createRoom"]["id"].as_str().ok_or("no room id")?.to_owned()
        }
    };
    gql(&http, url, "mutation($r: ID!) { enterRoom(id: $r) { id } }", json!({ "r": room })).await?;
    let cookie = jar.cookies(&url.parse().map_err(|e: url_error::E| e.to_string())?).ok_or("no session cookie")?;
    let mut req =
        format!("{}/graphql/ws", url.replacen("http", "ws", 1)).into_client_request().map_err(|e| e.to_string())?;
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    req.headers_mut().insert("cookie", HeaderValue::from_bytes(cookie.as_bytes()).map_err(|e| e.to_string())?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.map_err(|e| e.to_string())?;
    ws.send(Message::Text(json!({"type": "connection_init"}).to_string().into())).await.map_err(|e| e.to_string())?;
    let sub = json!({"type": "subscribe", "id": "r", "payload": {
        "query": "subscription($id: ID!) { room(id: $id) { __typename ... on RoomEvent { seq kind text member { color } } } }",
        "variables": {"id": room}}});
    ws.send(Message::Text(sub.to_string().into())).await.map_err(|e| e.to_string())?;
    // Wait for the first item (our own join, or the replay): the seat is then held.
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.map_err(|_| "no first item")?;
        match msg {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"next\"") => break,
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"error\"") => return Err(t.to_string()),
            Some(Ok(_)) => continue,
            other => return Err(format!("socket ended: {other:?}")),
        }
    }
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                if t.as_str().contains("\"next\"") {
                    tally.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    Ok(Sender { http, room, name })
}

/// `url::ParseError` under a short name (reqwest re-exports `Url` but not the error type's path).
mod url_error {
    pub type E = <reqwest::Url as std::str::FromStr>::Err;
}

/// One send; returns whether it was acknowledged with a seq.
async fn send_one(s: &Sender, url: &str, n: u64) -> bool {
    let vars = json!({ "r": s.room, "t": format!("load message {n} from {} ........................", s.name),
                       "k": format!("k{}-{n}", s.name) });
    match gql(&s.http, url, SEND, vars).await {
        Ok(d) => d["sendMessage"]["seq"].as_i64().is_some(),
        Err(e) => {
            static SHOWN: AtomicU64 = AtomicU64::new(0);
            if SHOWN.fetch_add(1, Ordering::Relaxed) < 3 {
                eprintln!("send failed: {e}");
            }
            false
        }
    }
}

/// CPU seconds (user + system) used so far by `pid`, from /proc.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sendload: {e}");
            std::process::exit(2);
        }
    };
    let tally = Arc::new(Tally::default());
    let mut senders = Vec::new();
    for r in 0..args.rooms {
        let first =
            seat(&args.url, None, r * args.members, tally.clone()).await.unwrap_or_else(|e| panic!("seat: {e}"));
        let room = first.room.clone();
        senders.push(Arc::new(first));
        for m in 1..args.members {
            let s = seat(&args.url, Some(room.clone()), r * args.members + m, tally.clone())
                .await
                .unwrap_or_else(|e| panic!("seat: {e}"));
            senders.push(Arc::new(s));
        }
    }
    eprintln!("seated {} senders in {} rooms", senders.len(), args.rooms);
    let url: Arc<str> = args.url.clone().into();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<Duration>::with_capacity(1 << 20)));
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let end = measure_from + Duration::from_secs(args.secs);
    let (mut cpu0, mut ok0, mut failed0) = (None, 0, 0);
    let mut measuring = false;
    let mut tasks = Vec::new();
    let record = {
        let latencies = latencies.clone();
        move |at: Instant, lat: Duration| {
            if at >= measure_from && at < end {
                latencies.lock().unwrap().push(lat);
            }
        }
    };
    if args.rate == 0 {
        for s in &senders {
            for _ in 0..args.inflight {
                let (s, url, tally, counter, record) =
                    (s.clone(), url.clone(), tally.clone(), counter.clone(), record.clone());
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < end {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let t0 = Instant::now();
                        let ok = send_one(&s, &url, n).await;
                        let c = if ok { &tally.ok } else { &tally.failed };
                        c.fetch_add(1, Ordering::Relaxed);
                        if ok {
                            record(t0, t0.elapsed());
                        }
                    }
                }));
            }
        }
    } else {
        let (s_all, url2, tally2, record2, rate) =
            (senders.clone(), url.clone(), tally.clone(), record.clone(), args.rate);
        tasks.push(tokio::spawn(async move {
            let mut n: u64 = 0;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                // Everything due by now, each stamped with the moment it was due.
                let due = (now.duration_since(start).as_secs_f64() * rate as f64) as u64;
                while n < due {
                    let at = start + Duration::from_secs_f64(n as f64 / rate as f64);
                    let s = s_all[(n as usize) % s_all.len()].clone();
                    let (url, tally, record) = (url2.clone(), tally2.clone(), record2.clone());
                    tokio::spawn(async move {
                        let ok = send_one(&s, &url, n).await;
                        let c = if ok { &tally.ok } else { &tally.failed };
                        c.fetch_add(1, Ordering::Relaxed);
                        if ok {
                            record(at, at.elapsed());
                        }
                    });
                    n += 1;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }));
    }
    // Sample the server's CPU and the counters at the edges of the measured window.
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = Instant::now();
        if !measuring && now >= measure_from {
            measuring = true;
            cpu0 = args.server_pid.and_then(cpu_secs);
            ok0 = tally.ok.load(Ordering::Relaxed);
            failed0 = tally.failed.load(Ordering::Relaxed);
        }
        if now >= end {
            break;
        }
    }
    let cpu1 = args.server_pid.and_then(cpu_secs);
    let (ok1, failed1) = (tally.ok.load(Ordering::Relaxed), tally.failed.load(Ordering::Relaxed));
    // Let in-flight sends finish (bounded) so their latencies count.
    let _ = tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(tasks)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let secs = args.secs as f64;
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => format!("{:.0}%", (b - a) / secs * 100.0),
        _ => "n/a".into(),
    };
    println!(
        "rooms={} senders={} mode={} acked/s={:.0} failed={} server_cpu={} ack_ms p50={:.2} p90={:.2} p99={:.2} p99.9={:.2} max={:.2} deliveries={}",
        args.rooms,
        senders.len(),
        if args.rate == 0 { format!("closed x{}", args.inflight) } else { format!("open {}/s", args.rate) },
        (ok1 - ok0) as f64 / secs,
        failed1 - failed0,
        cpu,
        pct(&lat, 0.50),
        pct(&lat, 0.90),
        pct(&lat, 0.99),
        pct(&lat, 0.999),
        lat.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN),
        tally.delivered.load(Ordering::Relaxed),
    );
}
