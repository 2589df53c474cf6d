// The room page as new users meet it (issue 11), in real Chromium at 1280×800 and 375×740: GIFs that
// respect whisper mode (down to the file), owner actions that ask first, refusals in the page's
// language, the character limit, sending while offline, and the small things (focus, placeholder,
// "(나)", runs of one sender, the new-messages hint, links, local times, the phone layout). Writes the
// room screenshots docs/room-desktop.png and docs/room-phone.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  repo, profile, createRoom, waitJoined, say, bubbles, notices, makeGif, WAIT, serverAndBrowser,
} from './harness.mjs';

let server;
let browser;
serverAndBrowser({ graceSecs: 1, logName: 'room' }, (s, b) => { server = s; browser = b; });

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 740 };

/** Opens the room in the profile's page and waits until it holds its seat and shows the members. */
async function enter(p, roomId) {
  await p.page.goto(`${server.base}/room/${roomId}`);
  await waitJoined(p.page);
  await p.page.waitForSelector('#members:not([hidden])', { timeout: WAIT });
}

/** The member id and colour of the profile whose room page this is. */
async function whoAmI(page) {
  const id = await page.getAttribute('#room', 'data-me');
  // Attached, not necessarily visible: on a phone the member list starts folded.
  const entry = page.locator(`#member-list li[data-id="${id}"] .color-code`);
  await entry.waitFor({ state: 'attached', timeout: WAIT });
  return { id, color: await entry.textContent() };
}

async function waitCount(page, text) {
  await page.waitForFunction((t) => document.getElementById('members-count')?.textContent === t, text, { timeout: WAIT });
}

/** Runs a GraphQL operation from the page (same origin, its session) and returns the whole answer. */
async function gqlFrom(page, query, variables = {}) {
  return page.evaluate(async ([q, v]) => {
    const r = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q, variables: v }) });
    return r.json();
  }, [query, variables]);
}

/** Texts of the messages in the room's history as `page`'s member may read it (server truth). */
async function historyTexts(page, roomId) {
  const body = await gqlFrom(page, 'query($r: ID!) { messages(roomId: $r, last: 100) { kind text } }', { r: roomId });
  return body.data.messages.filter((m) => m.text !== null).map((m) => m.text);
}

function clean(p) {
  assert.deepEqual(p.cspViolations, [], 'no CSP violations');
  assert.deepEqual(p.pageErrors, [], 'no script errors');
  assert.deepEqual(p.dialogs, [], 'no dialogs');
}

async function closeAll(...ps) {
  for (const p of ps) {
    clean(p);
    await p.context.close();
  }
}

