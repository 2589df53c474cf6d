//! `GET /`: the lobby — one page of the room list (kept live by `static/js/lobby.js` over the `lobby`
//! subscription, searched and extended through the `rooms` query), and after a refusal its message.
//!
//! Without JavaScript everything still works as plain GET links: `?q=` filters titles, `?after=`
//! shows the page after a cursor. The HTML is bounded: one page of rooms, never the whole list.

use std::collections::HashSet;

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
use crate::hub::MAX_SEARCH_CHARS;
use crate::store::RoomCursor;

/// The lobby's query string: a refusal code, the title search and the page's cursor.
#[derive(Deserialize)]
pub(super) struct LobbyQuery {
    error: Option<String>,
    #[serde(default)]
    q: String,
    after: Option<String>,
}

/// `templates/lobby.html`.
#[derive(Template, WebTemplate)]
#[template(path = "lobby.html")]
struct LobbyPage {
    lang: &'static str,
    t: &'static Texts,
    texts_json: String,
    /// The reader's member id; empty for a visitor without a session (nothing is theirs).
    me: String,
    /// The reader's colour; none until they have a session (the page says when they will get one).
    my: Option<Swatch>,
    rooms: Vec<RoomRow>,
    error: Option<String>,
    /// The search text as typed (echoed into the search box; escaped by the template).
    query: String,
    /// The search in effect (empty: every room), trimmed.
    filter: String,
    /// The cursor this page starts after (empty for the first page).
    after: String,
    /// Where the next page starts (empty when none follows).
    end_cursor: String,
    has_next: bool,
    total: u64,
    page_size: u32,
    /// Ids of the rooms the reader was removed from, space-separated (for live rows).
    removed_ids: String,
    /// `/?q=…&after=…` of the next page, for browsers without JavaScript.
    more_href: String,
    /// `/?q=…`: this search from its first page.
    first_href: String,
}

/// `/?…` with the given parameters, percent-encoded; `/` without any.
fn lobby_href(params: &[(&str, &str)]) -> String {
    let params: Vec<_> = params.iter().filter(|(_, v)| !v.is_empty()).collect();
    if params.is_empty() {
        return "/".to_owned();
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    format!("/?{}", query.finish())
}

/// Shows one page of rooms (the first, or the one after `?after=`), filtered by `?q=`, your colour, and
/// the text of a refusal code if one came along. Bad search text or a bad cursor shows why, in the
/// reader's language, above the unfiltered first page — the typed text stays in the search box.
/// Looking creates no session: a visitor without one is told they get a colour on entering a room.
pub(super) async fn show_lobby(
    State(app): State<AppState>,
    lang: Lang,
    member: CurrentMember,
    Query(query): Query<LobbyQuery>,
) -> Response {
    let t = lang.texts();
    let mut error = query.error.as_deref().and_then(|code| t.refusal(code)).map(str::to_owned);
    let search = query.q.trim().to_owned();
    let mut after = query.after.clone().filter(|a| !a.is_empty());
    let mut filter = Some(search.as_str()).filter(|s| !s.is_empty());
    if search.chars().count() > MAX_SEARCH_CHARS {
        error = Some(t.err_search_long.replace("{max}", &MAX_SEARCH_CHARS.to_string()));
        filter = None;
        after = None;
    } else if after.as_deref().is_some_and(|a| RoomCursor::decode(a).is_none()) {
        error = Some(t.err_bad_page.to_owned());
        after = None;
    }
    // Search text and cursor were checked above, so only a store failure remains.
    let page = match app.hub.rooms_page(None, after.as_deref(), filter).await {
        Ok(page) => page,
        Err(_) => return failure(lang, StatusCode::INTERNAL_SERVER_ERROR),
    };
    // A visitor without a session cannot have been kicked from anything.
    let removed: HashSet<_> = match member.has_session() {
        true => match app.hub.kicked_from(&member.id).await {
            Ok(ids) => ids.into_iter().collect(),
            Err(_) => return failure(lang, StatusCode::INTERNAL_SERVER_ERROR),
        },
        false => HashSet::new(),
    };
    let me = member.has_session().then_some(&member.id);
    let end_cursor = match (page.has_next, page.rooms.last()) {
        (true, Some(last)) => RoomCursor::of(last).encode(),
        _ => String::new(),
    };
    let shown_query = filter.unwrap_or_default();
    LobbyPage {
        lang: lang.code(),
        t,
        texts_json: serde_json::to_string(t).unwrap_or_default(),
        me: me.map(|id| id.to_string()).unwrap_or_default(),
        my: me.map(Swatch::of),
        more_href: lobby_href(&[("q", shown_query), ("after", &end_cursor)]),
        first_href: lobby_href(&[("q", shown_query)]),
        removed_ids: removed.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(" "),
        rooms: page
            .rooms
            .into_iter()
            .map(|r| {
                let gone = removed.contains(&r.id);
                RoomRow::new(r, me, gone)
            })
            .collect(),
        error,
        filter: shown_query.to_owned(),
        query: query.q,
        after: after.unwrap_or_default(),
        end_cursor,
        has_next: page.has_next,
        total: page.total,
        page_size: app.hub.config().lobby_page,
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::lobby_href;

    #[test]
    fn lobby_links_percent_encode_the_search_and_drop_empty_parameters() {
        assert_eq!(lobby_href(&[("q", ""), ("after", "")]), "/");
        assert_eq!(lobby_href(&[("q", "수다 & <방>"), ("after", "")]), "/?q=%EC%88%98%EB%8B%A4+%26+%3C%EB%B0%A9%3E");
        assert_eq!(lobby_href(&[("q", ""), ("after", "YTox")]), "/?after=YTox");
    }
}
