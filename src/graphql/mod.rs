//! The GraphQL API: schema (queries, mutations, subscriptions), the hardened HTTP handler, and our own
//! graphql-transport-ws WebSocket server. Resolvers are thin adapters over the [`Hub`](crate::hub::Hub).

mod connection;
mod http;
mod limits;
mod live;
mod media;
mod params;
mod playground;
mod reached;
mod protocol;
mod resolvers;
mod types;
mod ws;

use std::sync::Arc;

use async_graphql::{ErrorExtensions, Schema};
use tokio::sync::Mutex;

use crate::http::session::{CurrentMember, SessionError};
use crate::hub::{Hub, HubError};

pub use self::http::router;
use crate::domain::ClientAddr;
use crate::http::client::Client;
pub use live::{FrameCache, FrameStats};
pub use resolvers::{MutationRoot, QueryRoot, SubscriptionRoot};
pub use types::rfc3339;
pub use ws::WsConfig;

/// The schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The member behind an operation, shared by the operations of one request or one WebSocket.
#[derive(Clone)]
pub struct Viewer(pub Arc<Mutex<CurrentMember>>);

/// The member behind an operation. In an execution shared by several subscribers there is none: the
/// field asking is marked personal (its subscribers are then executed one by one) and gets an error that
/// is never sent, because the shared result is discarded.
pub(crate) fn viewer<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<&'a Viewer> {
    if let Some(v) = ctx.data_opt::<Viewer>() {
        return Ok(v);
    }
    if let Some(shared) = ctx.data_opt::<Arc<live::Shared>>() {
        shared.mark_personal();
        return Err(coded("depends on the viewer", "INTERNAL"));
    }
    Err(coded("no session", "FORBIDDEN"))
}

/// The client address an operation comes from (put into each request's data by the HTTP handler and
/// the WebSocket, from the upgrade request); `None` where unknown.
pub(crate) fn client(ctx: &async_graphql::Context<'_>) -> Option<ClientAddr> {
    ctx.data_opt::<Client>().and_then(|c| c.0)
}

/// Query limits (defaults: depth 10, complexity 500, aliases 30).
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Deepest selection nesting.
    pub depth: usize,
    /// Largest complexity score.
    pub complexity: usize,
    /// Most aliases in one document.
    pub aliases: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self { depth: 10, complexity: 500, aliases: 30 }
    }
}

/// Builds the schema with its limits and the hub as data.
pub fn schema(hub: Arc<Hub>, limits: QueryLimits) -> AppSchema {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(hub)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .extension(limits::AliasLimit { max: limits.aliases })
        .extension(reached::MarkExecution)
        .limit_directives(5)
        .limit_recursive_depth(32)
        // Suggestions ("did you mean") help attackers probe; introspection stays on for GraphiQL and the
        // published schema.graphql carries the same information anyway.
        .disable_suggestions()
        .finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot).finish().sdl()
}

/// Converts hub errors into GraphQL errors with `extensions.code`; internal details never leave.
pub(crate) trait GqlResult<T> {
    /// Maps the error.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, HubError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(hub_error)
    }
}

/// A hub refusal as a GraphQL error: `extensions.code`, and `reason` / `retryAfter` where it has them.
fn hub_error(e: HubError) -> async_graphql::Error {
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| {
        ext.set("code", e.code());
        if let Some(reason) = e.reason() {
            ext.set("reason", reason);
        }
        if let Some(secs) = e.retry_after_secs() {
            ext.set("retryAfter", secs);
        }
    })
}

/// A visitor who could not be given a session: `NO_SESSION` on a WebSocket without one (the page reloads
/// over HTTP, which creates it), `RATE_LIMITED` when the client's address has started its allowance of
/// new sessions, `INTERNAL` when the store failed (logged here).
pub(crate) fn session_refused(e: SessionError) -> async_graphql::Error {
    match e {
        SessionError::NoSession => coded(&e.to_string(), "NO_SESSION"),
        SessionError::Refused(e) => hub_error(e),
        SessionError::Store(e) => {
            tracing::error!(error = %e, "could not save a session");
            coded("internal error", "INTERNAL")
        }
    }
}

/// A GraphQL error with a code, for failures outside the hub.
pub(crate) fn coded(message: &str, code: &str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
}
