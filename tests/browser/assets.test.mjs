// Embedded assets in a real browser: every stylesheet, module and module import a page loads comes
// from a content-hashed URL (the import map in base.html rewrites `import … from './x.js'`), the page
// CSP lets that import map run and nothing else inline, and the favicon is there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { profile, createRoom, waitJoined, WAIT, serverAndBrowser } from './harness.mjs';

let server;
let browser;
serverAndBrowser({ logName: 'assets' }, (s, b) => { server = s; browser = b; });

const HASHED = /^\/static\/.+\.[0-9a-f]{16}\.[a-z]+$/;

test('pages load every asset and every imported module from hashed URLs', async () => {
  const p = await profile(browser);
  const statics = () => p.urls.filter((u) => u.startsWith(`${server.base}/static/`)).map((u) => new URL(u).pathname);

  await p.page.goto(`${server.base}/`);
  await p.page.waitForSelector('#lobby[data-live="ready"]', { timeout: WAIT });
  await createRoom(p.page, server.base, { title: 'hashed assets' });
  await waitJoined(p.page);

  const loaded = [...new Set(statics())];
  // Positive controls: the stylesheet, both entry modules and modules they import were loaded...
  for (const name of ['main', 'js/lobby', 'js/room', 'js/gql', 'js/dom']) {
    assert.ok(loaded.some((u) => u.startsWith(`/static/${name}.`)), `${name} loaded: ${loaded}`);
  }
  // ...and every one of them by its hashed URL, none by a plain one.
  assert.deepEqual(loaded.filter((u) => !HASHED.test(u)), [], 'no plain /static/ URL');
  assert.deepEqual(p.cspViolations, []);
  assert.deepEqual(p.pageErrors, []);

  const icon = await p.page.getAttribute('link[rel="icon"]', 'href');
  assert.match(icon, HASHED);
  const resp = await p.page.request.get(`${server.base}${icon}`);
  assert.equal(resp.status(), 200);
  assert.equal(resp.headers()['content-type'], 'image/svg+xml');
  await p.context.close();
});
