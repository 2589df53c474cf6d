//! The GraphiQL playground at `GET /graphql`: our own page (`templates/playground.html`) that loads
//! pinned production builds of GraphiQL 4, React 18 and graphql-ws from a CDN, each with Subresource
//! Integrity, and starts GraphiQL from `static/playground/playground.js` with a fetcher that sends
//! subscriptions over graphql-ws to `/graphql/ws` (same origin, so the socket's Origin check passes) and
//! everything else as a JSON POST to `/graphql`.
//!
//! The page gets its own CSP: scripts and styles only from this origin and the exact CDN files below
//! (whole URLs, not the CDN host), nothing inline, connections only to this origin. When the CDN cannot
//! be reached (or a file does not match its hash, so the browser refuses it), the page says so and
//! points at the API itself instead of showing "Loading…" forever.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// Where the pinned files come from.
const CDN: &str = "https://unpkg.com/";

/// `(package@version/file, SRI hash)` of the CDN files, in load order; the hashes are of the exact files
/// in the npm packages, printed by `node scripts/sri.mjs` (which reads tests/browser/node_modules).
const CDN_FILES: [(&str, &str); 5] = [
    (
        "react@18.3.1/umd/react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    ),
    (
        "react-dom@18.3.1/umd/react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    ),
    (
        "graphql-ws@6.4.2/umd/graphql-ws.min.js",
        "sha384-mxvR4Mzbsb6QVx/9xI2gtQikQA6m8zMDBFnu3l//4/ROsWt7y2sUGWd+/tYQqDm7",
    ),
    ("graphiql@4.1.2/graphiql.min.js", "sha384-9XdHu7ajgGJziD4J1zNBKQ842Q/+zZfDv+ib1eMhZWBH6hPAs806x+Jbcf0yNO6B"),
    ("graphiql@4.1.2/graphiql.min.css", "sha384-1el1QShFBnnXTx9x/Cprg82hZWKt0ry29OAYIXt05swbi0KcZDFoj0CWguMpopJr"),
];

/// One file from the CDN, as the template writes it.
struct CdnFile {
    /// The full URL.
    url: String,
    /// Its `integrity` attribute.
    integrity: &'static str,
}

/// `templates/playground.html`.
#[derive(Template, WebTemplate)]
#[template(path = "playground.html")]
struct PlaygroundPage {
    /// The CDN scripts, in load order.
    scripts: Vec<CdnFile>,
    /// The CDN stylesheets.
    styles: Vec<CdnFile>,
}

/// The playground page with its own CSP (no caching: it names hashed asset URLs of this build).
pub(super) fn show_playground() -> Response {
    let (styles, scripts): (Vec<_>, Vec<_>) = CDN_FILES
        .iter()
        .map(|(file, integrity)| CdnFile { url: format!("{CDN}{file}"), integrity })
        .partition(|f| f.url.ends_with(".css"));
    let mut resp = PlaygroundPage { scripts, styles }.into_response();
    let headers = resp.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The playground's policy. The CDN files are named by full URL (a source with a path matches only that
/// file); their fonts and icons are `data:` URLs inside the GraphiQL stylesheet.
fn csp() -> String {
    let only = |ext: &str| {
        CDN_FILES.iter().filter(|(f, _)| f.ends_with(ext)).map(|(f, _)| format!(" {CDN}{f}")).collect::<String>()
    };
    format!(
        "default-src 'none'; script-src{} 'self'; style-src{} 'self'; font-src data:; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        only(".js"),
        only(".css"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csp_names_each_cdn_file_and_allows_nothing_inline() {
        let csp = csp();
        for (file, _) in CDN_FILES {
            assert!(csp.contains(&format!("{CDN}{file}")), "{file} missing from {csp}");
        }
        assert!(csp.contains("script-src https://unpkg.com/react@18.3.1/"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(!csp.contains("https://unpkg.com "), "never the whole CDN host: {csp}");
    }

    #[test]
    fn every_cdn_file_is_pinned_to_a_version_and_a_sha384() {
        for (file, integrity) in CDN_FILES {
            let (package, rest) = file.split_once('@').expect("package@version");
            let version = rest.split('/').next().unwrap_or_default();
            assert!(!package.is_empty() && version.split('.').all(|n| n.parse::<u32>().is_ok()), "{file}");
            assert!(integrity.starts_with("sha384-") && integrity.len() == 7 + 64, "{integrity}");
        }
    }
}
