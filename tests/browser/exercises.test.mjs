// The book's exercises as users see them, in real Chromium: the live member list (counted by member, not
// by tab), whispers that only their two members ever receive (checked down to the third member's raw
// WebSocket frames), the typing indicator, the owner handing over (by leaving and by the button),
// kicking (and the kicked member kept out), and deleting the room. Also takes screenshots of a room with
// the member list, a whisper and the owner tools under target/screenshots/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  profile, createRoom, waitJoined, say, notices, screenshot, makeGif, WAIT, serverAndBrowser,
} from './harness.mjs';

let server;
let browser;
serverAndBrowser({ graceSecs: 1, logName: 'exercises' }, (s, b) => { server = s; browser = b; });

/** The member id and colour of the profile whose room page this is. */
async function whoAmI(page) {
  const id = await page.getAttribute('#room', 'data-me');
  const entry = page.locator(`#member-list li[data-id="${id}"] .color-code`);
  await entry.waitFor({ timeout: WAIT });
  return { id, color: await entry.textContent() };
}

/** Waits until the member list shows `text` as its count (e.g. "3/4"). */
async function waitCount(page, text) {
  await page.waitForFunction((t) => document.getElementById('members-count')?.textContent === t, text, { timeout: WAIT });
}

/** Waits until a system notice with exactly `text` is on the page. */
async function waitNotice(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#chat-list .system > div')].some((n) => n.textContent === t),
    text,
    { timeout: WAIT },
  );
}

/** Opens the room in a fresh profile's page and waits until it holds its seat and shows the members. */
async function enter(p, base, roomId) {
  await p.page.goto(`${base}/room/${roomId}`);
  await waitJoined(p.page);
  await p.page.waitForSelector('#members:not([hidden])', { timeout: WAIT });
}

/** Records the text of every WebSocket frame the profile's pages receive. */
function recordFrames(p) {
  const frames = [];
  p.page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
  return frames;
}

function clean(p) {
  assert.deepEqual(p.cspViolations, [], 'no CSP violations');
  assert.deepEqual(p.pageErrors, [], 'no script errors');
  assert.deepEqual(p.dialogs, [], 'no dialogs');
}

