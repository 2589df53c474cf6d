//! The embedded store's one-writer rule: an exclusive OS advisory lock on `gifchat.lock` in the data
//! directory, held for the life of `serve`.
//!
//! `flock`-style locks belong to the open file and die with the process however it ends (kill -9
//! included), so a stale file never blocks a restart: only a live holder does. The file's contents only
//! tell a refused start who holds it. It is never removed: deleting it while held would let a second
//! server lock a new file of the same name. The CLI's `rooms` and `migrate` do not take it (their writes
//! are atomic steps made to run beside a server).
//!
//! Advisory locks on network file systems are only as good as the file system's support for them; the
//! data directory belongs on a local disk anyway (SQLite's own locking needs it too).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::WriterError;
use crate::store::NodeRecord;

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "gifchat.lock";

/// An exclusive hold on a data directory; dropping it (or the process ending) lets it go.
#[derive(Debug)]
pub struct DataDirLock {
    /// The open, locked file: the lock lives exactly as long as this handle.
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Locks `dir` for `node` (creating the directory and the file if needed), or says who holds it.
    /// Touches nothing else in the directory.
    pub fn acquire(dir: &Path, node: &NodeRecord) -> Result<Self, WriterError> {
        let failed = |source| WriterError::DataDirLock { dir: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(failed)?;
        let path = dir.join(LOCK_FILE);
        // Never truncate on open: until the lock is ours, the contents are the holder's.
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(failed)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = match file.read_to_string(&mut text) {
                    Ok(_) => describe_holder(&text),
                    Err(_) => None,
                };
                return Err(WriterError::DataDirInUse {
                    dir: dir.to_path_buf(),
                    holder: holder.unwrap_or_else(|| "its pid and address unknown".to_owned()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(failed(e)),
        }
        // Ours now: say who we are, for the next refused start.
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(holder_text(node).as_bytes())?;
            file.flush()
        };
        write(&mut file).map_err(failed)?;
        Ok(Self { _file: file, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What the lock file says about its holder: one `key=value` per line.
fn holder_text(node: &NodeRecord) -> String {
    format!(
        "pid={}\nhost={}\nlisten={}\nnode={}\nstarted_at={}\n",
        node.pid, node.host, node.listen, node.id, node.started_at
    )
}

/// "pid 12 on host h, listening on …" from a lock file's text; `None` when it names no pid (a holder
/// that has not written it yet, or a file from elsewhere).
fn describe_holder(text: &str) -> Option<String> {
    let field = |key: &str| {
        text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('=')).map(str::trim).filter(|v| !v.is_empty())
    };
    // Only digits for the pid: the text is printed, and the file is writable by whoever owns the directory.
    let pid = field("pid").filter(|p| p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))?;
    let printable = |v: &str| v.chars().filter(|c| !c.is_control()).take(100).collect::<String>();
    let mut out = format!("pid {pid}");
    if let Some(host) = field("host") {
        out.push_str(&format!(" on host {}", printable(host)));
    }
    if let Some(listen) = field("listen") {
        out.push_str(&format!(", listening on {}", printable(listen)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeRecord {
        NodeRecord {
            id: "01J0000000000000000000000".into(),
            host: "box".into(),
            pid: 4321,
            listen: "127.0.0.1:8005".into(),
            started_at: 1,
        }
    }

    #[test]
    fn a_holder_is_described_by_what_it_wrote() {
        assert_eq!(
            describe_holder(&holder_text(&node())).as_deref(),
            Some("pid 4321 on host box, listening on 127.0.0.1:8005")
        );
    }

    #[test]
    fn a_file_without_a_numeric_pid_describes_nobody() {
        for text in ["", "garbage", "pid=\n", "pid=12; rm -rf /\nlisten=x\n", "pid=99999999999999\n"] {
            assert_eq!(describe_holder(text), None, "{text:?}");
        }
    }

    #[test]
    fn control_characters_in_the_file_are_not_printed() {
        let described = describe_holder("pid=7\nhost=a\u{1b}[2Jb\nlisten=c\u{7}d\n").unwrap();
        assert_eq!(described, "pid 7 on host a[2Jb, listening on cd");
    }

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), &node()).unwrap();
        match DataDirLock::acquire(dir.path(), &node()) {
            Err(WriterError::DataDirInUse { holder, .. }) => assert!(holder.starts_with("pid 4321"), "{holder}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        drop(first);
        DataDirLock::acquire(dir.path(), &node()).expect("free again once dropped");
    }
}
