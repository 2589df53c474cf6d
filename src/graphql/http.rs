//! GraphQL over HTTP, to the GraphQL-over-HTTP spec (graphql-http's audit passes in full) and hardened:
//! a POST reads only a JSON body (never a form or text body, never a batch, never multipart) within a
//! small cap; a GET runs a query from the URL but never a mutation (405); a browser asking for HTML at
//! `GET /graphql` gets the GraphiQL playground. Responses are `application/graphql-response+json` or
//! `application/json`, whichever `Accept` prefers (`super::media`), with the status codes of that type.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::Mutex;

use super::media::{self, Media};
use super::params::{Params, ParamsError};
use super::reached::Reached;
use super::{ws, Viewer};
use crate::http::client::Client;
use crate::http::session::CurrentMember;
use crate::http::AppState;

/// Largest GraphQL request body; operations are small, uploads go elsewhere.
const MAX_BODY: usize = 64 * 1024;

/// Largest GET query string: a query that needs more belongs in a POST, and URLs end up in logs and
/// proxies, many of which stop at 8–16 KiB anyway. (hyper refuses any URI over 64 KiB by itself.)
const MAX_QUERY_STRING: usize = 16 * 1024;

/// Routes `/graphql` (GraphiQL + GET + POST) and `/graphql/ws`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(query_graphql).post(execute_graphql))
        .route("/graphql/ws", get(ws::upgrade))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

/// Serves GraphiQL (`super::playground`) to browsers; runs a query from the URL's parameters otherwise.
async fn query_graphql(State(app): State<AppState>, mut parts: Parts) -> Response {
    let query_string = parts.uri.query().unwrap_or_default();
    if query_string.len() > MAX_QUERY_STRING {
        return (StatusCode::URI_TOO_LONG, "the query string is too long; send a POST").into_response();
    }
    let has_query = form_urlencoded::parse(query_string.as_bytes()).any(|(name, _)| name == "query");
    if !has_query && media::wants_html(&parts.headers) {
        return super::playground::show_playground();
    }
    let Some(media) = Media::negotiate(&parts.headers) else { return not_acceptable() };
    let mut request = match Params::from_query(query_string) {
        Ok(params) => params.into_request(),
        Err(e) => return malformed(media, &e),
    };
    if selected_operation(&mut request) == Some(OperationType::Mutation) {
        // GET is a safe method: a link or an <img> must never change anything. The spec's "GET" section
        // demands 405 and no execution.
        let mut refused = error_response(media, StatusCode::METHOD_NOT_ALLOWED, "mutations need POST");
        refused.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return refused;
    }
    // Only now: showing the playground or refusing a request needs no member (nor a session).
    let member = match CurrentMember::from_request_parts(&mut parts, &app).await {
        Ok(member) => member,
        Err(rejection) => return rejection.into_response(),
    };
    let client = parts.extensions.get::<Client>().copied().unwrap_or_default();
    execute(&app, member, client, request, media).await
}

/// Executes one operation from a JSON body.
async fn execute_graphql(
    State(app): State<AppState>,
    client: Client,
    member: CurrentMember,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !media::is_json_body(&headers) {
        // Form and text bodies are what cross-site pages can send without a CORS preflight.
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json").into_response();
    }
    let Some(media) = Media::negotiate(&headers) else { return not_acceptable() };
    match Params::from_json(&body) {
        Ok(params) => execute(&app, member, client, params.into_request(), media).await,
        Err(e) => malformed(media, &e),
    }
}

/// Runs `request` as `member` and writes the response in `media`. Once execution started the answer is
/// 200 with a `data` entry, whatever field errors it holds. A request that failed before (parse,
/// validation, variables, our limits) has no `data` entry (GraphQL spec, "Response") and gets 400 under
/// graphql-response+json but 200 under application/json (GraphQL over HTTP, "Status Codes").
async fn execute(
    app: &AppState,
    member: CurrentMember,
    client: Client,
    request: async_graphql::Request,
    media: Media,
) -> Response {
    let viewer = Viewer(Arc::new(Mutex::new(member)));
    let reached = Arc::new(Reached::default());
    let response = app.schema.execute(request.data(viewer).data(client).data(reached.clone())).await;
    let (status, body) = if reached.executed() {
        (StatusCode::OK, serde_json::to_vec(&response))
    } else {
        let status = if media == Media::Json { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        (status, serde_json::to_vec(&RequestFailure { errors: &response.errors, extensions: &response.extensions }))
    };
    let Ok(body) = body else {
        tracing::error!("a GraphQL response did not serialize");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut http = json_response(media, status, body);
    // Headers resolvers set (none today; async-graphql-axum's responder copies them too).
    http.headers_mut().extend(response.http_headers);
    http
}

/// A GraphQL response of a request that failed before execution: errors, and no `data` entry at all.
#[derive(serde::Serialize)]
struct RequestFailure<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// The type of the operation a request selects, when its document parses and the selection is clear
/// (otherwise execution reports the error and runs nothing). The parsed document stays in the request.
fn selected_operation(request: &mut async_graphql::Request) -> Option<OperationType> {
    let name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    match (&document.operations, name) {
        (DocumentOperations::Single(op), None) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
        _ => None,
    }
}

/// A request that is not well-formed (wrong parameter types, not JSON): 400 under either type, as the
/// spec's "Status Codes" section recommends for both.
fn malformed(media: Media, error: &ParamsError) -> Response {
    error_response(media, StatusCode::BAD_REQUEST, &error.to_string())
}

/// One error, with our `INVALID_INPUT` code, as a GraphQL response in `media`.
fn error_response(media: Media, status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "INVALID_INPUT" } }] });
    json_response(media, status, body.to_string().into_bytes())
}

/// A body in `media`. Never stored by a cache: answers depend on the session, and GET ones could be kept.
fn json_response(media: Media, status: StatusCode, body: Vec<u8>) -> Response {
    let headers = [(header::CONTENT_TYPE, media.content_type()), (header::CACHE_CONTROL, "no-store")];
    (status, headers, body).into_response()
}

/// The client accepts neither response type: 406, which the spec recommends over answering anyway.
fn not_acceptable() -> Response {
    let message = "accept application/graphql-response+json or application/json";
    (StatusCode::NOT_ACCEPTABLE, message).into_response()
}
