//! Versioned schema migrations for the embedded store. Each step runs in one transaction together with
//! the version bump, so a crash leaves either the old or the new schema, and re-running is a no-op.

use rusqlite::Connection;

use super::db_err;
use crate::store::Result;

/// One migration step: SQL, then (optionally) Rust for what SQL cannot compute, in the same transaction.
struct Step {
    sql: &'static str,
    then: Option<fn(&Connection) -> rusqlite::Result<()>>,
}

/// Migration steps; index + 1 is the version a step brings the schema to. Append only.
const STEPS: &[Step] = &[
    // 1: the initial schema.
    Step { sql: INITIAL, then: None },
    // 2: the lobby's listing order and title filter.
    Step { sql: LISTING, then: Some(fold_titles) },
    // 3: who may fetch a GIF.
    Step { sql: GIF_PAIRS, then: None },
    // 4: GIF sizes and the usage counters the quotas check.
    Step { sql: GIF_USAGE, then: Some(count_gif_bytes) },
];

/// Version 1.
const INITIAL: &str = r#"
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
    "#;

/// Version 2: what the lobby sorts and filters on. `present_count` is kept by triggers in the same
/// transaction as every seat change (so it always equals the count of present member rows);
/// `last_activity` is set by `append_event` for messages, whispers and GIFs; `title_folded` is written
/// with the title (Rust's Unicode lowercase, see `store::fold`). Two partial indexes serve the two parts
/// of the listing order without sorting.
const LISTING: &str = r#"
    ALTER TABLE rooms ADD COLUMN present_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN last_activity INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN title_folded TEXT NOT NULL DEFAULT '';
    UPDATE rooms SET
        present_count = (SELECT count(*) FROM members m WHERE m.room_id = rooms.id AND m.present = 1),
        last_activity = coalesce(
            (SELECT max(e.at) FROM events e WHERE e.room_id = rooms.id AND e.kind IN ('message', 'whisper', 'gif')),
            created_at);
    CREATE TRIGGER seat_taken AFTER INSERT ON members WHEN NEW.present = 1 BEGIN
        UPDATE rooms SET present_count = present_count + 1 WHERE id = NEW.room_id;
    END;
    CREATE TRIGGER seat_changed AFTER UPDATE OF present ON members WHEN NEW.present <> OLD.present BEGIN
        UPDATE rooms SET present_count = present_count + (CASE WHEN NEW.present = 1 THEN 1 ELSE -1 END)
        WHERE id = NEW.room_id;
    END;
    CREATE TRIGGER seat_dropped AFTER DELETE ON members WHEN OLD.present = 1 BEGIN
        UPDATE rooms SET present_count = present_count - 1 WHERE id = OLD.room_id;
    END;
    CREATE INDEX rooms_active ON rooms(last_activity DESC, id DESC) WHERE present_count > 0;
    CREATE INDEX rooms_idle ON rooms(id DESC) WHERE present_count = 0;
    CREATE INDEX members_kicked ON members(member_id) WHERE kicked = 1;
    "#;

/// Version 3: who may fetch a GIF. A whispered GIF names its pair (both NULL: everyone in the room), so
/// `GET /gif/<name>` can refuse the others; existing GIFs were all public.
const GIF_PAIRS: &str = r#"
    ALTER TABLE gifs ADD COLUMN sender TEXT;
    ALTER TABLE gifs ADD COLUMN recipient TEXT;
    "#;

/// Version 4: what GIFs take, for the storage quotas. Each GIF row records its size; `rooms.gif_bytes`
/// and the one row of `gif_usage` are running sums kept by triggers in the same transaction as every
/// insert and delete of a GIF row — including the cascade when a room is deleted — so a quota check
/// reads two rows instead of summing every GIF. Sizes of existing GIFs are read from their files.
const GIF_USAGE: &str = r#"
    ALTER TABLE gifs ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rooms ADD COLUMN gif_bytes INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE gif_usage (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        bytes INTEGER NOT NULL
    );
    INSERT INTO gif_usage (id, bytes) VALUES (1, 0);
    CREATE TRIGGER gif_stored AFTER INSERT ON gifs BEGIN
        UPDATE rooms SET gif_bytes = gif_bytes + NEW.size WHERE id = NEW.room_id;
        UPDATE gif_usage SET bytes = bytes + NEW.size WHERE id = 1;
    END;
    CREATE TRIGGER gif_dropped AFTER DELETE ON gifs BEGIN
        UPDATE rooms SET gif_bytes = gif_bytes - OLD.size WHERE id = OLD.room_id;
        UPDATE gif_usage SET bytes = bytes - OLD.size WHERE id = 1;
    END;
    "#;

