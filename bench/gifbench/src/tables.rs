//! The report's tables: one per scenario, the three servers side by side, then gifchat's ratios to
//! Socket.IO and to the bare server.

use crate::client::Kind;
use crate::machine;
use crate::report::{num, ratio, Report};
use crate::run::Options;
use crate::scenarios::fanout::{Fanout, Step, P99_LIMIT_MS};
use crate::scenarios::lobby::Lobby;
use crate::scenarios::mix::Mix;
use crate::scenarios::persist::{Persist, ACK_P99_LIMIT_MS};
use crate::scenarios::Sizes;
use crate::stats::ms;

/// Results of one scenario: per server, None when it failed.
type Results<T> = [(Kind, Option<T>)];

/// The result for `kind`, if it ran and succeeded.
fn of<T>(r: &Results<T>, kind: Kind) -> Option<&T> {
    r.iter().find(|(k, _)| *k == kind).and_then(|(_, v)| v.as_ref())
}

/// A summary row: metric, the three servers, gifchat/socket.io, gifchat/bare.
fn summary_row<T>(r: &Results<T>, name: &str, digits: usize, f: impl Fn(&T) -> Option<f64>) -> Vec<String> {
    let v = |k| of(r, k).and_then(&f);
    let (g, b, s) = (v(Kind::Gifchat), v(Kind::Bare), v(Kind::SocketIo));
    vec![name.into(), num(g, digits), num(b, digits), num(s, digits), ratio(g, s), ratio(g, b)]
}

/// The header of a summary table.
fn summary_header() -> Vec<String> {
    ["", "gifchat", "bare", "socket.io", "gifchat / socket.io", "gifchat / bare"].map(String::from).to_vec()
}

/// The machine and the run's sizes.
pub fn header(report: &mut Report, opts: &Options, sizes: &Sizes) {
    report.para(&format!(
        "# gifbench results{}\n\nServer under test on core 0 (`taskset -c 0`), generator on core 1, loopback only.",
        if opts.quick { " (--quick: tiny sizes, a smoke, not a measurement)" } else { "" }
    ));
    let rows: Vec<Vec<String>> = machine::describe().into_iter().map(|(k, v)| vec![k, v]).collect();
    report.table(&["machine".into(), "".into()], &rows);
    report.para(&format!("Sizes: `{sizes:?}`"));
}

/// One cell of the (a) table.
fn step_cell(s: &Step) -> String {
    format!(
        "{:.1} % · {}/{}/{} ms · CPU {:.0} % (waited {:.0} %) · {:.0} MB{}",
        s.delivered_pct,
        ms(s.lat.p50),
        ms(s.lat.p99),
        ms(s.lat.p999),
        s.cpu_pct,
        s.wait_pct.0,
        s.rss_mb,
        if s.lost_sends > 0 { format!(" · {} sends lost", s.lost_sends) } else { String::new() }
    )
}

/// (a): per rate, then the summary.
pub fn fanout(report: &mut Report, sizes: &Sizes, r: &Results<Fanout>) {
    report.heading(&format!(
        "(a) one room, {} subscribers + 1 sender, {}-byte messages",
        sizes.a_subs,
        crate::scenarios::MESSAGE_BYTES
    ));
    report.para(&format!(
        "Each cell: delivered · p50/p99/p99.9 send→receipt · server CPU (one core = 100 %) · server RSS. \
         Steps of {} s, open-loop. *waited*: time the server's threads were runnable but had no CPU \
         (other work on the machine; near 0 on a quiet one). *gen CPU*: the generator's own CPU, and its \
         waiting time (near 100 % CPU, or a large wait: the generator limits the step).",
        sizes.step_secs
    ));
    let kinds = [Kind::Gifchat, Kind::Bare, Kind::SocketIo];
    let mut header = vec!["offered msg/s".to_string()];
    header.extend(kinds.iter().map(|k| k.label().to_string()));
    header.push("gen CPU".into());
    let mut rows = Vec::new();
    let mut rates = vec![sizes.a_low_rate];
    rates.extend(&sizes.a_rates);
    for rate in rates {
        let mut row = vec![rate.to_string()];
        let (mut gen, mut gen_wait): (f64, f64) = (0.0, 0.0);
        for k in kinds {
            let step = of(r, k).and_then(|f| std::iter::once(&f.low).chain(&f.steps).find(|s| s.rate == rate));
            row.push(step.map_or_else(|| "failed".into(), step_cell));
            gen = gen.max(step.map_or(0.0, |s| s.gen_cpu_pct));
            gen_wait = gen_wait.max(step.map_or(0.0, |s| s.wait_pct.1));
        }
        row.push(format!("≤ {gen:.0} % (waited ≤ {gen_wait:.0} %)"));
        rows.push(row);
    }
    report.table(&header, &rows);
    let first = sizes.a_rates.first().copied().unwrap_or(0);
    let at = |f: &Fanout, rate: u32| f.steps.iter().find(|s| s.rate == rate).cloned();
    report.table(
        &summary_header(),
        &[
            summary_row(
                r,
                &format!("highest rate with 100 % delivered and p99 ≤ {P99_LIMIT_MS} ms (msg/s)"),
                0,
                |f| Some(f.best().unwrap_or(0) as f64),
            ),
            summary_row(r, &format!("server CPU per delivery at {first} msg/s (µs)"), 1, |f| {
                at(f, first).and_then(|s| s.us_per_delivery)
            }),
            summary_row(r, &format!("p50 at {} msg/s (ms)", sizes.a_low_rate), 2, |f| f.low.lat.p50),
            summary_row(r, &format!("p99 at {} msg/s (ms)", sizes.a_low_rate), 2, |f| f.low.lat.p99),
            summary_row(r, &format!("server CPU at {} msg/s (%)", sizes.a_low_rate), 0, |f| Some(f.low.cpu_pct)),
        ],
    );
}

