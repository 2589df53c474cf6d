// Two browser profiles chat in real Chromium: live lobby, entering, text both ways, a GIF, a reload
// without exit/join noise, leaving, and the room vanishing from a third profile's lobby. Also takes the
// lobby and room screenshots (desktop and 375 px) under target/screenshots/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  profile, createRoom, waitJoined, say, bubbles, notices, screenshot, makeGif, WAIT, serverAndBrowser,
} from './harness.mjs';

let server;
let browser;
serverAndBrowser({ graceSecs: 2, logName: 'chat' }, (s, b) => { server = s; browser = b; });

/** The member colour a profile has in the room it is on (a visitor gets one on entering a room). */
async function myColor(page) {
  return page.getAttribute('#room', 'data-my-color');
}

test('two profiles: live lobby, chat both ways, a GIF, reload without notices, leaving', async () => {
  const base = server.base;
  const A = await profile(browser);
  const B = await profile(browser);
  const C = await profile(browser);

  // B watches the lobby before the room exists.
  await B.page.goto(`${base}/`);
  await B.page.waitForSelector('#lobby[data-live="ready"]', { timeout: WAIT });
  // Looking creates no identity: the lobby says when a colour comes instead of showing one.
  assert.equal((await B.page.textContent('.me.no-color')).trim(), '방을 만들거나 방에 들어가면 내 색이 정해집니다.');
  await A.page.goto(`${base}/`);

  const roomId = await createRoom(A.page, base, { title: '수다방', max: 4 });
  await waitJoined(A.page);
  const colorA = await myColor(A.page);
  assert.match(colorA, /^#[0-9a-f]{6}$/);
  // A's own notice names A as "(나)" (issue 11).
  assert.deepEqual(await notices(A.page), [`${colorA} (나)님이 입장하셨습니다.`]);

  // It appears in B's lobby without a reload, with A's colour as owner.
  const row = B.page.locator(`tr[data-id="${roomId}"]`);
  await row.waitFor({ timeout: WAIT });
  assert.equal(await row.locator('td.title').textContent(), '수다방');
  assert.equal(await row.locator('td.kind').textContent(), '공개방');
  assert.equal((await row.locator('td.owner .color-code').textContent()).trim(), colorA);
  await B.page.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] td.count`).textContent.startsWith('1'), roomId, { timeout: WAIT });

  // B enters; both see B's join notice.
  await Promise.all([B.page.waitForURL(`${base}/room/${roomId}`), row.locator('.join-btn').click()]);
  await waitJoined(B.page);
  const colorB = await myColor(B.page);
  assert.notEqual(colorA, colorB);
  await A.page.waitForFunction((t) => [...document.querySelectorAll('#chat-list .system')].some((n) => n.textContent.includes(t)), `${colorB}님이 입장하셨습니다.`, { timeout: WAIT });

  // Text both ways; mine right, other left.
  await say(A.page, '안녕하세요, B!');
  await B.page.locator('#chat-list .other .bubble', { hasText: '안녕하세요, B!' }).waitFor({ timeout: WAIT });
  await A.page.locator('#chat-list .mine .bubble', { hasText: '안녕하세요, B!' }).waitFor({ timeout: WAIT });
  await say(B.page, '반가워요 A');
  await A.page.locator('#chat-list .other .bubble', { hasText: '반가워요 A' }).waitFor({ timeout: WAIT });
  assert.equal(await B.page.locator('#chat-list .mine .bubble', { hasText: '반가워요 A' }).count(), 1);

  // A uploads a GIF; B sees it load, with alt text naming the sender.
  await A.page.setInputFiles('#gif', { name: 'stripes.gif', mimeType: 'image/gif', buffer: makeGif(160, 100) });
  const gifOnB = B.page.locator('#chat-list .other img.gif');
  await gifOnB.waitFor({ timeout: WAIT });
  await B.page.waitForFunction(() => {
    const img = document.querySelector('#chat-list .other img.gif');
    return img && img.complete && img.naturalWidth === 160;
  }, null, { timeout: WAIT });
  assert.equal(await gifOnB.getAttribute('alt'), `${colorA}님이 올린 GIF`);
  await A.page.locator('#chat-list .mine img.gif').waitFor({ timeout: WAIT });

  // A file that is not a GIF gets a clear message, not silence.
  await A.page.setInputFiles('#gif', { name: 'fake.gif', mimeType: 'image/gif', buffer: Buffer.from('\x89PNG\r\n\x1a\nnot a gif at all') });
  await A.page.locator('#upload-message', { hasText: 'GIF 파일만 올릴 수 있습니다.' }).waitFor({ timeout: WAIT });
  // A file over the limit is refused with the limit named.
  await A.page.setInputFiles('#gif', { name: 'big.gif', mimeType: 'image/gif', buffer: Buffer.alloc(5 * 1024 * 1024 + 1) });
  await A.page.locator('#upload-message', { hasText: '파일이 너무 큽니다. 최대 5 MiB' }).waitFor({ timeout: WAIT });
  await A.page.evaluate(() => { document.getElementById('upload-message').textContent = ''; document.getElementById('upload-message').hidden = true; });

  // Screenshots: the room with a GIF at desktop and phone width.
  await A.page.waitForFunction(() => [...document.querySelectorAll('img.gif')].every((i) => i.complete), null, { timeout: WAIT });
  await screenshot(A.page, 'room-desktop');
  await A.page.setViewportSize({ width: 375, height: 740 });
  await A.page.evaluate(() => { const l = document.getElementById('chat-list'); l.scrollTop = l.scrollHeight; });
  await screenshot(A.page, 'room-375');
  await A.page.setViewportSize({ width: 1100, height: 800 });

  // B reloads: history is back, and neither side gets an exit or join notice.
  const noticesA = await notices(A.page);
  await B.page.reload();
  await B.page.waitForSelector('#room[data-live="online"]', { timeout: WAIT });
  assert.ok((await bubbles(B.page)).includes('안녕하세요, B!'), 'history is rendered after a reload');
  await say(B.page, '새로고침 했어요');
  await A.page.locator('#chat-list .bubble', { hasText: '새로고침 했어요' }).waitFor({ timeout: WAIT });
  await A.page.waitForTimeout(2500); // longer than the grace period
  assert.deepEqual(await notices(A.page), noticesA, 'a reload posts no exit/join');

  // C owns a secret room (kept open in a second tab), so the lobby shows both kinds and C's own colour.
  const cTab = await C.context.newPage();
  const cRoom = await createRoom(cTab, base, { title: '비밀 작업실', max: 2, password: 'c-secret-pw' });
  await waitJoined(cTab);

  // C's lobby: the room with two members, then screenshots of the lobby.
  await C.page.goto(`${base}/`);
  await C.page.locator(`tr[data-id="${cRoom}"] .yours`).waitFor({ timeout: WAIT });
  assert.equal(await C.page.locator(`tr[data-id="${cRoom}"] td.kind`).textContent(), '비밀방');
  assert.equal(await C.page.locator(`tr[data-id="${roomId}"] .yours`).count(), 0);
  const rowC = C.page.locator(`tr[data-id="${roomId}"]`);
  await rowC.waitFor({ timeout: WAIT });
  await C.page.waitForSelector('#lobby[data-live="ready"]', { timeout: WAIT });
  assert.match(await rowC.locator('td.count').textContent(), /^2/);
  await screenshot(C.page, 'lobby-desktop');
  await C.page.setViewportSize({ width: 375, height: 740 });
  await screenshot(C.page, 'lobby-375');
  await C.page.setViewportSize({ width: 1100, height: 800 });

  // A leaves at once: B sees the exit notice, C's count drops.
  await Promise.all([A.page.waitForURL(`${base}/`), A.page.click('#exit-btn')]);
  await B.page.waitForFunction((t) => [...document.querySelectorAll('#chat-list .system > div')].some((n) => n.textContent === t), `${colorA}님이 퇴장하셨습니다.`, { timeout: WAIT });
  await C.page.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] td.count`)?.textContent.startsWith('1'), roomId, { timeout: WAIT });

  // B leaves: the room is deleted, C's lobby loses it without a reload.
  await Promise.all([B.page.waitForURL(`${base}/`), B.page.click('#exit-btn')]);
  await rowC.waitFor({ state: 'detached', timeout: WAIT });

  for (const p of [A, B, C]) {
    assert.deepEqual(p.cspViolations, [], 'no CSP violations');
    assert.deepEqual(p.pageErrors, [], 'no script errors');
    await p.context.close();
  }
});
