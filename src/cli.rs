//! Subcommands: `serve`, `rooms list|create|delete`, `migrate`. Each builds what it needs from the
//! parsed [`Cli`] and calls into the library; the admin commands go through the hub like everyone else.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::bus::LocalBus;
use crate::config::{Cli, Command, DataArgs, RoomsCommand, ServeArgs};
use crate::domain::{Color, RoomId};
use crate::graphql::{self, QueryLimits, WsConfig};
use crate::http::{self, AppState, WebConfig};
use crate::hub::{Creator, Hub, HubConfig, HubError, LimitConfig, PasswordLimits, PerMinute};
use crate::node::{self, Writer};
use crate::store::{GifQuota, MongoStore, NodeRecord, SqliteStore, Store};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Rooms { data, action } => rooms(data, action).await,
        Command::Migrate { data, from_data_dir } => migrate(&data, from_data_dir.as_deref()).await,
    }
}

fn secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{what} must be a non-negative number of seconds"))
}

/// Like [`secs`], for periods that must be longer than zero.
fn positive_secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    match secs(s, what)? {
        d if d.is_zero() => anyhow::bail!("{what} must be more than 0 seconds"),
        d => Ok(d),
    }
}

/// A name for this process in the outbox.
fn origin(kind: &str) -> String {
    format!("{kind}-{}", ulid::Ulid::new())
}

/// The store `data` names: MongoDB when a URI is given (its schema must be current), else the embedded
/// store in the data directory (migrated on open).
async fn open_store(data: &DataArgs) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(uri) = &data.mongodb_uri {
        let store = MongoStore::open(uri).await.context("cannot use MongoDB")?;
        return Ok(Arc::new(store));
    }
    let store = SqliteStore::open(&data.data_dir)
        .with_context(|| format!("cannot open the data directory {}", data.data_dir.display()))?;
    Ok(Arc::new(store))
}

/// Builds the state `serve` runs with.
pub fn build_state(store: Arc<dyn Store>, hub_config: HubConfig, web: WebConfig, limits: QueryLimits) -> AppState {
    let hub = Hub::new(store, Arc::new(LocalBus::default()), hub_config, origin("server"));
    let schema = graphql::schema(hub.clone(), limits);
    AppState { hub, schema, web: Arc::new(web) }
}

