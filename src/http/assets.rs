//! The static assets: `static/` compiled into the binary (by `build.rs`, with memory-serve), so a binary
//! copied anywhere serves its pages whole. Served under `/static/` with an `ETag` (304 on
//! `If-None-Match`) and gzip or brotli when the client accepts it, at two kinds of URL:
//!
//! - **hashed** (`/static/main.0123456789abcdef.css`): what pages reference, through [`url`]; the content
//!   can never change under that URL, so it is cached for a year as `immutable`;
//! - **plain** (`/static/main.css`, and `/favicon.ico`): still answered, with `no-cache`, so a browser
//!   always revalidates (a 304 without a body when unchanged) and never mixes an old file into a new page.
//!
//! JavaScript modules import each other by relative URL (`import … from './gql.js'`), which would bypass
//! the hashes. Every page therefore carries an import map ([`IMPORT_MAP`]) from each module's plain URL
//! to its hashed one: the browser applies it to every import, so all modules load from immutable URLs,
//! and a changed module changes only its own URL (the pages are never cached). The import map is the one
//! inline script of a page; the page CSP allows exactly it by its hash (`importmap.csp`), nothing else.
//!
//! Paths are matched exactly against the embedded set: there is no file system behind this route, so
//! `../`, encoded dots and unknown hashes reach the 404 fallback and nothing else.

use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;

/// `(name in static/, plain route and hashed route inside /static, URL for pages)` of every embedded
/// file, from build.rs.
const TABLE: &[(&str, &str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/asset_table.rs"));

/// The import map of `static/js/*.js` (plain URL → hashed URL), exactly as it goes into every page.
pub(crate) const IMPORT_MAP: &str = include_str!(concat!(env!("OUT_DIR"), "/importmap.json"));

/// Cache policy of hashed URLs: their content is fixed by the hash.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Cache policy of plain URLs: keep, but revalidate (ETag) before every use.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// The embedded files, decoded and compressed once per process (compression takes a moment, and the
/// files are compile-time constants, so there is nothing to configure or inject).
static SERVED: LazyLock<Router> = LazyLock::new(|| {
    let mut serve = memory_serve::load!()
        .index_file(None)
        .enable_gzip(true)
        .enable_brotli(true)
        .cache_control(memory_serve::CacheControl::NoCache)
        .html_cache_control(memory_serve::CacheControl::NoCache);
    for (_, plain, hashed, _) in TABLE {
        serve = serve.add_alias(hashed, plain);
    }
    serve.into_router().layer(axum::middleware::from_fn(set_cache_policy))
});

/// The URL a page uses for `name` (a path inside `static/`, e.g. `"js/room.js"`): its hashed URL.
/// Templates call it as `crate::http::assets::url("main.css")`; an unknown name is a bug in a template.
pub fn url(name: &str) -> &'static str {
    match TABLE.iter().find(|(n, ..)| *n == name) {
        Some((.., url)) => url,
        None => {
            debug_assert!(false, "no static file named {name:?}");
            tracing::error!(name, "a template names a static file that is not embedded");
            "/static/missing"
        }
    }
}

/// Routes `/static/…` (hashed and plain) and `/favicon.ico`; unknown paths fall through to the
/// application's 404.
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let served = SERVED.clone();
    Router::new()
        .nest("/static", served.clone().with_state(()))
        // Browsers ask for /favicon.ico on their own; the embedded `favicon.ico` answers it.
        .route_service("/favicon.ico", served)
}

/// Sets the cache policy by the kind of URL (memory-serve's own "long" value lacks `public`).
async fn set_cache_policy(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED) {
        let hashed = TABLE.iter().any(|(_, _, h, _)| *h == path);
        let policy = if hashed { IMMUTABLE } else { REVALIDATE };
        response.headers_mut().insert(header::CACHE_CONTROL, policy);
    }
    response
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn pages_get_hashed_urls_from_one_helper() {
        let css = url("main.css");
        let hash = css.strip_prefix("/static/main.").and_then(|r| r.strip_suffix(".css")).expect(css);
        assert!(hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{css}");
        assert!(url("js/room.js").starts_with("/static/js/room."));
        assert_ne!(url("js/room.js"), "/static/js/room.js");
    }

    #[test]
    fn the_import_map_maps_every_module_to_its_hashed_url() {
        let map: serde_json::Value = serde_json::from_str(IMPORT_MAP).expect("JSON");
        let imports = map["imports"].as_object().expect("imports");
        let modules: Vec<_> = TABLE.iter().filter(|(n, ..)| n.starts_with("js/") && n.ends_with(".js")).collect();
        assert!(modules.len() >= 2, "the room and lobby modules at least");
        assert_eq!(imports.len(), modules.len());
        for (name, _, _, hashed_url) in modules {
            assert_eq!(imports[&format!("/static/{name}")], *hashed_url);
        }
        assert!(!IMPORT_MAP.contains('<'), "nothing that could end the inline script");
    }

    #[test]
    fn the_page_csp_allows_exactly_this_import_map() {
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(IMPORT_MAP.as_bytes()));
        let csp = crate::http::pages::CSP;
        assert!(csp.contains(&format!("script-src 'self' 'sha256-{digest}';")), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
}
