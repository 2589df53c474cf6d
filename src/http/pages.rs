//! Server-rendered pages. Until the pages issue lands, `/` is a plain placeholder that links to the API.

use axum::response::Html;
use axum::routing::get;
use axum::Router;

use super::AppState;

/// Routes of the pages.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(show_lobby))
}

/// `GET /`: placeholder lobby.
async fn show_lobby() -> Html<&'static str> {
    Html(
        "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"UTF-8\"><title>GIF 채팅방</title></head>\
         <body><h1>GIF 채팅방</h1><p><a href=\"/graphql\">GraphQL</a></p></body></html>",
    )
}