test('member list and whispers: only the two members ever receive a whisper; typing shows and goes', async () => {
  const base = server.base;
  const A = await profile(browser);
  const B = await profile(browser);
  const C = await profile(browser);
  const framesC = recordFrames(C);
  const roomId = await createRoom(A.page, base, { title: '귓속말 방', max: 4 });
  await waitJoined(A.page);
  await enter(B, base, roomId);
  await enter(C, base, roomId);
  const a = await whoAmI(A.page);
  const b = await whoAmI(B.page);
  const c = await whoAmI(C.page);

  // Everyone sees three members of four places, A marked as owner, their own entry marked.
  for (const p of [A, B, C]) await waitCount(p.page, '3/4');
  const ownerEntries = await B.page.$$eval('#member-list li', (lis) =>
    lis.filter((li) => li.querySelector('.owner-badge')).map((li) => li.dataset.id));
  assert.deepEqual(ownerEntries, [a.id]);
  assert.equal(await B.page.textContent(`#member-list li[data-id="${a.id}"] .owner-badge`), '방장');
  assert.equal(await B.page.textContent(`#member-list li[data-id="${b.id}"] .yours`), '(나)');
  assert.equal(await B.page.locator(`#member-list li[data-id="${b.id}"] button`).count(), 0, 'no buttons on yourself');
  // A second tab of B is the same member: the count stays.
  const bTab = await B.context.newPage();
  await bTab.goto(`${base}/room/${roomId}`);
  await bTab.waitForSelector('#room[data-live="online"]', { timeout: WAIT });
  await waitCount(bTab, '3/4');
  await A.page.waitForTimeout(300);
  assert.equal(await A.page.textContent('#members-count'), '3/4');
  await bTab.close();

  // Typing: B types, A and C see it; it goes when B's message arrives.
  await B.page.focus('#chat');
  await B.page.keyboard.type('곧 보낼게요');
  await A.page.locator('#typing', { hasText: `${b.color}님이 입력 중…` }).waitFor({ timeout: WAIT });
  await C.page.locator('#typing', { hasText: `${b.color}님이 입력 중…` }).waitFor({ timeout: WAIT });
  assert.equal(await B.page.isHidden('#typing'), true, 'not shown to the one typing');
  await B.page.keyboard.press('Enter');
  await A.page.locator('#chat-list .bubble', { hasText: '곧 보낼게요' }).waitFor({ timeout: WAIT });
  await A.page.waitForSelector('#typing', { state: 'hidden', timeout: WAIT });

  // A picks B in the member list from the keyboard and whispers.
  const WHISPER = '비밀 이야기 7c1e';
  const whisperBtn = A.page.locator(`#member-list li[data-id="${b.id}"] .whisper-btn`);
  assert.equal(await whisperBtn.getAttribute('aria-label'), `${b.color}님에게 귓속말`);
  await whisperBtn.focus();
  await A.page.keyboard.press('Enter');
  assert.equal(await whisperBtn.getAttribute('aria-pressed'), 'true');
  assert.equal(await A.page.evaluate(() => document.activeElement.id), 'chat', 'focus moves to the message field');
  assert.equal((await A.page.textContent('#whisper-target')).trim(), `${b.color}님에게 귓속말`);
  await A.page.keyboard.type(WHISPER);
  await A.page.keyboard.press('Enter');
  const onB = B.page.locator('#chat-list .other.whisper', { hasText: WHISPER });
  await onB.waitFor({ timeout: WAIT });
  assert.equal(await onB.locator('.whisper-label').textContent(), '(나에게 귓속말)');
  const onA = A.page.locator('#chat-list .mine.whisper', { hasText: WHISPER });
  await onA.waitFor({ timeout: WAIT });
  assert.equal(await onA.locator('.whisper-label').textContent(), `(${b.color}님에게 귓속말)`);

  // Back to everyone: C receives the next message, so C's page was live all along.
  await A.page.click('#whisper-cancel');
  assert.equal(await A.page.isHidden('#whisper-bar'), true);
  await say(A.page, '모두에게 다시');
  await C.page.locator('#chat-list .bubble', { hasText: '모두에게 다시' }).waitFor({ timeout: WAIT });
  await B.page.locator('#chat-list .bubble', { hasText: '모두에게 다시' }).waitFor({ timeout: WAIT });
  assert.equal(await B.page.locator('#chat-list .whisper', { hasText: '모두에게 다시' }).count(), 0);

  // A GIF too, so the screenshots show every kind of entry.
  await A.page.setInputFiles('#gif', { name: 'stripes.gif', mimeType: 'image/gif', buffer: makeGif(120, 72) });
  await A.page.waitForFunction(() => [...document.querySelectorAll('#chat-list img.gif')].some((i) => i.complete && i.naturalWidth), null, { timeout: WAIT });
  await A.page.evaluate(() => { const l = document.getElementById('chat-list'); l.scrollTop = l.scrollHeight; });

  // Screenshots while whispering to B again (the bar above the field says to whom), desktop and phone:
  // on a phone the member list starts folded under the chat, so the message field stays on screen.
  await whisperBtn.click();
  await A.page.waitForSelector('#whisper-bar:not([hidden])');
  await screenshot(A.page, 'room-exercises-desktop');
  const phone = await A.context.newPage();
  await phone.setViewportSize({ width: 375, height: 740 });
  await phone.goto(`${base}/room/${roomId}`);
  await phone.waitForSelector('#members:not([hidden])', { timeout: WAIT });
  assert.equal(await phone.evaluate(() => document.getElementById('members-box').open), false, 'folded on a phone');
  await phone.click('#members-summary');
  await phone.click(`#member-list li[data-id="${b.id}"] .whisper-btn`);
  await phone.click('#members-summary');
  await phone.fill('#chat', '폰에서 귓속말');
  await screenshot(phone, 'room-exercises-375');
  await phone.click('#members-summary');
  await phone.evaluate(() => document.getElementById('members').scrollIntoView());
  await screenshot(phone, 'room-exercises-375-members');
  await phone.close();
  await A.page.click('#whisper-cancel');

  // Both members of the whisper find it in the server-rendered history after a reload; C does not.
  await B.page.reload();
  await B.page.locator('#chat-list .whisper .bubble', { hasText: WHISPER }).waitFor({ timeout: WAIT });
  await C.page.reload();
  await C.page.waitForSelector('#room[data-live="online"]', { timeout: WAIT });
  assert.ok(!(await C.page.content()).includes(WHISPER), "not in C's page");
  assert.ok(framesC.length > 5, 'C received frames');
  assert.ok(framesC.some((f) => f.includes('모두에게 다시')), 'frames were recorded as text');
  assert.ok(!framesC.some((f) => f.includes(WHISPER)), "never in C's WebSocket frames");
  const history = await C.context.request.post(`${base}/graphql`, {
    data: { query: 'query($id: ID!) { messages(roomId: $id, last: 100) { text } }', variables: { id: roomId } },
  });
  assert.ok(!JSON.stringify(await history.json()).includes(WHISPER), "not in C's history query");

  // Whispering to someone who left: B leaves, A's whisper target falls back to everyone with a note.
  await A.page.click(`#member-list li[data-id="${b.id}"] .whisper-btn`);
  await Promise.all([B.page.waitForURL(`${base}/`), B.page.click('#exit-btn')]);
  await waitCount(A.page, '2/4');
  await A.page.waitForSelector('#whisper-bar', { state: 'hidden', timeout: WAIT });
  assert.equal(await A.page.textContent('#whisper-note'), `${b.color}님이 방에 없어 모두에게 말하기로 돌아왔습니다.`);
  assert.equal(c.id.length > 0, true);
  for (const p of [A, B, C]) {
    clean(p);
    await p.context.close();
  }
});

