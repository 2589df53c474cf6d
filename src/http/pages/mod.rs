//! Server-rendered pages at the book's URLs: the lobby (`/`), the create form (`/room`), a room
//! (`/room/:id`) and a secret room's password form (`POST /room/:id/enter`). Handlers are thin adapters
//! over the hub; the live parts run in the browser (`static/js/`) over GraphQL.
//!
//! Every page carries a Content-Security-Policy that allows only same-origin scripts, styles, images and
//! connections — no inline script and no inline style attribute (colours are set from JS through the
//! CSSOM, which CSP does not restrict). Refusals redirect to `/?error=CODE`: a code, never free text, so
//! a crafted link cannot put its own words on the page.

mod create;
mod lobby;
mod missing;
mod room;
mod view;

pub(crate) use missing::not_found;

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use super::texts::{Lang, Texts};
use super::AppState;
use crate::hub::HubError;

/// The policy of every page: nothing inline, nothing from elsewhere, no framing, forms post here only.
/// The one exception to "nothing inline" is the import map of `base.html`, allowed by its exact hash
/// (computed by build.rs from the same text the template inserts; see `http/assets.rs`).
pub(crate) const CSP: &str = concat!(
    "default-src 'none'; script-src 'self' ",
    include_str!(concat!(env!("OUT_DIR"), "/importmap.csp")),
    "; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'"
);

/// Routes of the pages, each with the page CSP and no caching (they show live state and your identity).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(lobby::show_lobby).fallback(not_found))
        .route("/room", get(create::show_create_form).post(create::create_room).fallback(not_found))
        // The book's `DELETE /room/:id` and `POST /room/:id/chat` are replaced by GraphQL: other methods
        // get the same 404 as unknown paths, not a 405 that would hint they exist.
        .route("/room/{id}", get(room::show_room).fallback(not_found))
        .route("/room/{id}/enter", post(room::enter_room).fallback(not_found))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// Back to the lobby with a refusal code (303, so a POST is not repeated on reload).
fn refuse(code: &str) -> Response {
    Redirect::to(&format!("/?error={code}")).into_response()
}

/// Where a hub refusal sends the reader: the 404 page for a missing room, the failure page for internal
/// errors, a page saying how long to wait for a rate limit, otherwise the lobby with the refusal's code.
fn refuse_with(lang: Lang, e: HubError) -> Response {
    match e {
        HubError::NotFound => missing::room_not_found(lang),
        HubError::Internal(_) => failure(lang, StatusCode::INTERNAL_SERVER_ERROR),
        e @ HubError::RateLimited(_) => rate_limited(lang, &e),
        other => refuse(other.reason().unwrap_or(other.code())),
    }
}

/// The failure page: a status and a generic sentence, never internals (they are logged where they happen).
fn failure(lang: Lang, status: StatusCode) -> Response {
    let page = FailurePage { lang: lang.code(), t: lang.texts(), status: status.as_u16(), message: None };
    (status, page).into_response()
}

/// The failure page for a rate-limited request: 429, `Retry-After`, and the wait in the reader's language.
pub(crate) fn rate_limited(lang: Lang, e: &HubError) -> Response {
    let t = lang.texts();
    let status = StatusCode::TOO_MANY_REQUESTS;
    let message = Some(t.rate_limited(e.retry_after_secs()));
    retry_later((status, FailurePage { lang: lang.code(), t, status: status.as_u16(), message }).into_response(), e)
}

/// `response` as a rate-limit refusal: status 429 and `Retry-After` (for forms shown again with the message).
fn retry_later(mut response: Response, e: &HubError) -> Response {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Some((name, value)) = super::client::retry_after(e) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// A cross-site form post: refused before anything happens (CSRF).
fn cross_site(lang: Lang) -> Response {
    failure(lang, StatusCode::FORBIDDEN)
}

/// `templates/failure.html`.
#[derive(Template, WebTemplate)]
#[template(path = "failure.html")]
struct FailurePage {
    lang: &'static str,
    t: &'static Texts,
    status: u16,
    /// Said instead of the generic sentence when there is something more useful to say.
    message: Option<String>,
}
