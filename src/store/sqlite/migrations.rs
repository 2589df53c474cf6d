//! Versioned schema migrations for the embedded store. Each step runs in one transaction together with
//! the version bump, so a crash leaves either the old or the new schema, and re-running is a no-op.

use rusqlite::Connection;

use super::db_err;
use crate::store::Result;

/// Migration steps; index + 1 is the version a step brings the schema to. Append only.
const STEPS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE rooms (
        id            TEXT PRIMARY KEY,
        title         TEXT NOT NULL,
        capacity      INTEGER NOT NULL,
        password_hash TEXT,
        owner         TEXT,
        persistent    INTEGER NOT NULL DEFAULT 0,
        entered       INTEGER NOT NULL DEFAULT 0,
        last_seq      INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE members (
        room_id   TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        member_id TEXT NOT NULL,
        joined_at INTEGER NOT NULL,
        present   INTEGER NOT NULL,
        kicked    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (room_id, member_id)
    );
    CREATE INDEX members_present ON members(room_id, present);
    CREATE TABLE events (
        room_id    TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        at         INTEGER NOT NULL,
        member_id  TEXT,
        recipient  TEXT,
        kind       TEXT NOT NULL,
        body       TEXT NOT NULL,
        client_key TEXT,
        PRIMARY KEY (room_id, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX events_client_key ON events(room_id, member_id, client_key) WHERE client_key IS NOT NULL;
    CREATE TABLE sessions (
        id         TEXT PRIMARY KEY,
        data       TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX sessions_expiry ON sessions(expires_at);
    CREATE TABLE gifs (
        name    TEXT PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE
    );
    CREATE INDEX gifs_room ON gifs(room_id);
    CREATE TABLE outbox (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        origin  TEXT NOT NULL,
        kind    TEXT NOT NULL,
        room_id TEXT NOT NULL,
        at      INTEGER NOT NULL
    );
    "#,
    // 2: who may fetch a GIF. A whispered GIF names its pair (both NULL: everyone in the room), so
    // `GET /gif/<name>` can refuse the others; existing GIFs were all public.
    r#"
    ALTER TABLE gifs ADD COLUMN sender TEXT;
    ALTER TABLE gifs ADD COLUMN recipient TEXT;
    "#,
];

/// The schema version this build needs.
pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

/// The version recorded in the database (0 when none).
pub fn current(conn: &Connection) -> Result<i64> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").map_err(db_err)?;
    let v: Option<i64> = conn.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0)).map_err(db_err)?;
    Ok(v.unwrap_or(0))
}

/// Applies every pending step; returns the versions applied (empty when already current).
pub fn apply(conn: &mut Connection) -> Result<Vec<i64>> {
    let mut applied = Vec::new();
    loop {
        // IMMEDIATE takes the write lock up front, so two processes migrating at once serialise.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_err)?;
        let version = current(&tx)?;
        let Some(step) = STEPS.get(version as usize) else { break };
        tx.execute_batch(step).map_err(db_err)?;
        tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [version + 1]).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        applied.push(version + 1);
    }
    Ok(applied)
}