test('a GIF uploaded while whispering reaches only the pair, live, after a reload, and as a file', async () => {
  const A = await profile(browser, DESKTOP);
  const B = await profile(browser, DESKTOP);
  const C = await profile(browser, DESKTOP);
  const roomId = await createRoom(A.page, server.base, { title: '귓속말 GIF', max: 4 });
  await waitJoined(A.page);
  await enter(B, roomId);
  await enter(C, roomId);
  const b = await whoAmI(B.page);
  await waitCount(A.page, '3/4');

  // A whispers to B and uploads a GIF: the pair sees it marked as a whisper.
  await A.page.click(`#member-list li[data-id="${b.id}"] .whisper-btn`);
  await A.page.waitForSelector('#whisper-bar:not([hidden])');
  await A.page.setInputFiles('#gif', { name: 'secret.gif', mimeType: 'image/gif', buffer: makeGif(40, 30) });
  const onB = B.page.locator('#chat-list .other.whisper img.gif');
  await onB.waitFor({ timeout: WAIT });
  await A.page.locator('#chat-list .mine.whisper img.gif').waitFor({ timeout: WAIT });
  assert.equal(await B.page.textContent('#chat-list .other.whisper .whisper-label'), '(나에게 귓속말)');
  const secretUrl = await onB.getAttribute('src');
  await B.page.waitForFunction(() => document.querySelector('#chat-list .whisper img.gif')?.naturalWidth === 40, null, { timeout: WAIT });

  // Back to everyone: the next GIF is public, and C sees that one — and only that one.
  await A.page.click('#whisper-cancel');
  await A.page.setInputFiles('#gif', { name: 'public.gif', mimeType: 'image/gif', buffer: makeGif(50, 30) });
  await C.page.locator('#chat-list .other img.gif').waitFor({ timeout: WAIT });
  await B.page.waitForFunction(() => document.querySelectorAll('#chat-list img.gif').length === 2, null, { timeout: WAIT });
  assert.equal(await C.page.locator('#chat-list img.gif').count(), 1, 'C sees the public GIF only');
  assert.notEqual(await C.page.getAttribute('#chat-list img.gif', 'src'), secretUrl);

  // After a reload (server-rendered history) the same split holds.
  await C.page.reload();
  await C.page.waitForSelector('#chat-list img.gif');
  assert.equal(await C.page.locator('#chat-list img.gif').count(), 1, 'C after a reload: still the public one only');
  await B.page.reload();
  await B.page.waitForSelector('#chat-list .whisper img.gif');
  assert.equal(await B.page.locator('#chat-list img.gif').count(), 2, 'B after a reload: both');

  // The file: B may fetch it, C gets 404 for it and 200 for the public one.
  const status = (p, url) => p.page.evaluate(async (u) => (await fetch(u)).status, url);
  const publicUrl = await C.page.getAttribute('#chat-list img.gif', 'src');
  assert.equal(await status(B, secretUrl), 200);
  assert.equal(await status(C, secretUrl), 404, 'the third member cannot fetch the whispered GIF');
  assert.equal(await status(C, publicUrl), 200, 'but fetches the public one');
  await closeAll(A, B, C);
});

test('hand-over and kick ask first in the page; a kick says it is permanent; cancel changes nothing', async () => {
  const A = await profile(browser, DESKTOP);
  const B = await profile(browser, DESKTOP);
  const roomId = await createRoom(A.page, server.base, { title: '확인하는 방장', max: 4 });
  await waitJoined(A.page);
  await enter(B, roomId);
  const b = await whoAmI(B.page);
  await waitCount(A.page, '2/4');
  const entry = `#member-list li[data-id="${b.id}"]`;

  // Hand-over: the first click only asks, with focus on Cancel; cancelling keeps A the owner.
  await A.page.click(`${entry} .hand-over-btn`);
  assert.equal((await A.page.textContent(`${entry} .member-confirm p`)).trim(), `${b.color}님에게 방장을 넘길까요? 넘기면 방장 기능을 더는 쓸 수 없습니다.`);
  assert.equal(await A.page.evaluate(() => document.activeElement.dataset.action), 'confirm-no');
  await A.page.keyboard.press('Enter');
  assert.equal(await A.page.locator('.member-confirm').count(), 0);
  assert.equal(await A.page.evaluate(() => document.activeElement.dataset.action), 'hand-over');
  // Kick: the question says it is for good, in this room.
  await A.page.click(`${entry} .kick-btn`);
  const kickQuestion = (await A.page.textContent(`${entry} .member-confirm p`)).trim();
  assert.equal(kickQuestion, `${b.color}님을 강퇴할까요? 강퇴된 사람은 이 방에 다시 들어올 수 없습니다.`);
  await A.page.click(`${entry} .confirm-no`);
  await A.page.waitForTimeout(300);
  assert.equal(await B.page.locator('#owner-tools:not([hidden])').count(), 0, 'cancelled: B did not become owner');
  assert.equal(B.page.url(), `${server.base}/room/${roomId}`, 'cancelled: B is still in the room');

  // Confirmed, the hand-over happens (the positive control for "cancel changes nothing").
  await A.page.click(`${entry} .hand-over-btn`);
  await A.page.click(`${entry} .confirm-yes`);
  await B.page.waitForSelector('#owner-tools:not([hidden])', { timeout: WAIT });
  await A.page.waitForSelector('#owner-tools', { state: 'hidden', timeout: WAIT });

  // B (now owner) kicks A after confirming: A lands in the lobby.
  const a = await whoAmI(A.page);
  await B.page.click(`#member-list li[data-id="${a.id}"] .kick-btn`);
  assert.equal(await A.page.url(), `${server.base}/room/${roomId}`, 'one click does not kick');
  await Promise.all([
    A.page.waitForURL(`${server.base}/?error=KICKED`, { timeout: WAIT }),
    B.page.click(`#member-list li[data-id="${a.id}"] .confirm-yes`),
  ]);
  await closeAll(A, B);
});

