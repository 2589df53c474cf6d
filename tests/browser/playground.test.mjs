// The GraphiQL playground (`GET /graphql`) in a real browser. Its CDN files are served to the browser
// from the pinned npm packages in node_modules (devDependencies in package-lock.json), so the page's
// integrity hashes are checked against the very files the CDN serves for those versions.
// A query, a mutation and a live subscription are run through GraphiQL's own UI; when the CDN is
// unreachable or serves a tampered file, the page shows its fallback message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { profile, screenshot, repo, WAIT, serverAndBrowser } from './harness.mjs';

const MODULES = join(repo, 'tests', 'browser', 'node_modules');
const CDN = 'https://unpkg.com/';

let server;
let browser;
serverAndBrowser({ logName: 'playground' }, (s, b) => { server = s; browser = b; });

/**
 * Answers `https://unpkg.com/<package>@<version>/<file>` from node_modules, as the CDN would (with CORS,
 * which `crossorigin="anonymous"` needs). A version other than the installed one is a 404: the page
 * must ask for exactly the pinned files. `tamper` changes the bytes of files whose path matches it.
 */
async function serveCdnFromNodeModules(context, { tamper = null } = {}) {
  const served = [];
  await context.route(`${CDN}**`, async (route) => {
    const url = route.request().url();
    const m = new URL(url).pathname.match(/^\/((?:@[^/]+\/)?[^@/]+)@([^/]+)\/(.+)$/);
    const installed = m && JSON.parse(readFileSync(join(MODULES, m[1], 'package.json'), 'utf8')).version;
    if (!m || installed !== m[2]) {
      await route.fulfill({ status: 404, body: 'not pinned' });
      return;
    }
    let body = readFileSync(join(MODULES, m[1], m[3]));
    if (tamper && tamper.test(m[3])) body = Buffer.concat([body, Buffer.from('\n/* changed */\n')]);
    served.push(url);
    const contentType = m[3].endsWith('.css') ? 'text/css; charset=utf-8' : 'application/javascript; charset=utf-8';
    await route.fulfill({ status: 200, body, contentType, headers: { 'access-control-allow-origin': '*' } });
  });
  return served;
}

/**
 * Puts `text` into GraphiQL's query editor (its CodeMirror instance), waits until GraphiQL has parsed
 * it (it does so shortly after each change, and decides HTTP or WebSocket from that parse), and presses
 * the run button.
 */
async function run(page, text) {
  await page.evaluate((q) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q);
  }, text);
  await page.waitForFunction(
    (q) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.documentAST?.loc?.source?.body === q,
    text,
    { timeout: WAIT },
  );
  await page.click('.graphiql-execute-button');
}

/** The text of GraphiQL's response pane. */
async function response(page) {
  return page.evaluate(() => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '');
}

/** Waits until the response pane parses as JSON satisfying `ok`, and returns it. */
async function waitResponse(page, ok) {
  let last = '';
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    last = await response(page);
    try {
      const json = JSON.parse(last);
      if (ok(json)) return json;
    } catch {
      // Not (yet) a complete JSON document.
    }
    await page.waitForTimeout(50);
  }
  throw new Error(`no matching response; last shown: ${last}`);
}

