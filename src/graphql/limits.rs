//! An alias limit, which async-graphql 7.2 lacks (8.0 adds one): aliases let one request ask for the
//! same expensive field many times under different names, which depth and complexity limits score low.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// Refuses documents with more than `max` aliased fields (counted over operations and fragment definitions).
pub struct AliasLimit {
    /// The largest allowed number of aliases.
    pub max: usize,
}

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExtension { max: self.max })
    }
}

struct AliasLimitExtension {
    max: usize,
}

fn count(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => usize::from(f.node.alias.is_some()) + count(&f.node.selection_set.node),
            Selection::InlineFragment(f) => count(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0, // the fragment's own definition is counted once
        })
        .sum()
}

/// Aliases in a whole document.
pub fn aliases(doc: &ExecutableDocument) -> usize {
    let ops: usize = match &doc.operations {
        DocumentOperations::Single(op) => count(&op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => ops.values().map(|op| count(&op.node.selection_set.node)).sum(),
    };
    ops + doc.fragments.values().map(|f| count(&f.node.selection_set.node)).sum::<usize>()
}

#[async_trait::async_trait]
impl Extension for AliasLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let n = aliases(&doc);
        if n > self.max {
            return Err(ServerError::new(format!("the query has {n} aliases; at most {} are allowed", self.max), None));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: me { id } b: me { c: id } ...F } fragment F on QueryRoot { d: rooms { id } }",
        )
        .unwrap();
        assert_eq!(aliases(&doc), 4);
    }

    #[test]
    fn plain_fields_are_not_aliases() {
        let doc = async_graphql::parser::parse_query("{ me { id color } rooms { id } }").unwrap();
        assert_eq!(aliases(&doc), 0);
    }
}