test('owner handoff: leaving passes the room on, in the room and in the lobby; explicit hand-over', async () => {
  const base = server.base;
  const A = await profile(browser);
  const B = await profile(browser);
  const C = await profile(browser);
  const roomId = await createRoom(A.page, base, { title: '방장 위임', max: 5 });
  await waitJoined(A.page);
  await enter(B, base, roomId);
  await enter(C, base, roomId);
  const b = await whoAmI(B.page);
  const c = await whoAmI(C.page);
  await waitCount(A.page, '3/5');
  // Only the owner sees the owner tools.
  assert.equal(await A.page.isVisible('#owner-tools'), true);
  assert.equal(await A.page.locator('#member-list .kick-btn').count(), 2);
  assert.equal(await B.page.isHidden('#owner-tools'), true);
  assert.equal(await B.page.locator('#member-list .kick-btn, #member-list .hand-over-btn').count(), 0);

  // A leaves with 방 나가기: B (present longest) becomes the owner, live on every page.
  await Promise.all([A.page.waitForURL(`${base}/`), A.page.click('#exit-btn')]);
  // The new owner's own page names them "(나)" (issue 11).
  await waitNotice(B.page, `${b.color} (나)님이 방장이 되었습니다.`);
  await waitNotice(C.page, `${b.color}님이 방장이 되었습니다.`);
  await B.page.locator(`#member-list li[data-id="${b.id}"] .owner-badge`).waitFor({ timeout: WAIT });
  await C.page.locator(`#member-list li[data-id="${b.id}"] .owner-badge`).waitFor({ timeout: WAIT });
  await waitCount(C.page, '2/5');
  await B.page.waitForSelector('#owner-tools:not([hidden])', { timeout: WAIT });
  assert.equal(await B.page.locator('#member-list .kick-btn').count(), 1);
  assert.equal(await C.page.isHidden('#owner-tools'), true);
  // A's lobby shows B's colour as the owner.
  await A.page.waitForSelector('#lobby[data-live="ready"]', { timeout: WAIT });
  await A.page.waitForFunction(
    ([id, color]) => document.querySelector(`tr[data-id="${id}"] td.owner .color-code`)?.textContent === color,
    [roomId, b.color],
    { timeout: WAIT },
  );

  // B hands the room to C with the button (and confirms in the page): the tools move to C's page.
  await B.page.click(`#member-list li[data-id="${c.id}"] .hand-over-btn`);
  await B.page.click(`#member-list li[data-id="${c.id}"] .confirm-yes`);
  await waitNotice(B.page, `${c.color}님이 방장이 되었습니다.`);
  await waitNotice(C.page, `${c.color} (나)님이 방장이 되었습니다.`);
  await C.page.waitForSelector('#owner-tools:not([hidden])', { timeout: WAIT });
  await B.page.waitForSelector('#owner-tools', { state: 'hidden', timeout: WAIT });
  assert.equal(await B.page.locator('#member-list .kick-btn').count(), 0);

  // C closes the window without leaving: after the grace period (1 s here) C's exit is posted and the
  // room passes back to B, the only one left.
  await C.page.close();
  await waitNotice(B.page, `${c.color}님이 퇴장하셨습니다.`);
  await waitNotice(B.page, `${b.color} (나)님이 방장이 되었습니다.`);
  await B.page.waitForSelector('#owner-tools:not([hidden])', { timeout: WAIT });
  await waitCount(B.page, '1/5');
  assert.deepEqual(
    (await notices(B.page)).filter((n) => n.includes('방장')),
    [`${b.color} (나)님이 방장이 되었습니다.`, `${c.color}님이 방장이 되었습니다.`, `${b.color} (나)님이 방장이 되었습니다.`],
    'each handoff once, in order',
  );
  for (const p of [A, B, C]) {
    clean(p);
    await p.context.close();
  }
});

