//! `GET /room` and `POST /room`: the create form. Bad input shows the form again with the message and
//! the entered title and capacity — never the password, which is not echoed back into any page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{cross_site, failure, retry_later};
use crate::domain::{Capacity, Password, RoomTitle};
use crate::http::client::Client;
use crate::http::session::{CurrentMember, SessionError};
use crate::http::texts::{Lang, Texts};
use crate::http::AppState;
use crate::hub::{Creator, HubError};

/// The form's fields, named as in the book.
#[derive(Deserialize)]
pub(super) struct CreateForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    password: String,
}

/// `templates/create.html`.
#[derive(Template, WebTemplate)]
#[template(path = "create.html")]
struct CreatePage {
    lang: &'static str,
    t: &'static Texts,
    title: String,
    max: String,
    error: Option<String>,
}

/// Shows the empty create form (capacity 10, the book's default).
pub(super) async fn show_create_form(lang: Lang) -> Response {
    let page = CreatePage { lang: lang.code(), t: lang.texts(), title: String::new(), max: "10".into(), error: None };
    page.into_response()
}

/// Creates a room owned by the visitor (giving them a session if they have none) and opens it; on bad
/// input, the form again with the reason and no session created.
pub(super) async fn create_room(
    State(app): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Client(addr): Client,
    mut member: CurrentMember,
    Form(form): Form<CreateForm>,
) -> Response {
    if !app.web.origin_allowed(&headers) {
        return cross_site(lang);
    }
    let t = lang.texts();
    let again = |error: String| {
        let page =
            CreatePage { lang: lang.code(), t, title: form.title.clone(), max: form.max.clone(), error: Some(error) };
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    // Parsed here as well as in the hub so the reason can be told in the reader's language.
    let capacity = match Capacity::parse(&form.max) {
        Ok(c) => c,
        Err(e) => return again(t.input_error(&e)),
    };
    if let Err(e) = RoomTitle::parse(&form.title) {
        return again(t.input_error(&e));
    }
    if let Err(e) = Password::parse_optional(Some(&form.password)) {
        return again(t.input_error(&e));
    }
    // The owner must be someone the server remembers: the visitor's session is created here if needed.
    match member.mint().await {
        Ok(()) => {}
        // Too many new identities from this address: the form again with what was typed, and the wait.
        Err(SessionError::Refused(e)) => return retry_later(again(t.rate_limited(e.retry_after_secs())), &e),
        Err(e) => {
            tracing::error!(error = %e, "could not create a session");
            return failure(lang, StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    let created = app
        .hub
        .create_room(
            Creator::Member(member.id.clone(), addr),
            &form.title,
            Some(capacity.get().into()),
            Some(&form.password),
        )
        .await;
    match created {
        Ok(room) => Redirect::to(&format!("/room/{}", room.id)).into_response(),
        Err(HubError::Internal(_)) => failure(lang, StatusCode::INTERNAL_SERVER_ERROR),
        // The form again with what was typed, saying how long to wait.
        Err(e @ HubError::RateLimited(_)) => retry_later(again(t.rate_limited(e.retry_after_secs())), &e),
        // Every other refusal as a sentence in the reader's language, never the hub's own text.
        Err(e) => again(t.refusal(e.code()).unwrap_or(t.err_invalid).to_owned()),
    }
}
