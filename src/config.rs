//! Command line and environment: one clap-derived tree. Every `serve` setting also reads a
//! `GIFCHAT_*` variable; each field's doc comment is its `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::http::client::TrustedProxies;

/// A count that must be at least 1 (0 would refuse everything; a limit is lifted by a large value).
fn at_least_one() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..)
}

/// gifchat — real-time anonymous GIF chat rooms.
#[derive(Debug, Parser)]
#[command(name = "gifchat", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (pages, GraphQL, WebSockets).
    Serve(Box<ServeArgs>),
    /// Manage rooms in the data directory (a running server shows the changes live).
    Rooms {
        /// Where the data is.
        #[command(flatten)]
        data: DataArgs,
        /// The rooms action.
        #[command(subcommand)]
        action: RoomsCommand,
    },
    /// Bring the store's schema up to date (idempotent); with --from-data-dir, also copy an embedded
    /// store into MongoDB.
    Migrate {
        /// Where the data is.
        #[command(flatten)]
        data: DataArgs,
        /// Copy rooms, messages, sessions and GIFs from this embedded-store directory into the MongoDB
        /// given by --mongodb-uri (safe to repeat: copied data is not duplicated).
        #[arg(long, value_name = "DIR")]
        from_data_dir: Option<PathBuf>,
    },
}

/// Where the data lives: the embedded store's directory, or MongoDB.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Directory of the embedded store (SQLite file and GIFs).
    #[arg(long, env = "GIFCHAT_DATA_DIR", default_value = "./gifchat-data", global = true)]
    pub data_dir: PathBuf,
    /// Store everything in MongoDB instead of the data directory, e.g.
    /// mongodb://host1,host2/gifchat?replicaSet=rs0 (database from the path, default `gifchat`).
    /// Run `gifchat migrate --mongodb-uri …` once first.
    #[arg(long, env = "GIFCHAT_MONGODB_URI", global = true, hide_env_values = true, value_name = "URI")]
    pub mongodb_uri: Option<String>,
}

/// `gifchat rooms …`
#[derive(Debug, Subcommand)]
pub enum RoomsCommand {
    /// List rooms: id, title, public/secret, capacity, members now, owner colour, created.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a room and print its id. It has no owner until someone enters.
    Create {
        /// Room title (1–80 characters).
        #[arg(long)]
        title: String,
        /// How many members fit (2–100).
        #[arg(long, default_value_t = 10)]
        capacity: i64,
        /// Read a password from standard input (first line), making the room secret.
        #[arg(long)]
        password_stdin: bool,
        /// Keep the room even when it is empty.
        #[arg(long)]
        persistent: bool,
    },
    /// Delete a room with its messages and GIFs.
    Delete {
        /// The room id.
        id: String,
    },
}