test('kick: the member lands in the lobby with a message and cannot get back in', async () => {
  const base = server.base;
  const A = await profile(browser);
  const B = await profile(browser);
  const C = await profile(browser);
  const roomId = await createRoom(A.page, base, { title: '강퇴 시험', max: 4 });
  await waitJoined(A.page);
  await enter(B, base, roomId);
  await enter(C, base, roomId);
  const c = await whoAmI(C.page);
  await waitCount(A.page, '3/4');

  await Promise.all([
    C.page.waitForURL(`${base}/?error=KICKED`, { timeout: WAIT }),
    // The kick asks first in the page (issue 11); confirming it kicks.
    A.page.click(`#member-list li[data-id="${c.id}"] .kick-btn`).then(() =>
      A.page.click(`#member-list li[data-id="${c.id}"] .confirm-yes`)),
  ]);
  assert.equal((await C.page.textContent('.error-message')).trim(), '방장이 당신을 내보냈습니다.');
  for (const p of [A, B]) {
    await waitNotice(p.page, `${c.color}님이 강퇴되었습니다.`);
    await waitCount(p.page, '2/4');
  }
  assert.equal(await B.page.locator(`#member-list li[data-id="${c.id}"]`).count(), 0);

  // The lobby shows the room as one C was removed from, with no active 입장 (issue 11)…
  await C.page.waitForSelector(`tr[data-id="${roomId}"].removed .join-off`, { timeout: WAIT });
  assert.equal(await C.page.locator(`tr[data-id="${roomId}"] .join-btn`).count(), 0);
  // …and the room's own address refuses, with a text that says why.
  await C.page.goto(`${base}/room/${roomId}`);
  assert.equal(new URL(C.page.url()).pathname, '/');
  assert.equal((await C.page.textContent('.error-message')).trim(), '방장이 내보낸 방에는 다시 들어갈 수 없습니다.');
  await A.page.waitForTimeout(300);
  assert.equal(await A.page.textContent('#members-count'), '2/4', 'the refused visit took no seat');
  for (const p of [A, B, C]) {
    clean(p);
    await p.context.close();
  }
});

test('delete: the owner deletes the room after confirming; everyone inside lands in the lobby', async () => {
  const base = server.base;
  const A = await profile(browser);
  const B = await profile(browser);
  const roomId = await createRoom(A.page, base, { title: '삭제될 방', max: 3 });
  await waitJoined(A.page);
  await enter(B, base, roomId);
  await waitCount(A.page, '2/3');

  // The first click only asks; cancelling keeps the room.
  await A.page.click('#delete-room');
  assert.equal(await A.page.isVisible('#delete-confirm'), true);
  assert.equal(await A.page.evaluate(() => document.activeElement.id), 'delete-no');
  await A.page.keyboard.press('Enter');
  assert.equal(await A.page.isHidden('#delete-confirm'), true);
  assert.equal(await A.page.evaluate(() => document.activeElement.id), 'delete-room');

  await A.page.click('#delete-room');
  await Promise.all([
    B.page.waitForURL(`${base}/?error=DELETED`, { timeout: WAIT }),
    A.page.waitForURL(`${base}/?error=DELETED`, { timeout: WAIT }),
    A.page.click('#delete-yes'),
  ]);
  assert.equal((await B.page.textContent('.error-message')).trim(), '방이 삭제되었습니다.');
  await B.page.waitForSelector('#lobby[data-live="ready"]', { timeout: WAIT });
  assert.equal(await B.page.locator(`tr[data-id="${roomId}"]`).count(), 0);
  assert.deepEqual(await notices(B.page), []);
  for (const p of [A, B]) {
    clean(p);
    await p.context.close();
  }
});

test('English readers get the exercise texts in English', async () => {
  const base = server.base;
  const A = await profile(browser, { locale: 'en-US' });
  const B = await profile(browser, { locale: 'en-US' });
  const roomId = await createRoom(A.page, base, { title: 'english room', max: 3 });
  await waitJoined(A.page);
  await enter(B, base, roomId);
  const b = await whoAmI(B.page);
  await waitCount(A.page, '2/3');
  assert.equal(await A.page.textContent(`#member-list li[data-id="${b.id}"] .kick-btn`), 'Remove');
  assert.equal((await A.page.textContent('#members-summary')).trim(), 'Members 2/3');
  await A.page.click(`#member-list li[data-id="${b.id}"] .hand-over-btn`);
  await A.page.click(`#member-list li[data-id="${b.id}"] .confirm-yes`);
  await waitNotice(B.page, `${b.color} (you) is now the owner.`);
  await B.page.focus('#chat');
  await B.page.keyboard.type('hello');
  await A.page.locator('#typing', { hasText: `${b.color} is typing…` }).waitFor({ timeout: WAIT });
  for (const p of [A, B]) {
    clean(p);
    await p.context.close();
  }
});
