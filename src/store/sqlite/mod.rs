//! The embedded store: one SQLite file in WAL mode under the data directory, GIF bytes as files beside it.
//!
//! One writer connection behind a mutex (SQLite allows one writer anyway, and serialising here makes
//! every read-modify-write — capacity, `seq` — atomic without retry loops) and a pool of reader
//! connections, which WAL lets run beside the writer. Room events go through a group-committing writer
//! thread ([`appender`]); every other call runs on the blocking pool, never on async workers.

mod appender;
mod export;
mod migrations;
mod ops;

pub use export::{StoredEvent, StoredMember, StoredRoom};
pub use migrations::SCHEMA_VERSION;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::{Result, StoreError};

/// How many idle reader connections to keep; reads are short, two cores. More are opened when all are
/// busy (a read never waits behind the writer), and the extra ones are closed when handed back.
const READERS: usize = 4;

/// SQLite-backed [`Store`](super::Store).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Shared with the appender thread, which takes it for each batch.
    writer: Arc<Mutex<Connection>>,
    /// Idle reader connections.
    readers: Mutex<Vec<Connection>>,
    /// The group-commit queue for room events.
    appender: appender::Appender,
    /// The database file, for opening extra readers.
    path: PathBuf,
    /// A dedicated connection for `PRAGMA data_version`, which only changes for commits by *other* connections.
    watcher: Mutex<(Connection, i64)>,
    gif_dir: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("gif_dir", &self.inner.gif_dir).finish()
    }
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // WAL: readers never block the writer; NORMAL sync is durable across process crashes in WAL mode.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The CLI and the server may write at the same moment: wait rather than fail.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

pub(crate) fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir` and applies pending migrations.
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let gif_dir = data_dir.join("gifs");
        std::fs::create_dir_all(&gif_dir)?;
        let path = data_dir.join("gifchat.sqlite3");
        let mut writer = open_conn(&path).map_err(db_err)?;
        migrations::apply(&mut writer)?;
        let readers = (0..READERS).map(|_| open_conn(&path)).collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?;
        let watcher = open_conn(&path).map_err(db_err)?;
        let version = data_version(&watcher).map_err(db_err)?;
        let writer = Arc::new(Mutex::new(writer));
        let appender = appender::Appender::start(writer.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer,
                readers: Mutex::new(readers),
                appender,
                path,
                watcher: Mutex::new((watcher, version)),
                gif_dir,
            }),
        })
    }

    /// The schema version recorded in the store at `data_dir` (0 for a new one), without changing it.
    pub fn applied_version(data_dir: &Path) -> Result<i64> {
        let conn = open_conn(&data_dir.join("gifchat.sqlite3")).map_err(db_err)?;
        migrations::current(&conn)
    }

    /// The most room events one transaction has committed together (group commit at work).
    pub fn largest_append_batch(&self) -> usize {
        self.inner.appender.largest_batch()
    }

    /// Runs `f` on the writer connection on the blocking pool.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // A poisoned lock only means another call panicked mid-way; SQLite rolled its transaction back.
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(db_err)?
    }

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let taken = inner.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            // All readers busy: open another rather than read on the writer connection, which would wait
            // behind a whole batch of appends (and hold up the next one).
            let conn = match taken {
                Some(conn) => conn,
                None => open_conn(&inner.path).map_err(db_err)?,
            };
            let out = f(&conn);
            let mut idle = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < READERS {
                idle.push(conn);
            }
            out
        })
        .await
        .map_err(db_err)?
    }

    fn gif_path(&self, name: &crate::domain::GifName) -> PathBuf {
        self.inner.gif_dir.join(format!("{}.gif", name.as_str()))
    }
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
}