test('every refusal on the room page is a full sentence in the page language, never the server text', async () => {
  for (const [locale, texts] of [
    ['ko-KR', { notGif: 'GIF 파일이 아닙니다. GIF 파일만 올릴 수 있습니다.', damaged: 'GIF 파일이 손상되었거나 완전하지 않습니다.', big: '파일이 너무 큽니다. 최대 5 MiB까지 올릴 수 있습니다.' }],
    ['en-US', { notGif: 'That file is not a GIF. Only GIF files can be uploaded.', damaged: 'The GIF file is damaged or incomplete.', big: 'The file is too big. GIFs up to 5 MiB can be uploaded.' }],
  ]) {
    const A = await profile(browser, { locale, ...DESKTOP });
    await createRoom(A.page, server.base, { title: `refusals ${locale}`, max: 3 });
    await waitJoined(A.page);
    const uploadSays = async (buffer, expected) => {
      await A.page.setInputFiles('#gif', { name: 'x.gif', mimeType: 'image/gif', buffer });
      await A.page.waitForFunction((t) => document.getElementById('upload-message').textContent === t, expected, { timeout: WAIT });
    };
    // A PNG is "not a GIF"; a GIF cut short is "damaged"; over 5 MiB is "too big" — sentences, no server tail.
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001', 'hex');
    await uploadSays(png, texts.notGif);
    await uploadSays(makeGif(30, 20).subarray(0, 60), texts.damaged);
    await uploadSays(Buffer.alloc(5 * 1024 * 1024 + 1), texts.big);

    // Codes and reasons the page can meet, worded by the page itself (the module the page runs).
    const worded = await A.page.evaluate(async () => {
      const { explain } = await import('/static/js/refusals.js');
      const t = JSON.parse(document.getElementById('room').dataset.texts);
      const cases = [
        { code: 'INVALID_INPUT', reason: 'TOO_LONG' }, { code: 'INVALID_INPUT', reason: 'EMPTY' },
        { code: 'INVALID_INPUT', reason: 'NOT_PRESENT' }, { code: 'INVALID_INPUT', reason: 'SELF' },
        { code: 'INVALID_INPUT', reason: 'FORBIDDEN_CHARACTERS' }, { code: 'RATE_LIMITED' }, { code: 'FORBIDDEN' },
        { code: 'FORBIDDEN', reason: 'REMOVED' }, { code: 'NETWORK' }, { code: 'INTERNAL' }, { status: 413 },
        { status: 429 }, { code: 'SOMETHING_NEW' },
      ];
      return cases.map((c) => explain(t, c, { count: 1001, maxMiB: 5 }));
    });
    for (const sentence of worded) {
      assert.ok(sentence && /[.다요]$/.test(sentence), `a full sentence: ${sentence}`);
      if (locale === 'ko-KR') assert.doesNotMatch(sentence, /[a-z]{3,}/, `no English on the Korean page: ${sentence}`);
      else assert.doesNotMatch(sentence, /[가-힣]/, `no Korean on the English page: ${sentence}`);
    }
    assert.equal(new Set(worded.slice(0, 8)).size, 8, 'different refusals read differently');
    await closeAll(A);
  }
});

