// History in real Chromium: the room page renders the latest page on the server, loads earlier pages as
// the reader scrolls up (keeping the view in place), and only follows new messages while the reader is
// at the bottom.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { profile, createRoom, waitJoined, say, bubbles, WAIT, serverAndBrowser } from './harness.mjs';

let server;
let browser;
serverAndBrowser({ graceSecs: 2, logName: 'history' }, (s, b) => { server = s; browser = b; });

test('earlier messages load on scroll up; new ones scroll into view only at the bottom', async () => {
  const base = server.base;
  const A = await profile(browser);
  const B = await profile(browser);
  const roomId = await createRoom(A.page, base, { title: '긴 대화', max: 5 });
  await waitJoined(A.page);
  const sent = [];
  for (let i = 1; i <= 120; i++) {
    const text = `message ${i}`;
    const res = await A.context.request.post(`${base}/graphql`, {
      data: { query: 'mutation($r: ID!, $t: String!) { sendMessage(roomId: $r, text: $t) { seq } }', variables: { r: roomId, t: text } },
    });
    assert.equal((await res.json()).errors, undefined);
    sent.push(text);
  }

  await B.page.goto(`${base}/room/${roomId}`);
  await waitJoined(B.page);
  // The server rendered the latest 50 events (B's own join notice arrived live after them).
  const first = await bubbles(B.page);
  assert.deepEqual(first, sent.slice(-50));
  const atBottom = () => B.page.$eval('#chat-list', (l) => l.scrollHeight - l.scrollTop - l.clientHeight < 60);
  assert.ok(await atBottom(), 'opens at the newest message');

  // Scrolling to the top loads the page before, twice, until the start of the room.
  for (let round = 0; round < 3; round++) {
    await B.page.$eval('#chat-list', (l) => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); });
    await B.page.waitForTimeout(400);
  }
  await B.page.waitForFunction((n) => document.querySelectorAll('#chat-list .bubble').length >= n, sent.length, { timeout: WAIT });
  assert.deepEqual(await bubbles(B.page), sent);

  // Scrolled up, a new message does not pull the view down; at the bottom it does.
  await B.page.$eval('#chat-list', (l) => { l.scrollTop = 100; l.dispatchEvent(new Event('scroll')); });
  const top = await B.page.$eval('#chat-list', (l) => l.scrollTop);
  await say(A.page, 'while B reads old ones');
  await B.page.locator('#chat-list .bubble', { hasText: 'while B reads old ones' }).waitFor({ timeout: WAIT });
  assert.equal(await B.page.$eval('#chat-list', (l) => l.scrollTop), top);
  await B.page.$eval('#chat-list', (l) => { l.scrollTop = l.scrollHeight; l.dispatchEvent(new Event('scroll')); });
  await say(A.page, 'now B follows');
  await B.page.locator('#chat-list .bubble', { hasText: 'now B follows' }).waitFor({ timeout: WAIT });
  await B.page.waitForFunction(() => { const l = document.getElementById('chat-list'); return l.scrollHeight - l.scrollTop - l.clientHeight < 60; }, null, { timeout: WAIT });

  for (const p of [A, B]) {
    assert.deepEqual(p.pageErrors, []);
    await p.context.close();
  }
});
