//! `GET /`: the lobby — the room table (kept live by `static/js/lobby.js` over the `lobby` subscription)
//! and, after a refusal, its message.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::failure;
use super::view::{RoomRow, Swatch};
use crate::http::session::CurrentMember;
use crate::http::texts::{Lang, Texts};
use crate::http::AppState;

/// The lobby's query string: only a refusal code.
#[derive(Deserialize)]
pub(super) struct LobbyQuery {
    error: Option<String>,
}

/// `templates/lobby.html`.
#[derive(Template, WebTemplate)]
#[template(path = "lobby.html")]
struct LobbyPage {
    lang: &'static str,
    t: &'static Texts,
    texts_json: String,
    me: String,
    my: Swatch,
    rooms: Vec<RoomRow>,
    error: Option<&'static str>,
}

/// Shows the room list, your colour, and the text of a refusal code if one came along.
pub(super) async fn show_lobby(
    State(app): State<AppState>,
    lang: Lang,
    member: CurrentMember,
    Query(query): Query<LobbyQuery>,
) -> Response {
    let t = lang.texts();
    let rooms = match app.hub.rooms().await {
        Ok(rooms) => rooms,
        Err(_) => return failure(lang, StatusCode::INTERNAL_SERVER_ERROR),
    };
    LobbyPage {
        lang: lang.code(),
        t,
        texts_json: serde_json::to_string(t).unwrap_or_default(),
        me: member.id.to_string(),
        my: Swatch::of(&member.id),
        rooms: rooms.into_iter().map(|r| RoomRow::new(r, &member.id)).collect(),
        error: query.error.as_deref().and_then(|code| t.refusal(code)),
    }
    .into_response()
}