/// The rate limits `serve` was given.
fn limit_config(args: &ServeArgs) -> anyhow::Result<LimitConfig> {
    let backoff = positive_secs(args.password_backoff_secs, "--password-backoff-secs")?;
    let backoff_max = positive_secs(args.password_backoff_max_secs, "--password-backoff-max-secs")?;
    if backoff_max < backoff {
        bail!("--password-backoff-max-secs must not be less than --password-backoff-secs");
    }
    let pair = |member, address| PerMinute { member, address };
    Ok(LimitConfig {
        rooms: pair(args.rooms_per_minute, args.address_rooms_per_minute),
        messages: pair(args.messages_per_minute, args.address_messages_per_minute),
        uploads: pair(args.uploads_per_minute, args.address_uploads_per_minute),
        joins: pair(args.joins_per_minute, args.address_joins_per_minute),
        typing: pair(args.typing_per_minute, args.address_typing_per_minute),
        sessions_per_address: args.address_sessions_per_minute,
        sockets_per_address: args.address_websockets as usize,
        passwords: PasswordLimits {
            free_tries: args.password_free_tries,
            backoff,
            backoff_max,
            per_room_per_hour: args.room_password_tries_per_hour,
        },
        max_keys: args.limit_keys as usize,
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // First: a SIGTERM from here on ends in a clean shutdown, however early it comes.
    let signal = shutdown_signal();
    let hub_config = HubConfig {
        grace: secs(args.grace_secs, "--grace-secs")?,
        unused_room_ttl: secs(args.unused_room_secs, "--unused-room-secs")?,
        replay_cap: args.replay_cap.max(1),
        limits: limit_config(&args)?,
        lobby_page: args.lobby_page_size,
        hash_queue: args.password_queue,
        gif_quota: GifQuota::from_flags(args.gif_room_quota_bytes, args.gif_total_quota_bytes),
        ..HubConfig::default()
    };
    let web = WebConfig {
        allowed_origins: args.allowed_origins.clone(),
        secure_cookies: args.secure_cookies,
        session_idle: secs(args.session_days * 86_400.0, "--session-days")?,
        gif_max_bytes: args.gif_max_bytes,
        // Other servers may change sessions in a shared MongoDB: read them there every time.
        session_cache: if args.data.mongodb_uri.is_some() { 0 } else { WebConfig::default().session_cache },
        header_read_timeout: positive_secs(args.header_timeout_secs, "--header-timeout-secs")?,
        body_progress_timeout: positive_secs(args.body_timeout_secs, "--body-timeout-secs")?,
        shutdown_bound: secs(args.shutdown_secs, "--shutdown-secs")?,
        trusted_proxies: args.trusted_proxies.clone(),
        ws: WsConfig {
            ping_after: positive_secs(args.ws_ping_secs, "--ws-ping-secs")?,
            idle_timeout: positive_secs(args.ws_idle_secs, "--ws-idle-secs")?,
            ..WsConfig::default()
        },
        ..WebConfig::default()
    };
    let limits =
        QueryLimits { depth: args.graphql_depth, complexity: args.graphql_complexity, aliases: args.graphql_aliases };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let node = node::this_node(listener.local_addr()?);
    let (store, writer) = open_as_writer(&args.data, node, args.node_lease_secs).await?;
    let state = build_state(store, hub_config, web, limits);
    tracing::info!("{} 번 포트에서 대기중 (http://{})", args.listen.port(), listener.local_addr()?);
    let lost = writer.lost();
    let shutdown = async move {
        tokio::select! { _ = signal => {}, _ = lost.cancelled() => {} }
    };
    let served = http::serve(listener, state, shutdown).await;
    // Released only after serving ended: every write of this process is done by then.
    writer.release().await?;
    served?;
    Ok(())
}

/// Opens the store for `serve` as its only writer (see [`crate::node`]): the data directory is locked
/// before the embedded store opens; a MongoDB database is claimed once it is known to be migrated. A
/// refusal happens before anything reads or changes seats.
async fn open_as_writer(
    data: &DataArgs,
    node: NodeRecord,
    lease: Duration,
) -> anyhow::Result<(Arc<dyn Store>, Writer)> {
    if let Some(uri) = &data.mongodb_uri {
        let store = MongoStore::open(uri).await.context("cannot use MongoDB")?;
        let writer = Writer::claim_database(store.clone(), node, lease).await?;
        return Ok((Arc::new(store), writer));
    }
    let writer = Writer::lock_data_dir(&data.data_dir, &node)?;
    Ok((open_store(data).await?, writer))
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future
/// is first polled: a signal that arrives while `serve` is still starting (resuming seats) must stop it
/// cleanly, releasing its claim on the store, rather than kill it with the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        // A handler that cannot be installed leaves its signal's default action (ending the process).
        let wait = |kind| {
            let handler = signal(kind).ok();
            async move {
                match handler {
                    Some(mut h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
        };
        let (int, term) = (wait(SignalKind::interrupt()), wait(SignalKind::terminate()));
        async move {
            tokio::select! { _ = int => {}, _ = term => {} }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn rooms(data: DataArgs, action: RoomsCommand) -> anyhow::Result<()> {
    let store = open_store(&data).await?;
    let hub = Hub::new(store, Arc::new(LocalBus::default()), HubConfig::default(), origin("cli"));
    match action {
        RoomsCommand::List { json } => {
            let rooms = hub.rooms().await.map_err(user_error)?;
            if json {
                let list: Vec<_> = rooms
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.id.as_str(), "title": r.title, "secret": r.secret, "capacity": r.capacity,
                            "members": r.member_count, "persistent": r.persistent,
                            "ownerColor": r.owner.as_ref().map(|o| Color::of(o.as_str()).to_string()),
                            "createdAt": crate::graphql::rfc3339(r.created_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<26}  {:<7}  {:>8}  {:>7}  {:<7}  {:<20}  TITLE",
                    "ID", "KIND", "CAPACITY", "MEMBERS", "OWNER", "CREATED"
                );
                for r in &rooms {
                    let owner =
                        r.owner.as_ref().map(|o| Color::of(o.as_str()).to_string()).unwrap_or_else(|| "-".into());
                    let kind = if r.secret { "secret" } else { "public" };
                    let created = crate::graphql::rfc3339(r.created_at);
                    println!(
                        "{:<26}  {:<7}  {:>8}  {:>7}  {:<7}  {:<20}  {}",
                        r.id, kind, r.capacity, r.member_count, owner, created, r.title
                    );
                }
            }
        }
        RoomsCommand::Create { title, capacity, password_stdin, persistent } => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let creator = Creator::Operator { persistent };
            let room =
                hub.create_room(creator, &title, Some(capacity), password.as_deref()).await.map_err(user_error)?;
            println!("{}", room.id);
        }
        RoomsCommand::Delete { id } => {
            let room = RoomId::parse(&id).with_context(|| format!("no room has the id {id:?}"))?;
            hub.delete_room_as_operator(&room).await.map_err(|e| match e {
                HubError::NotFound => anyhow::anyhow!("no room has the id {id:?}"),
                other => user_error(other),
            })?;
            println!("deleted {room}");
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("--password-stdin was given but standard input had no password");
    }
    Ok(password)
}

fn user_error(e: HubError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn migrate(data: &DataArgs, from_data_dir: Option<&Path>) -> anyhow::Result<()> {
    match (&data.mongodb_uri, from_data_dir) {
        (Some(uri), from) => migrate_mongo(uri, from).await,
        (None, Some(_)) => bail!("--from-data-dir copies into MongoDB: give --mongodb-uri too"),
        (None, None) => migrate_sqlite(data).await,
    }
}

async fn migrate_sqlite(data: &DataArgs) -> anyhow::Result<()> {
    let before = SqliteStore::applied_version(&data.data_dir).unwrap_or(0);
    open_store(data).await?;
    let after = SqliteStore::applied_version(&data.data_dir)?;
    if after == before {
        println!("schema is up to date (version {after}, this gifchat needs {})", crate::store::SQLITE_SCHEMA_VERSION);
    } else {
        println!("migrated schema from version {before} to {after}");
    }
    Ok(())
}

async fn migrate_mongo(uri: &str, from: Option<&Path>) -> anyhow::Result<()> {
    let store = MongoStore::connect(uri).await.context("cannot use MongoDB")?;
    let before = store.applied_version().await?;
    let applied = store.migrate().await.context("migrating the MongoDB schema failed")?;
    let after = applied.last().copied().unwrap_or(before);
    let db = store.database_name();
    if applied.is_empty() {
        println!("MongoDB database {db}: schema is up to date (version {after})");
    } else {
        println!("MongoDB database {db}: migrated schema from version {before} to {after}");
    }
    let Some(dir) = from else { return Ok(()) };
    // Opening would create an empty store; a mistyped path must be an error instead.
    if !dir.join("gifchat.sqlite3").is_file() {
        bail!("{} holds no embedded store (no gifchat.sqlite3)", dir.display());
    }
    let source = SqliteStore::open(dir).with_context(|| format!("cannot open the data directory {}", dir.display()))?;
    let report = store.import_from(&source).await.context("copying into MongoDB failed")?;
    println!(
        "copied from {}: {} rooms, {} events, {} sessions, {} GIFs",
        dir.display(),
        report.rooms,
        report.events,
        report.sessions,
        report.gifs
    );
    Ok(())
}
