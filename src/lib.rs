//! gifchat — real-time anonymous GIF chat rooms (the "GIF 채팅방" of Node.js 교과서 ch. 12, in Rust).
//!
//! Codemap:
//! - [`domain`]: plain types and rules (ids, validated inputs, colours, events); no I/O.
//! - [`store`]: the [`Store`](store::Store) trait and its backends (SQLite embedded store, MongoDB).
//! - [`bus`]: publish/subscribe between the hub and live subscriptions (in-process broadcast).
//! - [`hub`]: the only code that changes state: validates, persists, then publishes; presence and grace;
//!   rate limits per member and per client address.
//! - [`gifcheck`]: decides whether uploaded bytes are a complete, bounded GIF.
//! - [`graphql`]: schema, hardened HTTP handler, graphql-transport-ws server.
//! - [`http`]: router, client addresses (trusted proxies), sessions, GIF upload/serving, pages, `serve`.
//! - [`node`]: one writer per store: `serve` locks its data directory or claims its MongoDB database.
//! - [`config`] and [`cli`]: the command line and its subcommands.

pub mod bus;
pub mod cli;
pub mod config;
pub mod domain;
pub mod gifcheck;
pub mod graphql;
pub mod http;
pub mod hub;
pub mod node;
pub mod store;