/// Fills the sizes of GIFs stored before version 4 from their files (beside the database, in `gifs/`),
/// then the counters from the sizes. A row whose file is missing takes no space.
fn count_gif_bytes(conn: &Connection) -> rusqlite::Result<()> {
    let gif_dir =
        conn.path().filter(|p| !p.is_empty()).and_then(|p| std::path::Path::new(p).parent()).map(|d| d.join("gifs"));
    if let Some(dir) = gif_dir {
        let names: Vec<String> = {
            let mut stmt = conn.prepare("SELECT name FROM gifs")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for name in names {
            let size = std::fs::metadata(dir.join(format!("{name}.gif"))).map(|m| m.len()).unwrap_or(0);
            conn.execute("UPDATE gifs SET size = ?2 WHERE name = ?1", rusqlite::params![name, size as i64])?;
        }
    }
    conn.execute_batch(
        "UPDATE rooms SET gif_bytes = (SELECT coalesce(sum(g.size), 0) FROM gifs g WHERE g.room_id = rooms.id);
         UPDATE gif_usage SET bytes = (SELECT coalesce(sum(size), 0) FROM gifs) WHERE id = 1;",
    )
}

/// Fills `title_folded` for rooms made before version 2.
fn fold_titles(conn: &Connection) -> rusqlite::Result<()> {
    let rooms: Vec<(String, String)> = {
        let mut stmt = conn.prepare("SELECT id, title FROM rooms")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, title) in rooms {
        conn.execute("UPDATE rooms SET title_folded = ?2 WHERE id = ?1", [id, crate::store::fold(&title)])?;
    }
    Ok(())
}

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
        tx.execute_batch(step.sql).map_err(db_err)?;
        if let Some(then) = step.then {
            then(&tx).map_err(db_err)?;
        }
        tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [version + 1]).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        applied.push(version + 1);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing_of(conn: &Connection, id: &str) -> (i64, i64, String) {
        conn.query_row("SELECT present_count, last_activity, title_folded FROM rooms WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
    }

    #[test]
    fn version_two_fills_the_listing_columns_of_rooms_made_before_it_and_triggers_keep_the_count() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(INITIAL).unwrap();
        current(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO schema_version (version) VALUES (1);
             INSERT INTO rooms (id, title, capacity, created_at) VALUES ('r1', 'Café ÉCOLE', 10, 100);
             INSERT INTO rooms (id, title, capacity, created_at) VALUES ('r2', '빈 방', 10, 200);
             INSERT INTO members (room_id, member_id, joined_at, present) VALUES ('r1', 'a', 1, 1), ('r1', 'b', 1, 1),
                                                                                ('r1', 'c', 1, 0);
             INSERT INTO events (room_id, seq, at, kind, body) VALUES ('r1', 1, 500, 'message', '{}'),
                                                                      ('r1', 2, 900, 'joined', '{}');",
        )
        .unwrap();
        assert_eq!(apply(&mut conn).unwrap(), vec![2, 3, 4]);
        // Counted seats, the newest chat (not the later notice), the folded title; no chat: creation time.
        assert_eq!(listing_of(&conn, "r1"), (2, 500, "café école".to_owned()));
        assert_eq!(listing_of(&conn, "r2"), (0, 200, "빈 방".to_owned()));
        // The triggers follow every seat change from now on.
        conn.execute("UPDATE members SET present = 0 WHERE member_id = 'a'", []).unwrap();
        conn.execute("UPDATE members SET present = 0 WHERE member_id = 'a'", []).unwrap();
        assert_eq!(listing_of(&conn, "r1").0, 1, "leaving counts once");
        conn.execute("INSERT INTO members (room_id, member_id, joined_at, present) VALUES ('r2', 'd', 2, 1)", [])
            .unwrap();
        conn.execute(
            "INSERT INTO members (room_id, member_id, joined_at, present) VALUES ('r1', 'c', 3, 1)
             ON CONFLICT (room_id, member_id) DO UPDATE SET present = 1",
            [],
        )
        .unwrap();
        assert_eq!((listing_of(&conn, "r1").0, listing_of(&conn, "r2").0), (2, 1));
        conn.execute("DELETE FROM members WHERE member_id = 'd'", []).unwrap();
        assert_eq!(listing_of(&conn, "r2").0, 0);
        assert!(apply(&mut conn).unwrap().is_empty(), "a second run changes nothing");
    }

    #[test]
    fn version_four_counts_the_gifs_already_stored_from_their_files_and_triggers_keep_the_counts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("gifs")).unwrap();
        let mut conn = Connection::open(dir.path().join("gifchat.sqlite3")).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for step in &STEPS[..3] {
            conn.execute_batch(step.sql).unwrap();
        }
        current(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO schema_version (version) VALUES (3);
             INSERT INTO rooms (id, title, capacity, created_at) VALUES ('r1', 'a', 10, 1), ('r2', 'b', 10, 1);
             INSERT INTO gifs (name, room_id) VALUES ('g1', 'r1'), ('g2', 'r1'), ('g3', 'r2'), ('lost', 'r2');",
        )
        .unwrap();
        for (name, len) in [("g1", 100), ("g2", 20), ("g3", 7)] {
            std::fs::write(dir.path().join("gifs").join(format!("{name}.gif")), vec![0u8; len]).unwrap();
        }
        assert_eq!(apply(&mut conn).unwrap(), vec![4]);
        let room_bytes = |conn: &Connection, id: &str| -> i64 {
            conn.query_row("SELECT gif_bytes FROM rooms WHERE id = ?1", [id], |r| r.get(0)).unwrap()
        };
        let total =
            |conn: &Connection| -> i64 { conn.query_row("SELECT bytes FROM gif_usage", [], |r| r.get(0)).unwrap() };
        // Sizes from the files; a row whose file is gone takes nothing.
        assert_eq!((room_bytes(&conn, "r1"), room_bytes(&conn, "r2"), total(&conn)), (120, 7, 127));
        // From now on the triggers follow inserts, deletes and a room's cascade.
        conn.execute("INSERT INTO gifs (name, room_id, size) VALUES ('g4', 'r2', 50)", []).unwrap();
        assert_eq!((room_bytes(&conn, "r2"), total(&conn)), (57, 177));
        conn.execute("DELETE FROM rooms WHERE id = 'r1'", []).unwrap();
        assert_eq!(total(&conn), 57, "a deleted room's GIFs leave the total");
        conn.execute("DELETE FROM gifs WHERE name = 'g3'", []).unwrap();
        assert_eq!((room_bytes(&conn, "r2"), total(&conn)), (50, 50));
        assert!(apply(&mut conn).unwrap().is_empty(), "a second run changes nothing");
    }
}