test('the character limit: a counter near 1000, a clear refusal past it, nothing cut or sent', async () => {
  const A = await profile(browser, DESKTOP);
  const roomId = await createRoom(A.page, server.base, { title: '글자 수', max: 3 });
  await waitJoined(A.page);
  assert.equal(await A.page.getAttribute('#chat', 'maxlength'), null, 'no silent cutting');
  await A.page.fill('#chat', 'ㄱ'.repeat(899));
  assert.equal(await A.page.isHidden('#char-count'), true, 'no counter far from the limit');
  await A.page.fill('#chat', 'ㄱ'.repeat(900));
  assert.equal(await A.page.textContent('#char-count'), '900/1000자');
  // 1001 characters stay in the box; sending is refused with the reason; nothing reaches the server.
  const long = '가'.repeat(1001);
  await A.page.fill('#chat', long);
  assert.equal((await A.page.inputValue('#chat')).length, 1001, 'pasted text is not cut');
  assert.equal(await A.page.textContent('#char-count'), '메시지는 1000자까지 보낼 수 있습니다. 지금 1001자입니다.');
  await A.page.press('#chat', 'Enter');
  assert.equal(await A.page.inputValue('#chat'), long, 'the text stays for editing');
  assert.equal(await A.page.locator('#chat-list .bubble').count(), 0);
  // Positive control: exactly 1000 goes through.
  await A.page.fill('#chat', '나'.repeat(1000));
  await A.page.press('#chat', 'Enter');
  await A.page.locator('#chat-list .mine:not(.pending) .bubble').waitFor({ timeout: WAIT });
  assert.deepEqual(await historyTexts(A.page, roomId), ['나'.repeat(1000)]);
  await closeAll(A);
});

test('sending while offline: shown at once as sending, delivered once when back, retry offered after failure', async () => {
  const A = await profile(browser, DESKTOP);
  const B = await profile(browser, DESKTOP);
  const roomId = await createRoom(A.page, server.base, { title: '오프라인', max: 3 });
  await waitJoined(A.page);
  await enter(B, roomId);
  await say(A.page, '하나');
  await B.page.locator('#chat-list .bubble', { hasText: '하나' }).waitFor({ timeout: WAIT });

  // Offline: two messages appear at once, in order, as "sending…" with their client keys.
  await A.context.setOffline(true);
  await say(A.page, '둘');
  await say(A.page, '셋');
  const pending = A.page.locator('#chat-list .pending');
  await A.page.waitForFunction(() => document.querySelectorAll('#chat-list .pending').length === 2, null, { timeout: WAIT });
  assert.deepEqual(await bubbles(A.page), ['하나', '둘', '셋']);
  assert.equal(await pending.first().locator('.pending-state').textContent(), '전송 중…');
  const keys = await pending.evaluateAll((nodes) => nodes.map((n) => n.dataset.key));
  assert.equal(keys.length, 2);
  for (const k of keys) assert.match(k, /^[0-9a-f]{32}$/);
  // After the retries, retry is offered (the text is never lost).
  await A.page.locator('#chat-list .pending.failed .retry-btn').first().waitFor({ timeout: 20_000 });
  assert.equal(await A.page.locator('#chat-list .pending.failed').count(), 2, 'later messages wait behind');

  // Back online: the live link returns and the messages go out by themselves, once each, in order.
  await A.context.setOffline(false);
  await A.page.waitForFunction(() => document.querySelectorAll('#chat-list .pending').length === 0, null, { timeout: 20_000 });
  await B.page.locator('#chat-list .bubble', { hasText: '셋' }).waitFor({ timeout: WAIT });
  assert.deepEqual(await bubbles(A.page), ['하나', '둘', '셋']);
  assert.deepEqual(await bubbles(B.page), ['하나', '둘', '셋']);
  assert.deepEqual(await historyTexts(A.page, roomId), ['하나', '둘', '셋']);

  // The answer lost on the way back: the request reached the server, the page retries with the same
  // key, the server returns the first message — delivered and shown once.
  let lost = 0;
  await A.page.route('**/graphql', async (route) => {
    if (lost === 0 && route.request().postData()?.includes('sendMessage')) {
      lost += 1;
      await route.fetch();
      await route.abort('connectionreset');
      return;
    }
    await route.continue();
  });
  await say(A.page, '넷');
  await B.page.locator('#chat-list .bubble', { hasText: '넷' }).waitFor({ timeout: WAIT });
  await A.page.waitForFunction(() => document.querySelectorAll('#chat-list .pending').length === 0, null, { timeout: 20_000 });
  assert.equal(lost, 1, 'the first answer was lost');
  assert.deepEqual(await bubbles(A.page), ['하나', '둘', '셋', '넷']);
  assert.deepEqual(await historyTexts(A.page, roomId), ['하나', '둘', '셋', '넷'], 'delivered once');
  await A.page.unroute('**/graphql');

  // The server unreachable while the live link stays up: after the retries, 다시 보내기 sends it (once).
  await A.page.route('**/graphql', (route) =>
    route.request().postData()?.includes('sendMessage') ? route.abort('connectionrefused') : route.continue());
  await say(A.page, '여섯');
  const retry = A.page.locator('#chat-list .pending.failed .retry-btn');
  await retry.waitFor({ timeout: 20_000 });
  assert.equal(await A.page.textContent('#chat-list .pending.failed .pending-state span'), '보내지 못했습니다.');
  await A.page.unroute('**/graphql');
  await retry.click();
  await B.page.locator('#chat-list .bubble', { hasText: '여섯' }).waitFor({ timeout: WAIT });
  await A.page.waitForFunction(() => document.querySelectorAll('#chat-list .pending').length === 0, null, { timeout: WAIT });
  assert.deepEqual(await historyTexts(A.page, roomId), ['하나', '둘', '셋', '넷', '여섯']);

  // A failure that retrying cannot fix (the server refuses): the text comes back with the reason.
  await A.page.route('**/graphql', (route) =>
    route.fulfill({ contentType: 'application/json', body: JSON.stringify({ errors: [{ message: 'too many requests, slow down', extensions: { code: 'RATE_LIMITED' } }] }) }));
  await say(A.page, '다섯');
  await A.page.locator('#upload-message', { hasText: '메시지를 보내지 못했습니다. 요청이 너무 많습니다. 잠시 후 다시 시도하세요.' }).waitFor({ timeout: WAIT });
  assert.equal(await A.page.inputValue('#chat'), '다섯');
  assert.equal(await A.page.locator('#chat-list .pending').count(), 0);
  await A.page.unroute('**/graphql');
  await closeAll(A, B);
});

