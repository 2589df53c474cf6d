//! GIF storage quotas: bytes per room and in all rooms together. The store checks and counts them in the
//! same atomic step as each insert (so racing uploads, on one server or several, never pass a limit
//! together); the hub adds an early refusal, before an upload's body is read, when its declared size
//! cannot fit what is left.

use super::{Hub, HubError};
use crate::domain::{GifName, RoomId, Visibility};
use crate::store::{GifPut, QuotaScope};

impl Hub {
    /// Refuses an upload that needs at least `at_least` bytes when the room's or the total quota has less
    /// left — asked before the body is read. Advisory: the store decides again when the GIF is stored.
    pub async fn check_gif_space(&self, room: &RoomId, at_least: u64) -> Result<(), HubError> {
        let quota = self.config.gif_quota;
        if quota.is_unlimited() {
            return Ok(());
        }
        let usage = self.store.gif_usage(room).await?;
        // Every GIF takes at least a byte: a quota with nothing left refuses even a body of unknown size.
        match quota.exceeded_by(usage, at_least.max(1)) {
            Some(scope) => Err(self.quota_exceeded(scope)),
            None => Ok(()),
        }
    }

    /// Stores a checked GIF within the quotas; a full quota stores nothing and touches nothing stored.
    pub(super) async fn store_gif(
        &self,
        room: &RoomId,
        name: &GifName,
        visibility: &Visibility,
        bytes: Vec<u8>,
    ) -> Result<(), HubError> {
        match self.store.gif_put(room, name, visibility, bytes, self.config.gif_quota).await? {
            GifPut::Stored => Ok(()),
            GifPut::Refused(scope) => {
                tracing::info!(%room, ?scope, "GIF upload refused: quota full");
                Err(self.quota_exceeded(scope))
            }
        }
    }

    fn quota_exceeded(&self, scope: QuotaScope) -> HubError {
        let quota = self.config.gif_quota;
        let limit = match scope {
            QuotaScope::Room => quota.room,
            QuotaScope::Total => quota.total,
        };
        HubError::QuotaExceeded { scope, limit: limit.unwrap_or(0) }
    }
}
