//! One writer per store while nodes have no bus between them. A `serve` process believes it alone holds
//! the seats in its store: at start it gives every stored seat a grace period and releases those nobody
//! comes back to. A second server on the same store would release the first one's live members. So
//! before `serve` touches the store, it makes sure no other server uses it, and keeps it so while it runs:
//!
//! - the embedded store: an OS lock on the data directory ([`DataDirLock`]), which dies with the process;
//! - MongoDB: the `writer` claim, a lease on the server's clock renewed every third of its length by a
//!   heartbeat task, beside the node's registration in `nodes` (see `store::mongo::nodes`). A node killed
//!   without releasing it blocks other starts until its lease runs out; a node that finds its lapsed
//!   claim taken by another (it was frozen, or cut off from the database, for longer than the lease)
//!   stops serving rather than write beside the new holder. It may have written for up to one renewal
//!   period after losing the claim: nothing fences its writes.
//!
//! The CLI's `rooms` and `migrate` take neither: their writes are atomic steps made to run beside a
//! server. Several nodes on one database will need the event bus (issue 10's `--redis-url`); until it
//! exists, a second node is always refused.

mod lock;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::store::{MongoStore, NodeRecord, StoreError, WriterClaim};

pub use lock::{DataDirLock, LOCK_FILE};

/// The shortest lease allowed: renewals every third of it must fit between a slow store's answers.
const SHORTEST_LEASE_SECS: f64 = 1.0;

/// The longest lease allowed: a crashed node blocks restarts this long.
const LONGEST_LEASE_SECS: f64 = 3600.0;

/// How long registrations of nodes that ended without deregistering stay visible (for operators).
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// How long a clean shutdown waits for the database to take the release; past it the lease just runs out.
const RELEASE_BOUND: Duration = Duration::from_secs(3);

/// Why this process may not (or may no longer) write to its store.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// Another live server holds the data directory.
    #[error(
        "another gifchat serve ({holder}) is using the data directory {}; stop it first, or give this server \
         another --data-dir (`gifchat rooms …` and `gifchat migrate` work beside a running server)",
        dir.display()
    )]
    DataDirInUse {
        /// The data directory.
        dir: PathBuf,
        /// Who holds it, as far as its lock file says.
        holder: String,
    },
    /// The lock itself could not be taken (permissions, a missing disk).
    #[error("cannot lock the data directory {}: {source}", dir.display())]
    DataDirLock {
        /// The data directory.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Another live node holds the MongoDB database.
    #[error(
        "another gifchat serve ({holder}) is using the MongoDB database {database}; its lease runs out in {} s \
         unless it renews it. Several servers on one database need the event bus between them (--redis-url, \
         not available yet): stop that server, or if it was killed, start this one after its lease ran out",
        expires_in.as_secs_f64().ceil()
    )]
    DatabaseInUse {
        /// The database's name.
        database: String,
        /// Who holds it.
        holder: Box<NodeRecord>,
        /// Until its lease runs out, unless renewed.
        expires_in: Duration,
    },
    /// This node's lease lapsed and another node took the database; this one stopped serving.
    #[error(
        "stopped serving: this server's lease on the MongoDB database {database} ran out (frozen or cut off \
         from the database for longer than --node-lease-secs) and another gifchat serve ({holder}) took it over"
    )]
    Lost {
        /// The database's name.
        database: String,
        /// Who took over.
        holder: Box<NodeRecord>,
    },
    /// The store failed while claiming.
    #[error("cannot claim the MongoDB database: {0}")]
    Store(#[from] StoreError),
}

/// Parses `--node-lease-secs`: a number of seconds from 1 to 3600.
pub fn parse_lease_secs(s: &str) -> Result<Duration, String> {
    let range = format!("a number of seconds from {SHORTEST_LEASE_SECS} to {LONGEST_LEASE_SECS}");
    match s.trim().parse::<f64>() {
        Ok(secs) if (SHORTEST_LEASE_SECS..=LONGEST_LEASE_SECS).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("must be {range}")),
    }
}

