// Hostile text in real Chromium: titles and messages that would run script if they were ever parsed as
// HTML. Each payload sets a global flag; the flag must stay unset, and each payload must show up as the
// literal text it is — in the live lobby, the server-rendered lobby, the room heading, live messages and
// server-rendered history.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { profile, createRoom, waitJoined, say, bubbles, WAIT, serverAndBrowser } from './harness.mjs';

let server;
let browser;
serverAndBrowser({ graceSecs: 2, logName: 'xss' }, (s, b) => { server = s; browser = b; });

const TITLE = '<img src=x onerror="window.__pwned=1">방';
const MESSAGES = [
  '<script>window.__pwned=2</script>',
  '<img src=x onerror=window.__pwned=3>',
  '"><svg onload=window.__pwned=4>',
  "');window.__pwned=5;('",
  '<a href="javascript:window.__pwned=6">click</a>',
];

async function assertClean(page, where) {
  assert.equal(await page.evaluate(() => window.__pwned), undefined, `no payload ran (${where})`);
  // The one inline script a page has is base.html's import map in <head>; nothing user-written is there.
  assert.equal(await page.locator('img[src="x"], svg, body script:not([src])').count(), 0, `no injected element (${where})`);
  assert.equal(await page.locator('head script:not([src]):not([type="importmap"])').count(), 0, `no injected element (${where})`);
}

test('XSS payloads as title and messages execute nothing and show as text', async () => {
  const base = server.base;
  const A = await profile(browser);
  const B = await profile(browser);
  await B.page.goto(`${base}/`);
  await B.page.waitForSelector('#lobby[data-live="ready"]', { timeout: WAIT });

  const roomId = await createRoom(A.page, base, { title: TITLE, max: 5 });
  await waitJoined(A.page);
  assert.equal(await A.page.textContent('h1'), TITLE);
  assert.equal(await A.page.title(), TITLE);

  // Live lobby row, then the server-rendered one.
  const cell = B.page.locator(`tr[data-id="${roomId}"] td.title`);
  await cell.waitFor({ timeout: WAIT });
  assert.equal(await cell.textContent(), TITLE);
  await assertClean(B.page, 'live lobby');
  await B.page.reload();
  assert.equal(await B.page.locator(`tr[data-id="${roomId}"] td.title`).textContent(), TITLE);
  await assertClean(B.page, 'rendered lobby');

  await Promise.all([B.page.waitForURL(`${base}/room/${roomId}`), B.page.click(`tr[data-id="${roomId}"] .join-btn`)]);
  await waitJoined(B.page);
  for (const m of MESSAGES) await say(A.page, m);
  await B.page.waitForFunction((n) => document.querySelectorAll('#chat-list .bubble').length >= n, MESSAGES.length, { timeout: WAIT });
  assert.deepEqual(await bubbles(B.page), MESSAGES);
  await assertClean(B.page, 'live messages');

  await B.page.reload();
  await B.page.waitForSelector('#room[data-live="online"]', { timeout: WAIT });
  assert.deepEqual(await bubbles(B.page), MESSAGES);
  await assertClean(B.page, 'rendered history');
  await assertClean(A.page, 'sender');
  for (const p of [A, B]) {
    assert.deepEqual(p.pageErrors, []);
    await p.context.close();
  }
});
