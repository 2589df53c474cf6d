//! GIF upload (`POST /room/:id/gif`, multipart field `gif`, as in the book) and serving (`GET /gif/:name`).
//! Served GIFs can never be anything but an image: fixed type, `nosniff`, a sandboxing CSP.

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::session::CurrentMember;
use super::{AppState, HttpError};
use crate::domain::{GifName, RoomId};
use crate::hub::HubError;

/// Multipart framing allowance on top of the file itself.
const MULTIPART_OVERHEAD: usize = 16 * 1024;

/// The upload route (inside the session layer).
pub fn upload_router(max_bytes: usize) -> Router<AppState> {
    Router::new().route("/room/{id}/gif", post(upload_gif)).layer(DefaultBodyLimit::max(max_bytes + MULTIPART_OVERHEAD))
}

/// The serving route (outside the session layer: a GIF request never creates a session).
pub fn serve_router() -> Router<AppState> {
    Router::new().route("/gif/{name}", get(serve_gif))
}

/// Accepts one GIF from a member of the room and posts it as a room event.
async fn upload_gif(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    member: CurrentMember,
    mut multipart: Multipart,
) -> Result<Response, HttpError> {
    if !app.web.origin_allowed(&headers) {
        return Err(HubError::Forbidden("origin not allowed").into());
    }
    let room = RoomId::parse(&id).ok_or(HubError::NotFound)?;
    let max = app.web.gif_max_bytes;
    let mut file = None;
    // The client's filename and content type are ignored: only the bytes are judged.
    while let Some(mut field) =
        multipart.next_field().await.map_err(|_| invalid("the upload is not valid multipart"))?
    {
        if field.name() != Some("gif") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| too_big(max))? {
            if bytes.len() + chunk.len() > max {
                return Err(too_big(max).into());
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some(bytes);
        break;
    }
    let bytes = file.ok_or_else(|| invalid("attach the GIF in the form field `gif`"))?;
    let event = app.hub.post_gif(&room, &member.id, bytes, app.web.gif_limits).await?;
    let body = serde_json::json!({ "seq": event.seq, "url": match &event.kind {
        crate::domain::EventKind::Gif { name } => name.url(),
        _ => String::new(),
    }});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

fn invalid(message: &str) -> HubError {
    HubError::Invalid(message.to_owned())
}

fn too_big(max: usize) -> HubError {
    HubError::Invalid(format!("the file is larger than {} MiB", max / (1024 * 1024)))
}

/// Serves a stored GIF with headers that keep browsers from treating it as anything else.
async fn serve_gif(State(app): State<AppState>, Path(name): Path<String>) -> Response {
    let Some(name) = GifName::parse(&name) else { return StatusCode::NOT_FOUND.into_response() };
    match app.hub.store().gif_get(&name).await {
        Ok(Some(bytes)) => {
            let mut resp = bytes.into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
            // Names are random and content never changes under a name.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"image.gif\""));
            h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
            resp
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading a GIF failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