test('small things: focus, placeholder, (나), runs of one sender, new-messages hint, links, local times', async () => {
  const A = await profile(browser, DESKTOP);
  const B = await profile(browser, DESKTOP);
  const roomId = await createRoom(A.page, server.base, { title: '작은 것들', max: 3 });
  await waitJoined(A.page);
  assert.equal(await A.page.evaluate(() => document.activeElement.id), 'chat', 'focus in the message box after creating');
  assert.equal(await A.page.getAttribute('#chat', 'placeholder'), '메시지를 입력하세요');
  const a = await whoAmI(A.page);
  await enter(B, roomId);
  assert.equal(await B.page.evaluate(() => document.activeElement.id), 'chat', 'focus in the message box after entering');
  const b = await whoAmI(B.page);
  // "(나)" beside your own colour: notices and member list; others' notices without it.
  assert.deepEqual(await notices(B.page), [`${a.color}님이 입장하셨습니다.`, `${b.color} (나)님이 입장하셨습니다.`]);
  await A.page.waitForFunction((t) => [...document.querySelectorAll('#chat-list .system > div')].some((n) => n.textContent === t), `${b.color}님이 입장하셨습니다.`, { timeout: WAIT });
  assert.equal(await A.page.textContent(`#member-list li[data-id="${a.id}"] .yours`), '(나)');
  assert.equal(await A.page.locator(`#member-list li[data-id="${b.id}"] .yours`).count(), 0);

  // A run of three from A shows A's colour once and the time once; B's reply starts a new run.
  for (const text of ['첫째', '둘째', '셋째']) await say(A.page, text);
  await say(B.page, '대답');
  await A.page.locator('#chat-list .bubble', { hasText: '대답' }).waitFor({ timeout: WAIT });
  await A.page.waitForFunction(() => document.querySelectorAll('#chat-list .pending').length === 0, null, { timeout: WAIT });
  const shownWho = await A.page.$$eval('#chat-list > .mine, #chat-list > .other', (nodes) =>
    nodes.map((n) => [n.querySelector('.bubble').textContent, getComputedStyle(n.querySelector('.who')).display !== 'none', getComputedStyle(n.querySelector('time')).display !== 'none']));
  assert.deepEqual(shownWho, [['첫째', true, false], ['둘째', false, false], ['셋째', false, true], ['대답', true, true]]);

  // Times in the page's language: ko "오후 4:51" / "오전 9:05".
  const time = await A.page.textContent('#chat-list > .mine:last-of-type time, #chat-list time');
  assert.match(time, /^(오전|오후) \d{1,2}:\d{2}$/);

  // Links: http(s) only, text nodes only, with rel and without the sentence's full stop.
  await say(B.page, '여기 https://example.com/a?b=1&c=2. 그리고 javascript:alert(1) 와 http:// <i>굵게</i>');
  const link = A.page.locator('#chat-list .bubble a').first();
  await link.waitFor({ timeout: WAIT });
  assert.equal(await link.getAttribute('href'), 'https://example.com/a?b=1&c=2');
  assert.equal(await link.textContent(), 'https://example.com/a?b=1&c=2');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await A.page.locator('#chat-list .bubble a').count(), 1, 'javascript: and a bare scheme stay text');
  assert.equal(await A.page.locator('#chat-list .bubble i').count(), 0, 'no markup from the text');
  // After a reload the server-rendered message is linked the same way.
  await A.page.reload();
  await A.page.locator('#chat-list .bubble a[rel="noopener noreferrer nofollow"]').waitFor({ timeout: WAIT });

  // New-messages hint: scrolled up, a new message shows the hint; it takes the reader down.
  for (let i = 0; i < 30; i++) await say(B.page, `줄 ${i}`);
  await A.page.locator('#chat-list .bubble', { hasText: '줄 29' }).waitFor({ timeout: WAIT });
  assert.equal(await A.page.isHidden('#new-messages'), true, 'no hint while at the bottom');
  await A.page.evaluate(() => { const l = document.getElementById('chat-list'); l.scrollTop = l.scrollHeight - l.clientHeight - 400; l.dispatchEvent(new Event('scroll')); });
  await say(B.page, '새 소식');
  await A.page.locator('#chat-list .bubble', { hasText: '새 소식' }).waitFor({ timeout: WAIT });
  await A.page.waitForSelector('#new-messages:not([hidden])', { timeout: WAIT });
  assert.equal(await A.page.textContent('#new-messages'), '새 메시지 ↓');
  await A.page.click('#new-messages');
  await A.page.waitForSelector('#new-messages', { state: 'hidden', timeout: WAIT });
  const atBottom = await A.page.evaluate(() => { const l = document.getElementById('chat-list'); return l.scrollHeight - l.scrollTop - l.clientHeight < 5; });
  assert.equal(atBottom, true);
  await closeAll(A, B);
});

