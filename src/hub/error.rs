//! The hub's error type: one enum for every refusal a client can see, mapped once at each edge
//! (GraphQL `extensions.code`, HTTP status, CLI exit).

use crate::domain::InputError;
use crate::gifcheck::GifError;
use crate::store::StoreError;

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
    /// Bad input; the text says what and is safe to show.
    #[error("{0}")]
    Invalid(String),
    /// Too many requests of this kind; try again shortly.
    #[error("too many requests, slow down")]
    RateLimited,
    /// Something broke inside; details are logged, never sent.
    #[error("internal error")]
    Internal(#[source] StoreError),
}

impl HubError {
    /// A finer reason within a code, for clients that explain refusals differently (`REMOVED`).
    pub fn reason(&self) -> Option<&'static str> {
        matches!(self, HubError::Removed).then_some("REMOVED")
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::NotFound => "NOT_FOUND",
            HubError::WrongPassword => "WRONG_PASSWORD",
            HubError::RoomFull => "ROOM_FULL",
            HubError::Forbidden(_) | HubError::Removed => "FORBIDDEN",
            HubError::Invalid(_) => "INVALID_INPUT",
            HubError::RateLimited => "RATE_LIMITED",
            HubError::Internal(_) => "INTERNAL",
        }
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
        HubError::Invalid(e.to_string())
    }
}

impl From<GifError> for HubError {
    fn from(e: GifError) -> Self {
        HubError::Invalid(e.to_string())
    }
}
