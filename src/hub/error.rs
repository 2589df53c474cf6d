//! The hub's error type: one enum for every refusal a client can see, mapped once at each edge
//! (GraphQL `extensions.code`, HTTP status, CLI exit).

use std::time::Duration;

use crate::domain::InputError;
use crate::gifcheck::GifError;
use crate::store::{QuotaScope, StoreError};

/// Why the hub refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// No such room (also for malformed ids: they cannot name a room).
    #[error("존재하지 않는 방입니다.")]
    NotFound,
    /// The room's password did not match.
    #[error("비밀번호가 틀렸습니다.")]
    WrongPassword,
    /// No free place.
    #[error("허용 인원이 초과하였습니다.")]
    RoomFull,
    /// Not allowed: not a member, not the owner, kicked, or no access to a secret room.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The owner kicked this member from the room; they cannot enter it again while it exists.
    #[error("you were removed from this room")]
    Removed,
    /// Bad input; the text says what and is safe to show, `reason` names it for clients that explain
    /// refusals in their own words (the room page maps it to a sentence in its language).
    #[error("{message}")]
    Invalid {
        /// A stable name of what was wrong (`TOO_LONG`, `NOT_A_GIF`, `NOT_PRESENT`, …).
        reason: &'static str,
        /// English detail for API users and logs.
        message: String,
    },
    /// GIF storage is full — the room's quota or the quota of all rooms together — so this upload was not
    /// stored; nothing stored before was touched. Not bad input (the same GIF may fit elsewhere or later)
    /// and not a rate: space comes back only when GIFs are deleted with their rooms.
    #[error("{}", quota_message(*.scope, *.limit))]
    QuotaExceeded {
        /// Which quota is full.
        scope: QuotaScope,
        /// Its size in bytes.
        limit: u64,
    },
    /// Too many requests of this kind (from this member or this client address), or no capacity free
    /// right now; try again after the wait it carries.
    #[error("too many requests, slow down")]
    RateLimited(Duration),
    /// Something broke inside; details are logged, never sent.
    #[error("internal error")]
    Internal(#[source] StoreError),
}

impl HubError {
    /// Bad input named by `reason` (one of the `INVALID_INPUT` reasons listed on [`HubError::reason`]).
    pub fn invalid(reason: &'static str, message: impl Into<String>) -> Self {
        HubError::Invalid { reason, message: message.into() }
    }

    /// Refused for want of capacity (a full queue, all decoders busy): worth retrying in a moment.
    pub fn busy() -> Self {
        HubError::RateLimited(Duration::from_secs(1))
    }

    /// For `RATE_LIMITED`: whole seconds to wait before retrying, rounded up and at least 1 (what
    /// `Retry-After` and `extensions.retryAfter` carry).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            HubError::RateLimited(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Some(secs.max(1))
            }
            _ => None,
        }
    }

    /// A finer reason within a code, for clients that explain refusals differently: `REMOVED` (a kicked
    /// member); for `QUOTA_EXCEEDED` `ROOM_QUOTA` or `TOTAL_QUOTA`; for `INVALID_INPUT` one of `EMPTY`, `TOO_LONG`, `FORBIDDEN_CHARACTERS`, `BAD_INPUT`, `NOT_A_GIF`, `GIF_DAMAGED`,
    /// `GIF_TOO_LARGE`, `FILE_TOO_BIG`, `NO_FILE`, `NOT_PRESENT`, `SELF`.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            HubError::Removed => Some("REMOVED"),
            HubError::Invalid { reason, .. } => Some(reason),
            HubError::QuotaExceeded { scope: QuotaScope::Room, .. } => Some("ROOM_QUOTA"),
            HubError::QuotaExceeded { scope: QuotaScope::Total, .. } => Some("TOTAL_QUOTA"),
            _ => None,
        }
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::NotFound => "NOT_FOUND",
            HubError::WrongPassword => "WRONG_PASSWORD",
            HubError::RoomFull => "ROOM_FULL",
            HubError::Forbidden(_) | HubError::Removed => "FORBIDDEN",
            HubError::Invalid { .. } => "INVALID_INPUT",
            HubError::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            HubError::RateLimited(_) => "RATE_LIMITED",
            HubError::Internal(_) => "INTERNAL",
        }
    }
}

/// The English text of a quota refusal, naming the size in the unit it was most likely given in.
fn quota_message(scope: QuotaScope, limit: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    let size = if limit >= MIB && limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else {
        format!("{limit} bytes")
    };
    match scope {
        QuotaScope::Room => format!("this room's GIF storage ({size}) is full; the GIF was not stored"),
        QuotaScope::Total => format!("the server's GIF storage ({size}) is full; the GIF was not stored"),
    }
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        // Logged once here, where the cause is still known; callers only see INTERNAL.
        tracing::error!(error = %e, "store failure");
        HubError::Internal(e)
    }
}

impl From<InputError> for HubError {
    fn from(e: InputError) -> Self {
        let reason = match e {
            InputError::EmptyMessage => "EMPTY",
            InputError::MessageTooLong { .. } => "TOO_LONG",
            InputError::ForbiddenCharacters { .. } => "FORBIDDEN_CHARACTERS",
            _ => "BAD_INPUT",
        };
        HubError::invalid(reason, e.to_string())
    }
}

impl From<GifError> for HubError {
    fn from(e: GifError) -> Self {
        // Pages say "not a GIF" for anything without a GIF signature (a PNG too), "damaged" for a GIF that
        // does not decode, and "too large" for one over the decoding caps.
        let reason = match e {
            GifError::NotAGif => "NOT_A_GIF",
            GifError::Truncated | GifError::Malformed => "GIF_DAMAGED",
            GifError::TooLarge | GifError::TooManyFrames | GifError::TooManyPixels => "GIF_TOO_LARGE",
        };
        HubError::invalid(reason, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_refusal_names_its_scope_and_size_in_code_reason_and_text() {
        let room = HubError::QuotaExceeded { scope: QuotaScope::Room, limit: 50 * 1024 * 1024 };
        assert_eq!((room.code(), room.reason()), ("QUOTA_EXCEEDED", Some("ROOM_QUOTA")));
        assert_eq!(room.to_string(), "this room's GIF storage (50 MiB) is full; the GIF was not stored");
        let total = HubError::QuotaExceeded { scope: QuotaScope::Total, limit: 1000 };
        assert_eq!((total.code(), total.reason()), ("QUOTA_EXCEEDED", Some("TOTAL_QUOTA")));
        assert_eq!(total.to_string(), "the server's GIF storage (1000 bytes) is full; the GIF was not stored");
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_never_zero() {
        let secs = |ms| HubError::RateLimited(Duration::from_millis(ms)).retry_after_secs();
        assert_eq!(secs(0), Some(1));
        assert_eq!(secs(1), Some(1));
        assert_eq!(secs(1000), Some(1));
        assert_eq!(secs(1001), Some(2));
        assert_eq!(secs(59_500), Some(60));
        assert_eq!(HubError::NotFound.retry_after_secs(), None);
    }
}
