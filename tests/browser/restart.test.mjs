// Reconnects in real Chromium: the server is killed (SIGKILL, then a graceful SIGTERM) and restarted on
// the same port and data directory while a room page stays open. The page reconnects by itself,
// resumes after the last seq it saw, and shows what was sent meanwhile exactly once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, profile, createRoom, waitJoined, say, bubbles, WAIT } from './harness.mjs';

let server;
let browser;

before(async () => {
  // A grace period long enough for the pages to come back after the restart (seats are kept for one).
  server = await startServer({ graceSecs: 8, logName: 'restart' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

/** Sends a message as the profile behind `context` over HTTP, with its session cookie. */
async function sendAs(context, base, roomId, text) {
  const res = await context.request.post(`${base}/graphql`, {
    data: {
      query: 'mutation($r: ID!, $t: String!) { sendMessage(roomId: $r, text: $t) { seq } }',
      variables: { r: roomId, t: text },
    },
  });
  const body = await res.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data.sendMessage.seq;
}

async function restart(signal) {
  const { port, dataDir } = server;
  await server.stop(signal);
  server = await startServer({ dataDir, port, graceSecs: 8, logName: 'restart' });
}

test('an open room page reconnects after the server restarts and shows messages sent meanwhile', async () => {
  const base = server.base;
  const A = await profile(browser);
  const B = await profile(browser);
  const roomId = await createRoom(A.page, base, { title: '재시작 테스트', max: 5 });
  await waitJoined(A.page);
  await B.page.goto(`${base}/room/${roomId}`);
  await waitJoined(B.page);
  await say(A.page, 'before');
  await B.page.locator('#chat-list .bubble', { hasText: 'before' }).waitFor({ timeout: WAIT });

  for (const [round, signal] of [[1, 'SIGKILL'], [2, 'SIGTERM']]) {
    // Record whether A's page ever says it lost the link: it may be back before the test could look.
    await A.page.evaluate(() => {
      const status = document.getElementById('conn-status');
      window.__sawOffline = false;
      new MutationObserver(() => {
        if (!status.hidden && status.textContent) window.__sawOffline = true;
      }).observe(status, { attributes: true, childList: true, characterData: true, subtree: true });
    });
    await restart(signal);
    const meanwhile = [`meanwhile ${round}a`, `meanwhile ${round}b`, `meanwhile ${round}c`];
    for (const text of meanwhile) await sendAs(B.context, base, roomId, text);
    await A.page.waitForFunction(
      (last) => [...document.querySelectorAll('#chat-list .bubble')].some((n) => n.textContent === last),
      meanwhile[2],
      { timeout: 20_000 },
    );
    await A.page.waitForSelector('#room[data-live="online"]', { timeout: WAIT });
    assert.equal(await A.page.locator('#conn-status').isHidden(), true);
    assert.equal(await A.page.evaluate(() => window.__sawOffline), true, 'the page told the reader it was reconnecting');

    // And it is live again both ways.
    await say(A.page, `after ${round}`);
    await B.page.locator('#chat-list .bubble', { hasText: `after ${round}` }).waitFor({ timeout: 20_000 });
  }

  // Everything once, in order, on both pages; no exit notice from the restarts.
  const expected = ['before', 'meanwhile 1a', 'meanwhile 1b', 'meanwhile 1c', 'after 1', 'meanwhile 2a', 'meanwhile 2b', 'meanwhile 2c', 'after 2'];
  assert.deepEqual(await bubbles(A.page), expected);
  await B.page.waitForFunction((n) => document.querySelectorAll('#chat-list .bubble').length >= n, expected.length, { timeout: WAIT });
  assert.deepEqual(await bubbles(B.page), expected);
  const seqs = await A.page.$$eval('#chat-list [data-seq]', (nodes) => nodes.map((n) => Number(n.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
  assert.equal(new Set(seqs).size, seqs.length, 'no seq twice');
  assert.equal(await A.page.locator('#chat-list .system', { hasText: '퇴장' }).count(), 0, 'a restart is not an exit');
  for (const p of [A, B]) {
    assert.deepEqual(p.pageErrors, []);
    await p.context.close();
  }
});
