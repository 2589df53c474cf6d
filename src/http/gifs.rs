//! GIF upload (`POST /room/:id/gif`, multipart field `gif`, as in the book) and serving (`GET /gif/:name`).
//! Served GIFs can never be anything but an image: fixed type, `nosniff`, a sandboxing CSP.

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::client::Client;
use super::session::{member_of_request, CurrentMember};
use super::{AppState, HttpError};
use crate::domain::{EventKind, GifName, MemberId, RoomId, Visibility};
use crate::hub::HubError;
use crate::store::StoredGif;

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

/// Longest value accepted in the `to` field: a member id is 26 characters of ULID text.
const MAX_RECIPIENT: usize = 64;

/// Accepts one GIF from a member of the room and posts it as a room event. With the text field `to`
/// (a member id), the GIF is whispered to that member: only the two of them see it or can fetch it.
async fn upload_gif(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Client(addr): Client,
    member: CurrentMember,
    mut multipart: Multipart,
) -> Result<Response, HttpError> {
    if !app.web.origin_allowed(&headers) {
        return Err(HubError::Forbidden("origin not allowed").into());
    }
    let room = RoomId::parse(&id).ok_or(HubError::NotFound)?;
    // Membership and the upload rate are checked before a byte of the body is read.
    app.hub.admit_upload(&room, &member.id, addr).await?;
    // A body whose declared length cannot fit the GIF space left is refused unread too. The GIF is the
    // body less its multipart framing; a body carrying more than the framing allowance besides its GIF
    // is judged by its length (honest uploads are the file plus a few hundred bytes).
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let at_least = declared.map_or(0, |n| n.saturating_sub(MULTIPART_OVERHEAD as u64));
    app.hub.check_gif_space(&room, at_least).await?;
    let max = app.web.gif_max_bytes;
    let mut file = None;
    let mut to: Option<String> = None;
    // The client's filename and content type are ignored: only the bytes are judged. Fields may come in
    // any order; other fields are skipped, a second `gif` or `to` is refused rather than guessed at.
    while let Some(mut field) =
        multipart.next_field().await.map_err(|_| HubError::invalid("BAD_INPUT", "the upload is not valid multipart"))?
    {
        match field.name() {
            Some("gif") => {
                if file.is_some() {
                    return Err(HubError::invalid("BAD_INPUT", "attach one GIF per upload").into());
                }
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|_| too_big(max))? {
                    if bytes.len() + chunk.len() > max {
                        return Err(too_big(max).into());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes);
            }
            Some("to") => {
                if to.is_some() {
                    return Err(not_present().into());
                }
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|_| not_present())? {
                    if value.len() + chunk.len() > MAX_RECIPIENT {
                        return Err(not_present().into());
                    }
                    value.extend_from_slice(&chunk);
                }
                to = Some(String::from_utf8(value).map_err(|_| not_present())?);
            }
            _ => {}
        }
    }
    let bytes = file.ok_or_else(|| HubError::invalid("NO_FILE", "attach the GIF in the form field `gif`"))?;
    // A recipient that is not a member id cannot be present in the room: the same refusal as an absent one.
    let to = to.map(|t| MemberId::parse(t.trim()).ok_or_else(not_present)).transpose()?;
    let event = app.hub.post_gif(&room, &member.id, to.as_ref(), bytes, app.web.gif_limits).await?;
    let body = serde_json::json!({ "seq": event.seq, "url": match &event.kind {
        EventKind::Gif { name, .. } => name.url(),
        _ => String::new(),
    }});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

fn not_present() -> HubError {
    HubError::invalid("NOT_PRESENT", "that member is not in this room")
}

fn too_big(max: usize) -> HubError {
    HubError::invalid("FILE_TOO_BIG", format!("the file is larger than {} MiB", max / (1024 * 1024)))
}

/// Serves a stored GIF with headers that keep browsers from treating it as anything else. A whispered
/// GIF is served only to its sender and recipient (by their session cookie, read without writing);
/// anyone else gets the same 404 as for a name that does not exist.
async fn serve_gif(State(app): State<AppState>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(name) = GifName::parse(&name) else { return StatusCode::NOT_FOUND.into_response() };
    match app.hub.store().gif_get(&name).await {
        Ok(Some(StoredGif { bytes, visibility })) => {
            let private = match &visibility {
                Visibility::Room => false,
                Visibility::Pair(a, b) => {
                    let reader = member_of_request(&headers, app.web.cookie_name(), app.hub.store().as_ref()).await;
                    if !reader.is_some_and(|r| &r == a || &r == b) {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                    true
                }
            };
            let mut resp = bytes.into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
            // Names are random and content never changes under a name; a whispered GIF must never sit in
            // a shared cache, where it would be served without the check above.
            let cache =
                if private { "private, max-age=31536000, immutable" } else { "public, max-age=31536000, immutable" };
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            if private {
                h.insert(header::VARY, HeaderValue::from_static("cookie"));
            }
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