test('English page: times "4:51 PM", "(you)", placeholder and confirmations in English', async () => {
  const A = await profile(browser, { locale: 'en-US', ...DESKTOP });
  const B = await profile(browser, { locale: 'en-US', ...DESKTOP });
  const roomId = await createRoom(A.page, server.base, { title: 'english', max: 3 });
  await waitJoined(A.page);
  const a = await whoAmI(A.page);
  await enter(B, roomId);
  const b = await whoAmI(B.page);
  assert.equal(await A.page.getAttribute('#chat', 'placeholder'), 'Type a message');
  assert.deepEqual(await notices(B.page), [`${a.color} joined.`, `${b.color} (you) joined.`]);
  assert.match(await B.page.textContent('#chat-list time'), /^\d{1,2}:\d{2}\s(AM|PM)$/);
  await A.page.click(`#member-list li[data-id="${b.id}"] .kick-btn`);
  assert.equal((await A.page.textContent('.member-confirm p')).trim(), `Remove ${b.color}? They will not be able to enter this room again.`);
  await closeAll(A, B);
});

test('layout: wide bubbles on desktop; on a phone the chat fills the height and the input stays on screen', async () => {
  const A = await profile(browser, DESKTOP);
  const B = await profile(browser, PHONE);
  const C = await profile(browser, DESKTOP);
  const roomId = await createRoom(A.page, server.base, { title: '모양 보기', max: 4 });
  await waitJoined(A.page);
  await enter(B, roomId);
  await enter(C, roomId);
  const b = await whoAmI(B.page);
  await say(A.page, '안녕하세요! 오늘 올린 GIF 보셨어요? https://example.com 에서 찾았어요.');
  await say(B.page, '네, 봤어요 😀');
  await A.page.setInputFiles('#gif', { name: 'stripes.gif', mimeType: 'image/gif', buffer: makeGif(160, 100) });
  await say(C.page, '긴 메시지도 한 줄에 넉넉하게 보입니다. '.repeat(12).trim());
  await A.page.click(`#member-list li[data-id="${b.id}"] .whisper-btn`);
  await say(A.page, '이건 B에게만 하는 귓속말이에요.');
  await B.page.locator('#chat-list .whisper .bubble').waitFor({ timeout: WAIT });
  await A.page.click('#whisper-cancel');
  for (const p of [A, B]) {
    await p.page.waitForFunction(() => [...document.querySelectorAll('img.gif')].length === 1 && [...document.querySelectorAll('img.gif')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: WAIT });
  }

  // Desktop: a long message is wide (up to ~70% of the chat), not a narrow column.
  const widths = await A.page.evaluate(() => {
    const list = document.getElementById('chat-list');
    const longest = [...list.querySelectorAll('.bubble')].reduce((w, n) => Math.max(w, n.getBoundingClientRect().width), 0);
    return { longest, list: list.clientWidth };
  });
  assert.ok(widths.longest > widths.list * 0.6 && widths.longest <= widths.list * 0.72, JSON.stringify(widths));

  // Phone: the chat fills the height, the input is on screen, the page does not scroll.
  await B.page.locator('#chat').scrollIntoViewIfNeeded();
  const phone = await B.page.evaluate(() => {
    const r = (id) => document.getElementById(id).getBoundingClientRect();
    return { chatBottom: r('chat').bottom, list: r('chat-list').height, inner: innerHeight, scroll: document.documentElement.scrollHeight };
  });
  assert.ok(phone.chatBottom <= phone.inner, `input on screen: ${JSON.stringify(phone)}`);
  assert.ok(phone.list >= phone.inner * 0.5, `chat fills the height: ${JSON.stringify(phone)}`);
  assert.ok(phone.scroll <= phone.inner + 1, `no page scroll: ${JSON.stringify(phone)}`);
  // Unfolding the member list keeps the input on screen.
  await B.page.click('#members-summary');
  const unfolded = await B.page.evaluate(() => document.getElementById('chat').getBoundingClientRect().bottom <= innerHeight);
  assert.equal(unfolded, true, 'the member list does not push the input off screen');
  await B.page.click('#members-summary');

  mkdirSync(join(repo, 'docs'), { recursive: true });
  await A.page.evaluate(() => { const l = document.getElementById('chat-list'); l.scrollTop = l.scrollHeight; });
  await A.page.screenshot({ path: join(repo, 'docs', 'room-desktop.png') });
  await B.page.evaluate(() => { const l = document.getElementById('chat-list'); l.scrollTop = l.scrollHeight; });
  await B.page.screenshot({ path: join(repo, 'docs', 'room-phone.png') });
  await closeAll(A, B, C);
});
