//! Media types at the GraphQL HTTP endpoint (GraphQL over HTTP, "Media Types" and "Body"): the one request
//! body type we read, and the response type chosen from the client's `Accept`.

use axum::http::{header, HeaderMap};
use mediatype::{names, MediaType, MediaTypeList, ReadParams};

/// The two response media types the spec defines. They differ in status codes, not in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// `application/graphql-response+json`: a request that failed before execution gets a 4xx status.
    GraphqlResponse,
    /// `application/json`, for legacy clients: every well-formed request gets 200, because a 4xx could
    /// just as well come from a proxy as from the GraphQL server.
    Json,
}

impl Media {
    /// The `Content-Type` of a response in this type (the spec asks servers to name the encoding).
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }

    /// Picks the response type from `Accept`, or `None` when the client accepts neither (then the spec
    /// recommends 406). No `Accept` means `application/json`: graphql-http's audit (80D8) and legacy
    /// clients expect that, though the spec's draft moves the default to graphql-response+json in 2025.
    ///
    /// Each type takes the weight of the most specific range that matches it (RFC 9110 §12.5.1). The
    /// heavier wins; at equal weight an exact match beats a wildcard; two exact matches go by the order
    /// the client listed them; and when only wildcards match, `application/json` wins (audit 47DE).
    pub(crate) fn negotiate(headers: &HeaderMap) -> Option<Media> {
        let Some(ranges) = accepted_ranges(headers) else { return Some(Media::Json) };
        let gql = best_match(&ranges, "graphql-response", Some("json"));
        let json = best_match(&ranges, "json", None);
        match (gql, json) {
            (None, None) => None,
            (Some(_), None) => Some(Media::GraphqlResponse),
            (None, Some(_)) => Some(Media::Json),
            (Some(g), Some(j)) => {
                let by_weight = (g.q, g.specificity).cmp(&(j.q, j.specificity));
                let prefers_gql = match by_weight {
                    std::cmp::Ordering::Equal => g.specificity == EXACT && g.position < j.position,
                    other => other.is_gt(),
                };
                Some(if prefers_gql { Media::GraphqlResponse } else { Media::Json })
            }
        }
    }
}

/// Whether the client lists `text/html` itself (a browser navigating), not merely through `*/*`.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    accepted_ranges(headers)
        .unwrap_or_default()
        .iter()
        .any(|r| r.q > 0 && r.ty.eq_ignore_ascii_case("text") && r.subty.eq_ignore_ascii_case("html"))
}

/// Whether a request body is `application/json` in UTF-8, the only body this endpoint reads: form and
/// text bodies are what a cross-site page can send without a CORS preflight (CSRF), and the spec makes
/// JSON the one type every server must read. A charset other than UTF-8 is refused rather than misread.
pub(crate) fn is_json_body(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let Ok(media) = MediaType::parse(value.trim()) else { return false };
    let charset_ok = media.get_param(names::CHARSET).is_none_or(|c| c.unquoted_str().eq_ignore_ascii_case("utf-8"));
    media.ty == names::APPLICATION && media.subty == names::JSON && media.suffix.is_none() && charset_ok
}

/// How specifically a range names a type: `*/*`, `application/*`, or the type itself.
const EXACT: u8 = 2;

/// One media range of `Accept`, reduced to what negotiation needs.
#[derive(Debug)]
struct Range {
    ty: String,
    subty: String,
    suffix: Option<String>,
    /// The weight in thousandths (`q=0.5` → 500).
    q: u16,
    /// Where the client listed it.
    position: usize,
}

/// How well one of our types is accepted: the weight, how specific the range was, and its position.
#[derive(Debug, Clone, Copy)]
struct Match {
    q: u16,
    specificity: u8,
    position: usize,
}

/// The ranges of every `Accept` header, in order; `None` when there is no `Accept` header (or only blank
/// ones). Ranges that do not parse, or whose weight is not a number from 0 to 1, are skipped.
fn accepted_ranges(headers: &HeaderMap) -> Option<Vec<Range>> {
    let mut values =
        headers.get_all(header::ACCEPT).iter().filter(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace)).peekable();
    values.peek()?;
    let ranges = values
        .filter_map(|v| v.to_str().ok())
        .flat_map(MediaTypeList::new)
        .filter_map(Result::ok)
        .filter_map(|m| {
            let q = match m.get_param(names::Q) {
                None => 1000,
                Some(q) => weight(&q.unquoted_str())?,
            };
            Some(Range {
                ty: m.ty.as_str().to_owned(),
                subty: m.subty.as_str().to_owned(),
                suffix: m.suffix.map(|s| s.as_str().to_owned()),
                q,
                position: 0,
            })
        })
        .enumerate()
        .map(|(position, range)| Range { position, ..range })
        .collect();
    Some(ranges)
}

