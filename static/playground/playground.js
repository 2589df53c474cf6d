// Starts GraphiQL on the playground page (templates/playground.html). A classic script, run after the
// pinned CDN scripts (all `defer`, so in order): those that loaded and passed their integrity check
// have set the globals React, ReactDOM, GraphiQL and graphqlWs. If any is missing, the page shows its
// fallback message instead of loading forever.
(function startPlayground() {
  'use strict';

  const root = document.getElementById('graphiql');
  const { React, ReactDOM, GraphiQL, graphqlWs } = window;

  /** Shows the page's fallback message (and hides "Loading…"). */
  function giveUp(reason) {
    document.body.classList.add('playground-failed');
    if (reason) console.error('GraphiQL did not start:', reason);
  }

  if (!React || !ReactDOM || !GraphiQL || !graphqlWs) {
    const missing = ['React', 'ReactDOM', 'GraphiQL', 'graphqlWs'].filter((name) => !window[name]);
    giveUp(`not loaded: ${missing.join(', ')}`);
    return;
  }

  // Same origin: the server refuses WebSockets from other origins.
  const wsUrl = new URL('/graphql/ws', window.location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  // Lazy: the socket opens with the first subscription and closes after the last one ends.
  const wsClient = graphqlWs.createClient({ url: wsUrl.href, lazy: true, retryAttempts: 3 });
  const fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    wsClient,
    // The server answers JSON only (no incremental delivery).
    enableIncrementalDelivery: false,
  });

  const defaultQuery = [
    '# gifchat GraphQL playground. Your identity is this browser\'s session, as on the pages.',
    '#',
    '# Queries and mutations go to POST /graphql; subscriptions run over graphql-ws at /graphql/ws.',
    '',
    '{ me { id color } }',
    '',
  ].join('\n');

  try {
    ReactDOM.createRoot(root).render(React.createElement(GraphiQL, { fetcher, defaultQuery }));
  } catch (error) {
    giveUp(error);
  }
})();
