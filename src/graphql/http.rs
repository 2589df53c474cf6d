//! GraphQL over HTTP, hardened: POST with a JSON body only (never a mutation by GET, never a batch,
//! never multipart), a small body cap, and the GraphiQL playground for browsers at `GET /graphql`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::Mutex;

use super::{ws, Viewer};
use crate::http::client::Client;
use crate::http::session::CurrentMember;
use crate::http::AppState;

/// Largest GraphQL request body; operations are small, uploads go elsewhere.
const MAX_BODY: usize = 64 * 1024;

/// Routes `/graphql` (GraphiQL + POST) and `/graphql/ws`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(show_graphiql).post(execute_graphql))
        .route("/graphql/ws", get(ws::upgrade))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

/// Serves the GraphiQL playground to browsers (`super::playground`); other clients are told to POST.
async fn show_graphiql(headers: HeaderMap) -> Response {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    if !wants_html {
        // Queries by GET would put variables (passwords!) into URLs and logs, and GET must never mutate.
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")], "use POST with a JSON body")
            .into_response();
    }
    super::playground::show_playground()
}

fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "INVALID_INPUT" } }] });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// Executes one operation from a JSON body.
async fn execute_graphql(
    State(app): State<AppState>,
    client: Client,
    member: CurrentMember,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        // Form and text bodies are what cross-site pages can send without a CORS preflight.
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json").into_response();
    }
    // A single operation only: an array (batch) does not deserialize into `Request`.
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) if body.first() == Some(&b'[') => return bad_request("batched operations are not supported"),
        Err(_) => return bad_request("the body is not a GraphQL request"),
    };
    let viewer = Viewer(Arc::new(Mutex::new(member)));
    let response = app.schema.execute(request.data(viewer).data(client)).await;
    // async-graphql-axum's response type adds the headers and cache control resolvers set.
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}
