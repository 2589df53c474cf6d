//! `GET /room/:id` (the room, or its password form) and `POST /room/:id/enter` (the password, by form
//! post so it never appears in a URL, a log line or the browser history).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::missing::room_not_found;
use super::view::EventView;
use super::{cross_site, failure, refuse_with, retry_later};
use crate::domain::RoomId;
use crate::http::client::Client;
use crate::http::session::{CurrentMember, SessionError};
use crate::http::texts::{Lang, Texts};
use crate::http::AppState;
use crate::hub::{Hub, HubError};

/// Events rendered with the page; older ones load as the reader scrolls up.
const HISTORY_PAGE: i64 = 50;

/// `templates/room.html`.
#[derive(Template, WebTemplate)]
#[template(path = "room.html")]
struct RoomPage {
    lang: &'static str,
    t: &'static Texts,
    texts_json: String,
    room_id: String,
    title: String,
    me: String,
    /// The reader's colour, for the "sending…" bubbles drawn before the server has answered.
    my_color: String,
    events: Vec<EventView>,
    /// The newest seq rendered: the live stream resumes after it, so nothing falls between.
    last_seq: i64,
    /// Whether older events exist beyond this page.
    has_more: bool,
    gif_max_bytes: usize,
}

/// `templates/password.html`: a secret room asks for its password (again, after a wrong one).
#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
struct PasswordPage {
    lang: &'static str,
    t: &'static Texts,
    room_id: String,
    title: String,
    /// Why the last try failed, in the reader's language.
    error: Option<String>,
}

/// Shows the room with its latest history; a secret room you have no access to shows the password form.
/// Checks in the book's order: exists → password → capacity (the subscription then takes the seat).
/// Opening a room is entering it: a visitor let in gets a session here if they have none (the page's
/// socket needs it for the seat); the password form, a refusal or a missing room creates none.
pub(super) async fn show_room(
    State(app): State<AppState>,
    lang: Lang,
    Client(addr): Client,
    mut member: CurrentMember,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = RoomId::parse(&id) else { return room_not_found(lang) };
    let rec = match app.hub.room(&id).await {
        Ok(rec) => rec,
        Err(e) => return refuse_with(lang, e),
    };
    let t = lang.texts();
    let granted = member.is_granted(&id);
    if !Hub::has_access(&rec, &member.id, granted) {
        let page = PasswordPage { lang: lang.code(), t, room_id: id.to_string(), title: rec.room.title, error: None };
        return page.into_response();
    }
    if let Err(e) = app.hub.enter_room(&id, &member.id, addr, granted, None).await {
        return refuse_with(lang, e);
    }
    match member.mint().await {
        Ok(()) => {}
        Err(SessionError::Refused(e)) => return refuse_with(lang, e),
        Err(e) => {
            tracing::error!(error = %e, "could not create a session");
            return failure(lang, StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    let events = match app.hub.messages(&id, &member.id, granted, None, None, Some(HISTORY_PAGE)).await {
        Ok(events) => events,
        Err(e) => return refuse_with(lang, e),
    };
    let last_seq = events.last().map(|e| e.seq).unwrap_or(0);
    // A full page may have older events before it; the first seq of a room is 1.
    let has_more = events.len() as i64 == HISTORY_PAGE && events.first().is_some_and(|e| e.seq > 1);
    RoomPage {
        lang: lang.code(),
        t,
        texts_json: serde_json::to_string(t).unwrap_or_default(),
        room_id: id.to_string(),
        title: rec.room.title,
        me: member.id.to_string(),
        my_color: member.color().to_string(),
        events: events.iter().map(|e| EventView::new(e, &member.id, t)).collect(),
        last_seq,
        has_more,
        gif_max_bytes: app.web.gif_max_bytes,
    }
    .into_response()
}

/// The password form's one field.
#[derive(Deserialize)]
pub(super) struct EnterForm {
    #[serde(default)]
    password: String,
}

/// Checks a secret room's password; the right one is remembered in the session (created if needed) and opens the room,
/// a wrong (or empty) one shows the room's password form again with the reason. Other refusals (full,
/// removed) go to the lobby with their code; a missing room gets the 404 page.
pub(super) async fn enter_room(
    State(app): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Client(addr): Client,
    mut member: CurrentMember,
    Path(id): Path<String>,
    Form(form): Form<EnterForm>,
) -> Response {
    if !app.web.origin_allowed(&headers) {
        return cross_site(lang);
    }
    let Some(id) = RoomId::parse(&id) else { return room_not_found(lang) };
    let granted = member.is_granted(&id);
    match app.hub.enter_room(&id, &member.id, addr, granted, Some(&form.password)).await {
        Ok(newly_granted) => {
            // Let in: the visitor is remembered from here on (and the grant with them).
            let remembered = if newly_granted { member.grant(&id).await } else { member.mint().await };
            match remembered {
                Ok(()) => {}
                Err(SessionError::Refused(e)) => return refuse_with(lang, e),
                Err(e) => {
                    tracing::error!(error = %e, "could not save a session or grant");
                    return failure(lang, StatusCode::INTERNAL_SERVER_ERROR);
                }
            }
            Redirect::to(&format!("/room/{id}")).into_response()
        }
        Err(e @ (HubError::WrongPassword | HubError::RateLimited(_))) => {
            // Stay on this room's form: its title, the reason, the field empty again (never echoed).
            let t = lang.texts();
            let title = match app.hub.room(&id).await {
                Ok(rec) => rec.room.title,
                Err(e) => return refuse_with(lang, e),
            };
            let error = match &e {
                HubError::RateLimited(_) => t.rate_limited(e.retry_after_secs()),
                _ if form.password.is_empty() => t.err_password_empty.to_owned(),
                _ => t.err_wrong_password.to_owned(),
            };
            let page = PasswordPage { lang: lang.code(), t, room_id: id.to_string(), title, error: Some(error) };
            let page = (StatusCode::FORBIDDEN, page).into_response();
            match e {
                HubError::RateLimited(_) => retry_later(page, &e),
                _ => page,
            }
        }
        Err(e) => refuse_with(lang, e),
    }
}
