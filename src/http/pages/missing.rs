//! The 404 page: a real page in the reader's language (base layout, `lang`, a link home) carrying the
//! seed's sentence `<METHOD> <path> 라우터가 존재하지 않습니다.` for unknown URLs, and the book's
//! `존재하지 않는 방입니다.` for unknown rooms.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::CSP;
use crate::http::texts::{Lang, Texts};

/// Longest part of a requested path echoed on the page (the rest is cut, with an ellipsis).
const PATH_SHOWN: usize = 120;

/// `templates/not_found.html`.
#[derive(Template, WebTemplate)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    lang: &'static str,
    t: &'static Texts,
    sentence: String,
}

/// The page with `sentence`, status 404, and the pages' CSP (this also answers outside the pages'
/// router, as the application's fallback).
fn page(lang: Lang, sentence: String) -> Response {
    let page = NotFoundPage { lang: lang.code(), t: lang.texts(), sentence };
    let mut response = (StatusCode::NOT_FOUND, page).into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Any URL nothing answers: `<METHOD> <path> 라우터가 존재하지 않습니다.` (the path is escaped by the
/// template and shortened, so a crafted URL cannot fill the page).
pub(crate) async fn not_found(lang: Lang, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let shown = match path.char_indices().nth(PATH_SHOWN) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_owned(),
    };
    let sentence = lang.texts().not_found_route.replace("{method}", method.as_str()).replace("{path}", &shown);
    page(lang, sentence)
}

/// A room that does not exist (or a malformed room id): the book's sentence on the 404 page.
pub(super) fn room_not_found(lang: Lang) -> Response {
    page(lang, lang.texts().err_not_found.to_owned())
}