/// `gifchat serve` settings.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GIFCHAT_LISTEN", default_value = "127.0.0.1:8005")]
    pub listen: SocketAddr,
    /// Where the data is.
    #[command(flatten)]
    pub data: DataArgs,
    /// Seconds a dropped member keeps their place (a page refresh posts no exit/join).
    #[arg(long, env = "GIFCHAT_GRACE_SECS", default_value_t = 10.0)]
    pub grace_secs: f64,
    /// Seconds before a room nobody entered is removed.
    #[arg(long, env = "GIFCHAT_UNUSED_ROOM_SECS", default_value_t = 600.0)]
    pub unused_room_secs: f64,
    /// Days of inactivity after which a session (and so an anonymous identity) expires. Using a session
    /// pushes its expiry forward, re-saving it at most once per tenth of this period.
    #[arg(long, env = "GIFCHAT_SESSION_DAYS", default_value_t = 30.0)]
    pub session_days: f64,
    /// Serve behind https: cookies get `Secure` and the `__Host-` name.
    #[arg(long, env = "GIFCHAT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Further origins allowed to open the WebSocket (comma-separated, e.g. https://chat.example).
    #[arg(long, env = "GIFCHAT_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Largest GIF upload in bytes.
    #[arg(long, env = "GIFCHAT_GIF_MAX_BYTES", default_value_t = 5 * 1024 * 1024)]
    pub gif_max_bytes: usize,
    /// Bytes of GIFs one room may store, public and whispered together (default 50 MiB); 0 means no
    /// limit. A full room refuses further uploads (HTTP 507, QUOTA_EXCEEDED) and keeps what it has; its
    /// space comes back when the room is deleted.
    #[arg(long, env = "GIFCHAT_GIF_ROOM_QUOTA_BYTES", default_value_t = crate::hub::DEFAULT_GIF_ROOM_QUOTA,
          value_name = "BYTES")]
    pub gif_room_quota_bytes: u64,
    /// Bytes of GIFs all rooms together may store (default 2 GiB) — on MongoDB, shared by every server on
    /// the database; 0 means no limit.
    #[arg(long, env = "GIFCHAT_GIF_TOTAL_QUOTA_BYTES", default_value_t = crate::hub::DEFAULT_GIF_TOTAL_QUOTA,
          value_name = "BYTES")]
    pub gif_total_quota_bytes: u64,
    /// Text messages and whispers per member per minute.
    #[arg(long, env = "GIFCHAT_MESSAGES_PER_MINUTE", default_value_t = 60, value_parser = at_least_one())]
    pub messages_per_minute: u32,
    /// Text messages and whispers per client address per minute (IPv4 address or IPv6 /64; looser than
    /// per member, since one address may be a whole NAT).
    #[arg(long, env = "GIFCHAT_ADDRESS_MESSAGES_PER_MINUTE", default_value_t = 180, value_parser = at_least_one())]
    pub address_messages_per_minute: u32,
    /// GIF uploads per member per minute.
    #[arg(long, env = "GIFCHAT_UPLOADS_PER_MINUTE", default_value_t = 10, value_parser = at_least_one())]
    pub uploads_per_minute: u32,
    /// GIF uploads per client address per minute.
    #[arg(long, env = "GIFCHAT_ADDRESS_UPLOADS_PER_MINUTE", default_value_t = 30, value_parser = at_least_one())]
    pub address_uploads_per_minute: u32,
    /// Rooms a member may create per minute.
    #[arg(long, env = "GIFCHAT_ROOMS_PER_MINUTE", default_value_t = 10, value_parser = at_least_one())]
    pub rooms_per_minute: u32,
    /// Rooms a client address may create per minute.
    #[arg(long, env = "GIFCHAT_ADDRESS_ROOMS_PER_MINUTE", default_value_t = 20, value_parser = at_least_one())]
    pub address_rooms_per_minute: u32,
    /// Joins per member per minute: entering a room (enterRoom, its page) and subscribing to one.
    #[arg(long, env = "GIFCHAT_JOINS_PER_MINUTE", default_value_t = 30, value_parser = at_least_one())]
    pub joins_per_minute: u32,
    /// Joins per client address per minute.
    #[arg(long, env = "GIFCHAT_ADDRESS_JOINS_PER_MINUTE", default_value_t = 120, value_parser = at_least_one())]
    pub address_joins_per_minute: u32,
    /// Typing signals per member per minute.
    #[arg(long, env = "GIFCHAT_TYPING_PER_MINUTE", default_value_t = 60, value_parser = at_least_one())]
    pub typing_per_minute: u32,
    /// Typing signals per client address per minute.
    #[arg(long, env = "GIFCHAT_ADDRESS_TYPING_PER_MINUTE", default_value_t = 240, value_parser = at_least_one())]
    pub address_typing_per_minute: u32,
    /// New sessions (anonymous identities) a client address may start per minute.
    #[arg(long, env = "GIFCHAT_ADDRESS_SESSIONS_PER_MINUTE", default_value_t = 60, value_parser = at_least_one())]
    pub address_sessions_per_minute: u32,
    /// WebSockets a client address may have open at once; more are refused with 429.
    #[arg(long, env = "GIFCHAT_ADDRESS_WEBSOCKETS", default_value_t = 64, value_parser = at_least_one())]
    pub address_websockets: u32,
    /// Wrong room passwords a client address may try per room before each further try doubles the wait.
    #[arg(long, env = "GIFCHAT_PASSWORD_FREE_TRIES", default_value_t = 5)]
    pub password_free_tries: u32,
    /// Seconds of the first wait after the free password tries (then doubling).
    #[arg(long, env = "GIFCHAT_PASSWORD_BACKOFF_SECS", default_value_t = 1.0)]
    pub password_backoff_secs: f64,
    /// Longest wait between password tries of one client address at one room, in seconds.
    #[arg(long, env = "GIFCHAT_PASSWORD_BACKOFF_MAX_SECS", default_value_t = 900.0)]
    pub password_backoff_max_secs: f64,
    /// Password tries per room per hour from all addresses together (stops guessing spread over many
    /// addresses; while spent, nobody new can enter that secret room).
    #[arg(long, env = "GIFCHAT_ROOM_PASSWORD_TRIES_PER_HOUR", default_value_t = 60, value_parser = at_least_one())]
    pub room_password_tries_per_hour: u32,
    /// Most keys (members, addresses, rooms) each rate limiter tracks; beyond, new keys are refused
    /// until idle ones are forgotten.
    #[arg(long, env = "GIFCHAT_LIMIT_KEYS", default_value_t = 65_536, value_parser = at_least_one())]
    pub limit_keys: u32,
    /// Reverse proxies in front of the server (comma-separated CIDR ranges or addresses, e.g.
    /// 10.0.0.0/8,::1). For requests from them, the client address is the right-most X-Forwarded-For entry
    /// that is not one of them; everyone else's X-Forwarded-For is ignored. Default: none.
    #[arg(long, env = "GIFCHAT_TRUSTED_PROXIES", default_value = "", hide_default_value = true, value_name = "CIDRS")]
    pub trusted_proxies: TrustedProxies,
    /// Rooms on the lobby's first page and in the lobby subscription's first item (1–100); more load on demand.
    #[arg(long, env = "GIFCHAT_LOBBY_PAGE_SIZE", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub lobby_page_size: u32,
    /// Events replayed on resume before the client is told to refetch history instead.
    #[arg(long, env = "GIFCHAT_REPLAY_CAP", default_value_t = 500)]
    pub replay_cap: u32,
    /// Seconds a client gets to send a request's headers (against slowloris); also how long a kept-alive
    /// connection may sit idle before its next request.
    #[arg(long, env = "GIFCHAT_HEADER_TIMEOUT_SECS", default_value_t = 10.0)]
    pub header_timeout_secs: f64,
    /// Seconds a request body may go without progress before the request fails.
    #[arg(long, env = "GIFCHAT_BODY_TIMEOUT_SECS", default_value_t = 20.0)]
    pub body_timeout_secs: f64,
    /// Seconds shutdown waits for open requests and sockets before exiting anyway.
    #[arg(long, env = "GIFCHAT_SHUTDOWN_SECS", default_value_t = 5.0)]
    pub shutdown_secs: f64,
    /// Seconds of silence on a WebSocket before the server pings it.
    #[arg(long, env = "GIFCHAT_WS_PING_SECS", default_value_t = 25.0)]
    pub ws_ping_secs: f64,
    /// Seconds of silence (pongs included) after which the server closes a WebSocket.
    #[arg(long, env = "GIFCHAT_WS_IDLE_SECS", default_value_t = 60.0)]
    pub ws_idle_secs: f64,
    /// Password checks that may wait for a free hasher; beyond them, RATE_LIMITED at once.
    #[arg(long, env = "GIFCHAT_PASSWORD_QUEUE", default_value_t = 16)]
    pub password_queue: usize,
    /// Largest GraphQL query depth.
    #[arg(long, env = "GIFCHAT_GRAPHQL_DEPTH", default_value_t = 10)]
    pub graphql_depth: usize,
    /// Largest GraphQL query complexity.
    #[arg(long, env = "GIFCHAT_GRAPHQL_COMPLEXITY", default_value_t = 500)]
    pub graphql_complexity: usize,
    /// Most aliases in one GraphQL query.
    #[arg(long, env = "GIFCHAT_GRAPHQL_ALIASES", default_value_t = 30)]
    pub graphql_aliases: usize,
    /// Seconds a server's claim on a MongoDB database lasts unless renewed (it renews every third of it);
    /// 1–3600. After a crash, another server can start on the database this long after the last renewal.
    #[arg(long, env = "GIFCHAT_NODE_LEASE_SECS", default_value = "15", value_name = "SECS",
          value_parser = crate::node::parse_lease_secs)]
    pub node_lease_secs: std::time::Duration,
}
