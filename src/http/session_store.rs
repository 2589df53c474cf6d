//! tower-sessions over our own [`Store`]: the adapter, with an optional in-memory cache in front.

use std::sync::Arc;

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::store::{SessionRow, Store};

/// Adapts the store's session methods to tower-sessions, optionally with an in-memory cache in front.
///
/// Without the cache every request reads its session from the store (a blocking-pool hop, a query and a
/// JSON decode) although a session changes only when it is minted, gives a room's password, or slides
/// its expiry (a few times per idle period).
/// The cache is correct only where this process is the only writer of sessions (the embedded store); with
/// MongoDB several servers share them, so the caller leaves it off.
#[derive(Clone)]
pub struct StoreSessions {
    store: Arc<dyn Store>,
    cache: Option<Arc<SessionCache>>,
}

/// Recently loaded sessions. A write never puts its own record in (two writers of one session could
/// leave the older one cached); it invalidates, and the next load reads the store again.
struct SessionCache {
    records: moka::sync::Cache<Id, Record>,
    /// Bumped, under this lock, by every write after it reached the store; a load that started before a
    /// bump does not cache what it read, since it may be the record that write replaced.
    writes: std::sync::Mutex<u64>,
}

impl SessionCache {
    fn generation(&self) -> u64 {
        *self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Caches `record` read by a load that started at `generation`, unless a write finished since.
    fn fill(&self, generation: u64, record: &Record) {
        let writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if *writes == generation {
            self.records.insert(record.id, record.clone());
        }
    }

    /// Called after a write of `id` reached the store.
    fn written(&self, id: &Id) {
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        *writes += 1;
        self.records.invalidate(id);
    }
}

impl StoreSessions {
    /// Sessions in `store`, with a cache of up to `cache_capacity` records (0: no cache).
    pub fn new(store: Arc<dyn Store>, cache_capacity: u64) -> Self {
        let cache = (cache_capacity > 0).then(|| {
            Arc::new(SessionCache {
                // Idle sessions leave the cache after a while so it holds the active ones.
                records: moka::sync::Cache::builder()
                    .max_capacity(cache_capacity)
                    .time_to_idle(std::time::Duration::from_secs(600))
                    .build(),
                writes: std::sync::Mutex::new(0),
            })
        });
        Self { store, cache }
    }
}

impl std::fmt::Debug for StoreSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreSessions")
    }
}

fn row_of(record: &Record) -> session_store::Result<SessionRow> {
    let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let expires_at = (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64;
    Ok(SessionRow { data, expires_at })
}

impl StoreSessions {
    /// Drops the cached copy of `id` after a write of it.
    fn written(&self, id: &Id) {
        if let Some(cache) = &self.cache {
            cache.written(id);
        }
    }
}

fn backend(e: crate::store::StoreError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for StoreSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // 128-bit random ids collide essentially never, but the contract asks us to handle it.
        loop {
            if self.store.session_create(&record.id.to_string(), &row_of(record)?).await.map_err(backend)? {
                self.written(&record.id);
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let saved = self.store.session_save(&record.id.to_string(), &row_of(record)?).await.map_err(backend);
        // Invalidate even after a failure: the write may have reached the store before the error.
        self.written(&record.id);
        saved
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = time::OffsetDateTime::now_utc();
        if let Some(cache) = &self.cache {
            if let Some(record) = cache.records.get(id) {
                if record.expiry_date > now {
                    return Ok(Some(record));
                }
                // Expired: the store filters it out too (and purges it later).
                cache.records.invalidate(id);
                return Ok(None);
            }
        }
        let generation = self.cache.as_ref().map(|c| c.generation());
        let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        let Some(row) = self.store.session_load(&id.to_string(), now_ms).await.map_err(backend)? else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp_nanos(row.expires_at as i128 * 1_000_000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let record = Record { id: *id, data, expiry_date };
        if let (Some(cache), Some(generation)) = (&self.cache, generation) {
            cache.fill(generation, &record);
        }
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let deleted = self.store.session_delete(&id.to_string()).await.map_err(backend);
        self.written(id);
        deleted
    }
}
