//! Tells the HTTP handler whether a request reached execution. The GraphQL spec leaves out the `data`
//! entry exactly when a request failed before execution (parse, validation, operation selection,
//! variable coercion, our limits), and GraphQL over HTTP answers those with 400 under
//! `application/graphql-response+json`; async-graphql returns both kinds as the same `Response` with
//! `data: null`, so an extension marks the moment execution starts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::Response;

/// Put into a request's data; set once execution starts. Requests without it (WebSocket operations) are
/// not tracked.
#[derive(Default)]
pub(crate) struct Reached(AtomicBool);

impl Reached {
    /// Whether execution started.
    pub(crate) fn executed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The schema extension that sets [`Reached`].
pub(crate) struct MarkExecution;

impl ExtensionFactory for MarkExecution {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MarkExecution)
    }
}

#[async_trait::async_trait]
impl Extension for MarkExecution {
    /// async-graphql calls this only after the document parsed, validated and its variables coerced.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(reached) = ctx.data_opt::<Arc<Reached>>() {
            reached.0.store(true, Ordering::Release);
        }
        next.run(ctx, operation_name).await
    }
}
