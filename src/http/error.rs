//! HTTP error mapping, done once: hub errors become a status and a short text; internal details are
//! logged where they happen and never sent. Also the liveness and readiness checks (the 404 page is
//! `pages::not_found`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::hub::HubError;

/// An HTTP-facing error.
#[derive(Debug)]
pub struct HttpError(pub HubError);

impl From<HubError> for HttpError {
    fn from(e: HubError) -> Self {
        HttpError(e)
    }
}

impl HttpError {
    /// The status of a hub refusal.
    pub(crate) fn status(e: &HubError) -> StatusCode {
        match e {
            HubError::NotFound => StatusCode::NOT_FOUND,
            HubError::WrongPassword | HubError::Forbidden(_) | HubError::Removed => StatusCode::FORBIDDEN,
            HubError::RoomFull => StatusCode::CONFLICT,
            HubError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            // 507 Insufficient Storage (RFC 4918 §11.5): the request is fine, the server cannot store it.
            // Not 413 (the file is not too large as such: it may fit another room) nor 422 (nothing to fix
            // in the input); no Retry-After, as waiting frees nothing.
            HubError::QuotaExceeded { .. } => StatusCode::INSUFFICIENT_STORAGE,
            HubError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            HubError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = Self::status(&self.0);
        let mut error = serde_json::json!({ "code": self.0.code(), "message": self.0.to_string() });
        // The finer reason (`NOT_A_GIF`, `FILE_TOO_BIG`, `NOT_PRESENT`, …) lets pages word the refusal.
        if let Some(reason) = self.0.reason() {
            error["reason"] = reason.into();
        }
        if let Some(secs) = self.0.retry_after_secs() {
            error["retryAfter"] = secs.into();
        }
        let body = serde_json::json!({ "error": error });
        let mut response = (status, axum::Json(body)).into_response();
        if let Some((name, value)) = super::client::retry_after(&self.0) {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// `GET /healthz`: the process is alive and serving — always 200, without asking the store, so a slow or
/// unreachable database never gets a live server restarted.
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 while the store answers, else 503 naming what is down (a load balancer sends no
/// one here meanwhile).
pub(super) async fn readyz(State(app): State<AppState>) -> Response {
    match app.hub.store().ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable").into_response()
        }
    }
}