/// This process as a node: a fresh id, the host name, the pid and where it listens.
pub fn this_node(listen: SocketAddr) -> NodeRecord {
    NodeRecord {
        id: ulid::Ulid::new().to_string(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        pid: std::process::id(),
        listen: listen.to_string(),
        started_at: crate::domain::now_millis(),
    }
}

/// What keeps this process its store's only writer while it serves.
#[derive(Debug)]
pub enum Writer {
    /// The embedded store's data directory, locked.
    DataDir(DataDirLock),
    /// A MongoDB database, claimed and renewed by a heartbeat.
    Database(Heartbeat),
}

/// The renewal task of a MongoDB claim.
#[derive(Debug)]
pub struct Heartbeat {
    store: MongoStore,
    node: NodeRecord,
    /// Stops the task (clean shutdown).
    stop: CancellationToken,
    /// Cancelled by the task when another node took the claim over.
    lost: CancellationToken,
    /// Ends with who took over, if someone did.
    task: JoinHandle<Option<NodeRecord>>,
}

impl Writer {
    /// Locks the data directory `dir` for `node`; call before opening the embedded store.
    pub fn lock_data_dir(dir: &Path, node: &NodeRecord) -> Result<Writer, WriterError> {
        let lock = DataDirLock::acquire(dir, node)?;
        tracing::info!(lock = %lock.path().display(), "holding the data directory as its only server");
        Ok(Writer::DataDir(lock))
    }

    /// Claims `store`'s database for `node` for `lease`, registers the node, and renews both every third of
    /// the lease until [`release`](Self::release).
    pub async fn claim_database(store: MongoStore, node: NodeRecord, lease: Duration) -> Result<Writer, WriterError> {
        let expires_at = match store.claim_writer(&node, lease).await? {
            WriterClaim::Held { expires_at } => expires_at,
            WriterClaim::Taken { holder, expires_in } => {
                let database = store.database_name().to_owned();
                return Err(WriterError::DatabaseInUse { database, holder: Box::new(holder), expires_in });
            }
        };
        store.register_node(&node, expires_at).await?;
        let forget_before = expires_at.saturating_sub(lease_millis(lease + FORGET_AFTER));
        match store.forget_nodes(forget_before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "forgot registrations of nodes gone for over an hour"),
            Err(e) => tracing::warn!(error = %e, "could not forget old node registrations"),
        }
        tracing::info!(node = %node.id, lease = ?lease, "holding the MongoDB database as its only server");
        let (stop, lost) = (CancellationToken::new(), CancellationToken::new());
        let task = tokio::spawn(renew(store.clone(), node.clone(), lease, stop.clone(), lost.clone()));
        Ok(Writer::Database(Heartbeat { store, node, stop, lost, task }))
    }

    /// Cancelled when this process stops being the only writer (another node took its lapsed MongoDB
    /// claim); never for a data directory, whose lock cannot lapse.
    pub fn lost(&self) -> CancellationToken {
        match self {
            Writer::DataDir(_) => CancellationToken::new(),
            Writer::Database(h) => h.lost.clone(),
        }
    }

    /// Lets the store go once serving has ended: stops renewing and removes this node's claim and
    /// registration (bounded: if the database does not answer, the lease simply runs out), or unlocks the
    /// directory. Fails with [`WriterError::Lost`] when another node had taken over.
    pub async fn release(self) -> Result<(), WriterError> {
        let Writer::Database(h) = self else { return Ok(()) };
        h.stop.cancel();
        let taken_over = h.task.await.unwrap_or(None);
        if let Some(holder) = taken_over {
            // The claim is the new holder's now; only the registration is ours to remove.
            let _ = tokio::time::timeout(RELEASE_BOUND, h.store.deregister_node(&h.node.id)).await;
            return Err(WriterError::Lost { database: h.store.database_name().to_owned(), holder: Box::new(holder) });
        }
        let release = async {
            h.store.release_writer(&h.node.id).await?;
            h.store.deregister_node(&h.node.id).await
        };
        match tokio::time::timeout(RELEASE_BOUND, release).await {
            Ok(Ok(())) => tracing::info!("released the MongoDB database"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not release the MongoDB database; its lease will run out"),
            Err(_) => tracing::warn!("the MongoDB database did not take the release in time; its lease will run out"),
        }
        Ok(())
    }
}

/// Renews the claim and the registration every third of `lease` until `stop`; returns (and cancels
/// `lost`) with the new holder when another node has taken the claim.
async fn renew(
    store: MongoStore,
    node: NodeRecord,
    lease: Duration,
    stop: CancellationToken,
    lost: CancellationToken,
) -> Option<NodeRecord> {
    let mut ticker = tokio::time::interval(lease / 3);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate; the claim was just taken
    loop {
        tokio::select! {
            _ = stop.cancelled() => return None,
            _ = ticker.tick() => {}
        }
        // A renewal still waiting for the database when shutdown starts is abandoned: the release follows.
        let renewed = async {
            let claimed = store.claim_writer(&node, lease).await?;
            if let WriterClaim::Held { expires_at } = claimed {
                if let Err(e) = store.register_node(&node, expires_at).await {
                    tracing::warn!(error = %e, "could not renew this node's registration");
                }
            }
            Ok::<_, StoreError>(claimed)
        };
        let renewed = tokio::select! {
            _ = stop.cancelled() => return None,
            renewed = renewed => renewed,
        };
        match renewed {
            Ok(WriterClaim::Held { .. }) => {}
            Ok(WriterClaim::Taken { holder, .. }) => {
                tracing::error!(holder = %holder, "another server took over the MongoDB database; stopping");
                lost.cancel();
                return Some(holder);
            }
            // Unreachable for now: keep serving what can be served and try again next tick. Nobody else
            // can take the claim before the lease runs out, and after that the next renewal finds out.
            Err(e) => tracing::warn!(error = %e, "could not renew the lease on the MongoDB database"),
        }
    }
}

fn lease_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_a_number_of_seconds_from_one_to_an_hour() {
        assert_eq!(parse_lease_secs("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_lease_secs("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_lease_secs("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_lease_secs("3600"), Ok(Duration::from_secs(3600)));
        for bad in ["0", "0.99", "-1", "3600.5", "1e30", "NaN", "inf", "-inf", "", "15s", "ten"] {
            let err = parse_lease_secs(bad).unwrap_err();
            assert!(err.contains("from 1 to 3600"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_refusal_on_a_database_names_the_holder_the_wait_and_the_bus() {
        let holder =
            NodeRecord { id: "N1".into(), host: "box".into(), pid: 77, listen: "10.0.0.1:8005".into(), started_at: 0 };
        let text = WriterError::DatabaseInUse {
            database: "chat".into(),
            holder: Box::new(holder),
            expires_in: Duration::from_millis(11_200),
        }
        .to_string();
        for part in
            ["pid 77 on host box, listening on 10.0.0.1:8005", "database chat", "runs out in 12 s", "--redis-url"]
        {
            assert!(text.contains(part), "{part:?} in {text}");
        }
    }
}
