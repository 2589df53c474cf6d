//! Starting and stopping the servers under test: each on core 0 (`taskset -c 0`), on a free loopback
//! port, with a temporary data directory, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::client::Kind;

/// How long a server may take to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    /// target/release/gifchat (or the one given).
    pub gifchat: PathBuf,
    /// This binary (for `bare-server`).
    pub gifbench: PathBuf,
    /// bench/socketio/server.js.
    pub socketio: PathBuf,
    /// A MongoDB URI for gifchat (MongoDB), when the MongoDB runs are wanted.
    pub mongodb_uri: Option<String>,
}

/// A running server; killed on drop.
pub struct Server {
    /// Which server.
    pub kind: Kind,
    /// Its loopback port.
    pub port: u16,
    /// Its process id (the server itself: taskset execs it).
    pub pid: u32,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now (bound and released; loopback only).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The last lines of a log file, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// gifchat's limits, raised so that the bench measures fan-out and not the rate limits (every simulated
/// client comes from 127.0.0.1, so the per-address limits would pool them all).
const GIFCHAT_LIMITS: &[&str] = &[
    "--messages-per-minute=100000000",
    "--rooms-per-minute=100000000",
    "--uploads-per-minute=100000000",
    "--joins-per-minute=100000000",
    "--typing-per-minute=100000000",
    "--address-messages-per-minute=100000000",
    "--address-rooms-per-minute=100000000",
    "--address-uploads-per-minute=100000000",
    "--address-joins-per-minute=100000000",
    "--address-typing-per-minute=100000000",
    "--address-sessions-per-minute=100000000",
    "--address-websockets=100000000",
    "--limit-keys=100000000",
    // Seats of members who left without `leaveRoom` come free quickly.
    "--grace-secs=1",
    "--unused-room-secs=3600",
    "--replay-cap=500",
    "--graphql-complexity=500",
    "--graphql-depth=10",
];

impl Programs {
    /// Starts `kind` on core 0 and waits until it answers.
    pub async fn start(&self, kind: Kind) -> Result<Server> {
        let dir = tempfile::Builder::new().prefix("gifbench-").tempdir()?;
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg("0");
        match kind {
            Kind::Gifchat | Kind::GifchatMongo => {
                let mut args: Vec<String> = vec!["serve".into(), format!("--listen={listen}")];
                args.push(format!("--data-dir={}", dir.path().join("data").display()));
                args.extend(GIFCHAT_LIMITS.iter().map(|s| s.to_string()));
                if kind == Kind::GifchatMongo {
                    let uri = self.mongodb_uri.as_deref().context("no MongoDB URI")?;
                    let db_uri = with_database(uri, &format!("gifbench_{port}"));
                    let st = Command::new(&self.gifchat)
                        .args(["migrate", &format!("--mongodb-uri={db_uri}")])
                        .stdout(Stdio::null())
                        .status()
                        .context("running gifchat migrate")?;
                    if !st.success() {
                        bail!("gifchat migrate on MongoDB failed");
                    }
                    drop_indexes_nx_cannot_keep(&db_uri).await?;
                    args.push(format!("--mongodb-uri={db_uri}"));
                }
                cmd.arg(&self.gifchat).args(args).env("RUST_LOG", "warn");
            }
            Kind::Bare => {
                cmd.arg(&self.gifbench).args(["bare-server", "--listen", &listen]);
            }
            Kind::SocketIo => {
                cmd.arg("node").arg(&self.socketio).arg(port.to_string());
            }
        }
        let log = dir.path().join("server.log");
        let out = std::fs::File::create(&log)?;
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        let child = cmd.spawn().with_context(|| format!("starting {} (is taskset installed?)", kind.label()))?;
        let pid = child.id();
        let mut server = Server { kind, port, pid, child, _dir: dir };
        let deadline = Instant::now() + START_TIMEOUT;
        let url = format!("http://{listen}/healthz");
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("{} exited at start ({status}):\n{}", kind.label(), tail(&log));
            }
            if let Ok(r) = reqwest::get(&url).await {
                if r.status().is_success() {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!("{} did not answer /healthz within {START_TIMEOUT:?}:\n{}", kind.label(), tail(&log));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }
}

/// `uri` with its database path replaced by `db` (keeps the query string).
fn with_database(uri: &str, db: &str) -> String {
    let (base, query) = match uri.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (uri, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A running nx-27017 (MongoDB wire protocol over SQLite) on core 0; killed on drop.
pub struct Nx {
    /// Its URI.
    pub uri: String,
    child: Child,
    /// Its pid and log files (its defaults in /tmp would clash with any other nx-27017 running).
    _dir: tempfile::TempDir,
}

impl Drop for Nx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `nx` (in-memory) on a free port, pinned with the server to core 0, and waits for its port.
pub async fn start_nx(nx: &Path) -> Result<Nx> {
    let port = free_port()?;
    let dir = tempfile::Builder::new().prefix("gifbench-nx-").tempdir()?;
    let log = dir.path().join("out.log");
    let child = Command::new("taskset")
        .args(["-c", "0"])
        .arg(nx)
        .args(["--data-dir", "memory", "-p", &port.to_string()])
        .arg("--log-file")
        .arg(dir.path().join("nx.log"))
        .arg("--pid-file")
        .arg(dir.path().join("nx.pid"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(dir.path().join("err.log"))?)
        .spawn()
        .with_context(|| format!("starting {}", nx.display()))?;
    let mut nx = Nx { uri: format!("mongodb://127.0.0.1:{port}/gifbench?directConnection=true"), child, _dir: dir };
    let deadline = Instant::now() + START_TIMEOUT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Some(st) = nx.child.try_wait()? {
            bail!("nx-27017 exited at start ({st}):\n{}", tail(&nx._dir.path().join("err.log")));
        }
        if Instant::now() > deadline {
            bail!("nx-27017 did not listen within {START_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(nx)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_replaced_and_the_options_kept() {
        assert_eq!(
            with_database("mongodb://127.0.0.1:1/x?directConnection=true", "b"),
            "mongodb://127.0.0.1:1/b?directConnection=true"
        );
        assert_eq!(with_database("mongodb://h1,h2", "b"), "mongodb://h1,h2/b");
    }
}

/// nx-27017 0.8.1 (the MongoDB-protocol server the bench starts) turns an index whose key names `_id`
/// beside another field into one that fails every later insert ("JSON path error near '_id'"). gifchat's
/// listing indexes are such indexes, written to MongoDB's rules; they only make the lobby's listing fast,
/// so on nx — recognised by `buildInfo.process`, which no MongoDB answers with — the bench drops them
/// after migrating, as the test harness does. Against a real MongoDB nothing is dropped.
async fn drop_indexes_nx_cannot_keep(db_uri: &str) -> Result<()> {
    use futures::TryStreamExt;
    use mongodb::bson::{doc, Document};
    let client = mongodb::Client::with_uri_str(db_uri).await.context("connecting to MongoDB")?;
    let info = client.database("admin").run_command(doc! { "buildInfo": 1 }).await?;
    if info.get_str("process") != Ok("nx_27017") {
        return Ok(());
    }
    let db = client.default_database().context("the MongoDB URI names no database")?;
    for name in db.list_collection_names().await? {
        let collection = db.collection::<Document>(&name);
        let indexes: Vec<mongodb::IndexModel> = collection.list_indexes().await?.try_collect().await?;
        for index in indexes {
            // nx names indexes after their fields (`…__id`), whatever name they were given.
            let Some(index_name) = index.options.and_then(|o| o.name) else { continue };
            if index_name.ends_with("__id") || index_name.contains("__id_") {
                collection.drop_index(index_name).await?;
            }
        }
    }
    Ok(())
}
