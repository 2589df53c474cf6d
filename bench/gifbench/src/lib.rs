//! gifbench: the benchmark of issue 8 — gifchat beside the machine's limit and the stack it replaces.
//!
//! - `machine` pins the generator to core 1, raises the fd limit, reads CPU time and RSS from /proc.
//! - `docs` takes the pages' own GraphQL documents from `static/js/`.
//! - `bare` is the bare axum + tokio broadcast baseline server (`gifbench bare-server`).
//! - `servers` starts each server (and nx-27017) on core 0 and kills it afterwards.
//! - `client` speaks each server's protocol: gifchat's cookie sessions, POST /graphql and
//!   graphql-transport-ws; the bare server's JSON frames; Socket.IO v5 over Engine.IO v4.
//! - `scenarios` are issue 8's (a)–(e), written once against `client::Target`.
//! - `stats` holds latency samples; `report` and `tables` write the markdown; `run` ties it together.

pub mod bare;
pub mod cli;
pub mod client;
pub mod docs;
pub mod machine;
pub mod report;
pub mod run;
pub mod scenarios;
pub mod servers;
pub mod stats;
pub mod tables;