/// A qvalue (`0`, `0.5`, `1.000`) in thousandths.
fn weight(q: &str) -> Option<u16> {
    let value: f32 = q.parse().ok()?;
    (0.0..=1.0).contains(&value).then(|| (value * 1000.0).round() as u16)
}

/// The most specific range that matches `application/<subty>[+suffix]`.
fn best_match(ranges: &[Range], subty: &str, suffix: Option<&str>) -> Option<Match> {
    let found = ranges
        .iter()
        .filter_map(|r| {
            let specificity = if r.ty == "*" && r.subty == "*" {
                0
            } else if !r.ty.eq_ignore_ascii_case("application") {
                return None;
            } else if r.subty == "*" {
                1
            } else if r.subty.eq_ignore_ascii_case(subty)
                && r.suffix.as_deref().map(str::to_ascii_lowercase).as_deref() == suffix
            {
                EXACT
            } else {
                return None;
            };
            Some(Match { q: r.q, specificity, position: r.position })
        })
        .max_by(|a, b| a.specificity.cmp(&b.specificity).then(b.position.cmp(&a.position)))?;
    // A type whose most specific range weighs 0 is refused, even if a wildcard would take it.
    (found.q > 0).then_some(found)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accept(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn negotiated(value: &str) -> Option<Media> {
        Media::negotiate(&accept(&[value]))
    }

    #[test]
    fn no_accept_header_means_json() {
        assert_eq!(Media::negotiate(&HeaderMap::new()), Some(Media::Json));
    }

    #[test]
    fn each_type_named_alone_is_answered_in_that_type() {
        assert_eq!(negotiated("application/json"), Some(Media::Json));
        assert_eq!(negotiated("application/graphql-response+json"), Some(Media::GraphqlResponse));
        assert_eq!(negotiated("Application/GraphQL-Response+JSON; charset=utf-8"), Some(Media::GraphqlResponse));
    }

    #[test]
    fn wildcards_alone_get_json() {
        assert_eq!(negotiated("*/*"), Some(Media::Json));
        assert_eq!(negotiated("application/*"), Some(Media::Json));
        assert_eq!(negotiated("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), Some(Media::Json));
    }

    #[test]
    fn the_heavier_type_wins_and_equal_weights_go_by_listing_order() {
        assert_eq!(negotiated("application/graphql-response+json, application/json"), Some(Media::GraphqlResponse));
        assert_eq!(negotiated("application/json, application/graphql-response+json"), Some(Media::Json));
        assert_eq!(
            negotiated("application/json;q=0.5, application/graphql-response+json"),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(negotiated("application/graphql-response+json;q=0.9, */*"), Some(Media::Json));
        assert_eq!(
            Media::negotiate(&accept(&["application/json", "application/graphql-response+json"])),
            Some(Media::Json)
        );
    }

    #[test]
    fn an_exact_match_beats_a_wildcard_of_the_same_weight() {
        assert_eq!(negotiated("*/*, application/graphql-response+json"), Some(Media::GraphqlResponse));
    }

    #[test]
    fn a_type_refused_with_zero_weight_stays_refused_under_a_wildcard() {
        assert_eq!(negotiated("application/*, application/json;q=0"), Some(Media::GraphqlResponse));
        assert_eq!(negotiated("*/*, application/json;q=0, application/graphql-response+json;q=0"), None);
    }

    #[test]
    fn nothing_acceptable_or_nothing_readable_is_none() {
        assert_eq!(negotiated("text/html"), None);
        assert_eq!(negotiated("application/json;q=0"), None);
        assert_eq!(negotiated("application/json;q=2"), None);
        assert_eq!(negotiated("application/json+xml"), None);
        assert_eq!(negotiated("???"), None);
    }

    #[test]
    fn a_blank_accept_header_counts_as_none() {
        assert_eq!(negotiated(""), Some(Media::Json));
        assert_eq!(negotiated("  "), Some(Media::Json));
    }

    #[test]
    fn html_counts_only_when_listed_itself() {
        assert!(wants_html(&accept(&["text/html,application/xhtml+xml,*/*;q=0.8"])));
        assert!(!wants_html(&accept(&["*/*"])));
        assert!(!wants_html(&accept(&["text/html;q=0, */*"])));
        assert!(!wants_html(&HeaderMap::new()));
    }

    #[test]
    fn only_utf8_json_bodies_are_read() {
        let body = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            is_json_body(&h)
        };
        assert!(body("application/json"));
        assert!(body("application/json; charset=UTF-8"));
        assert!(!body("application/json; charset=latin1"));
        assert!(!body("text/plain;charset=UTF-8"));
        assert!(!body("application/x-www-form-urlencoded"));
        assert!(!body("multipart/form-data; boundary=x"));
        assert!(!body("application/graphql-response+json"));
        assert!(!body("application/jsonx"));
        assert!(!is_json_body(&HeaderMap::new()));
    }
}
