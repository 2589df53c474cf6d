//! One integration binary: every test runs a real server on port 0 with a temporary data directory and
//! talks to it over real HTTP and real WebSockets.

pub mod gif_corpus;
pub mod support;

mod address_limits;
mod api;
mod assets;
mod cli;
mod completion;
mod exercises;
mod fanout;
mod gif_quota;
mod gifs;
mod graphql_http;
mod graphql_http_audit;
mod graphql_ws_js;
mod hardening;
mod live;
mod lobby;
mod mongo;
mod one_writer;
mod restart;
mod room_listing;
mod schema;
mod sessions;
mod sqlite_batch;
mod sqlite_faults;
mod store_contract;
mod timeouts;
mod whisper_gifs;
mod ws_lifecycle;
mod ws_props;