test('the playground runs a query, a mutation and a live subscription over /graphql/ws', async () => {
  const p = await profile(browser, { width: 1280, height: 800 });
  const served = await serveCdnFromNodeModules(p.context);
  const sockets = [];
  p.page.on('websocket', (ws) => sockets.push(ws.url()));
  await p.page.goto(`${server.base}/graphql`);
  await p.page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: WAIT });

  // Every pinned file came from the (intercepted) CDN and passed its integrity check; nothing failed.
  for (const file of ['react@18.3.1/', 'react-dom@18.3.1/', 'graphql-ws@6.4.2/', 'graphiql@4.1.2/graphiql.min.js', 'graphiql@4.1.2/graphiql.min.css']) {
    assert.ok(served.some((u) => u.startsWith(CDN + file)), `${file} requested: ${served}`);
  }
  assert.equal(await p.page.isVisible('#playground-fallback'), false, 'no fallback once GraphiQL runs');

  // Looking around (the playground, a query) gives no identity yet: `me` is null ...
  await run(p.page, '{ me { id color } }');
  await waitResponse(p.page, (j) => j.data && j.data.me === null);

  await run(p.page, 'mutation { createRoom(title: "playground room", capacity: 3) { id title capacity } }');
  const created = await waitResponse(p.page, (j) => j.data?.createRoom);
  assert.equal(created.data.createRoom.title, 'playground room');
  // ... creating a room gives one, kept by the page's cookie.
  await run(p.page, '{ me { id color } }');
  const me = await waitResponse(p.page, (j) => j.data?.me);
  assert.match(me.data.me.color, /^#[0-9a-f]{6}$/);
  assert.ok(me.data.me.id.length > 0);
  // The mutation really happened, as the same session (the page's cookie) sees it over plain HTTP.
  const check = await p.page.evaluate(async (id) => {
    const r = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($id: ID!) { room(id: $id) { title capacity } }', variables: { id } }),
    });
    return r.json();
  }, created.data.createRoom.id);
  assert.deepEqual(check.data.room, { title: 'playground room', capacity: 3 });
  assert.equal(sockets.length, 0, 'queries and mutations go by HTTP, not over a socket');

  await run(p.page, 'subscription { lobby { __typename ... on RoomCreated { room { title } } } }');
  await waitResponse(p.page, (j) => j.data?.lobby?.__typename === 'LobbySnapshot');
  assert.deepEqual(sockets, [`${server.base.replace('http', 'ws')}/graphql/ws`]);

  // Another visitor creates a room; the open subscription shows it live.
  const other = await profile(browser);
  await other.page.goto(`${server.base}/`);
  await other.page.evaluate(async () => {
    await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { createRoom(title: "seen live") { id } }' }),
    });
  });
  const live = await waitResponse(p.page, (j) => j.data?.lobby?.__typename === 'RoomCreated');
  assert.equal(live.data.lobby.room.title, 'seen live');
  await screenshot(p.page, 'playground');

  assert.deepEqual(p.cspViolations, []);
  assert.deepEqual(p.pageErrors, []);
  await other.context.close();
  await p.context.close();
});

test('an unreachable CDN shows the fallback message, not "Loading…" forever', async () => {
  const p = await profile(browser, { width: 1280, height: 800 });
  await p.context.route(`${CDN}**`, (route) => route.abort('internetdisconnected'));
  await p.page.goto(`${server.base}/graphql`);
  // Well before the CSS timer (20 s): playground.js saw the missing scripts.
  await p.page.waitForSelector('#playground-fallback', { state: 'visible', timeout: WAIT });
  assert.equal(await p.page.isVisible('#playground-loading'), false);
  assert.match(await p.page.textContent('#playground-fallback'), /GraphiQL could not load/);
  assert.equal(await p.page.$('.graphiql-container'), null);
  await screenshot(p.page, 'playground-fallback');
  await p.context.close();
});

test('a CDN file that does not match its integrity hash is refused and the fallback shows', async () => {
  const p = await profile(browser, { width: 1280, height: 800 });
  const served = await serveCdnFromNodeModules(p.context, { tamper: /graphiql\.min\.js$/ });
  await p.page.goto(`${server.base}/graphql`);
  await p.page.waitForSelector('#playground-fallback', { state: 'visible', timeout: WAIT });
  // The tampered file was delivered (so the refusal is the browser's integrity check) and did not run.
  assert.ok(served.some((u) => u.endsWith('graphiql.min.js')), `${served}`);
  assert.equal(await p.page.evaluate(() => typeof window.GraphiQL), 'undefined');
  assert.equal(await p.page.evaluate(() => typeof window.React), 'object', 'the untampered files did run');
  await p.context.close();
});