/// (b): one summary table.
pub fn mix(report: &mut Report, sizes: &Sizes, r: &Results<Mix>) {
    report.heading(&format!(
        "(b) {} rooms × {} members, {} msg/s per room, members leaving and joining",
        sizes.b_rooms, sizes.b_members, sizes.b_rate_per_room
    ));
    report.para(&format!(
        "{} s of load; every second a tenth of the rooms lose a member and gain a new one. *delivered* is \
         approximate (joiners resume, leavers miss the rest).",
        sizes.b_secs
    ));
    report.table(
        &summary_header(),
        &[
            summary_row(r, "p50 (ms)", 2, |m| m.lat.p50),
            summary_row(r, "p99 (ms)", 2, |m| m.lat.p99),
            summary_row(r, "p99.9 (ms)", 2, |m| m.lat.p999),
            summary_row(r, "server CPU (%)", 0, |m| Some(m.cpu_pct)),
            summary_row(r, "server waited for its core (%)", 0, |m| Some(m.wait_pct.0)),
            summary_row(r, "generator CPU (%)", 0, |m| Some(m.gen_cpu_pct)),
            summary_row(r, "generator waited for its core (%)", 0, |m| Some(m.wait_pct.1)),
            summary_row(r, "deliveries/s", 0, |m| Some(m.deliveries_per_sec)),
            summary_row(r, "delivered ≈ (%)", 1, |m| Some(m.delivered_pct)),
            summary_row(r, "server RSS (MB)", 0, |m| Some(m.rss_mb)),
            summary_row(r, "members churned", 0, |m| Some(m.churned as f64)),
            summary_row(r, "sends lost / churn errors", 0, |m| Some((m.lost_sends + m.churn_errors) as f64)),
        ],
    );
}

/// (c) and (d): one table each.
pub fn lobby(report: &mut Report, sizes: &Sizes, r: &Results<Lobby>) {
    report.heading(&format!("(c) {} idle lobby subscribers", sizes.c_idle));
    report.table(&summary_header(), &[summary_row(r, "server RSS per connection (KB)", 1, |l| Some(l.kb_per_conn))]);
    report.heading(&format!("(d) {} lobby subscribers, one lobby change (a room created)", sizes.d_lobby));
    report.table(
        &summary_header(),
        &[
            summary_row(r, "change → receipt p50 (ms)", 1, |l| l.lat.p50),
            summary_row(r, "change → receipt p99 (ms)", 1, |l| l.lat.p99),
            summary_row(r, "reached (%)", 1, |l| Some(l.delivered_pct)),
            summary_row(r, "server RSS (MB)", 0, |l| Some(l.rss_mb)),
        ],
    );
}

/// (e): per rate and store, then the summary.
pub fn persist(report: &mut Report, sizes: &Sizes, r: &Results<Persist>, mongo_is_nx: bool) {
    report.heading(&format!("(e) persisted sends over {} rooms (gifchat only)", sizes.e_rooms));
    report.para(&format!(
        "Open-loop `sendMessage` over many keep-alive HTTP/1.1 connections; ack = the answer (committed). \
         Steps of {} s.{}",
        sizes.step_secs,
        if mongo_is_nx {
            " MongoDB is nx-27017 (the MongoDB wire protocol over SQLite, on core 0 with the server): not a real MongoDB."
        } else {
            ""
        }
    ));
    let stores = [Kind::Gifchat, Kind::GifchatMongo];
    let mut header = vec!["offered/s".to_string()];
    header.extend(stores.iter().map(|k| format!("{} ack p50/p99 ms · CPU (waited) · lost", k.label())));
    let rows: Vec<Vec<String>> = sizes
        .e_rates
        .iter()
        .map(|&rate| {
            let mut row = vec![rate.to_string()];
            for k in stores {
                let s = of(r, k).and_then(|p| p.steps.iter().find(|s| s.rate == rate));
                row.push(s.map_or_else(
                    || if of(r, k).is_some() { "not run (saturated below)".into() } else { "–".into() },
                    |s| {
                        format!(
                            "{}/{} · {:.0} % ({:.0} %) · {}",
                            ms(s.ack.p50),
                            ms(s.ack.p99),
                            s.cpu_pct,
                            s.wait_pct,
                            s.lost
                        )
                    },
                ));
            }
            row
        })
        .collect();
    report.table(&header, &rows);
    let best = |k| of(r, k).map(|p| p.best().map_or("none".to_string(), |b| b.to_string())).unwrap_or("–".into());
    report.para(&format!(
        "Highest rate with no lost send and ack p99 ≤ {ACK_P99_LIMIT_MS} ms: SQLite **{}**, MongoDB **{}** msg/s.",
        best(Kind::Gifchat),
        best(Kind::GifchatMongo)
    ));
}
