// The lobby at scale in real Chromium: 200 rooms at 1280×800 and 375×740 — create at the top, one page
// with "more", the order (rooms with people first), search live and without JavaScript, full and
// kicked rooms without an active 입장, live changes to rooms beyond the page — plus the error pages
// in English. Screenshots of the 200-room lobby go to docs/ (lobby-desktop.png, lobby-phone.png).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { profile, waitJoined, repo, WAIT, serverAndBrowser } from './harness.mjs';

let server;
let browser;
serverAndBrowser({ logName: 'lobby' }, (s, b) => { server = s; browser = b; });

/** Runs a GraphQL operation as the profile `p` (its cookies, so its identity); returns `data`. */
async function gql(p, query, variables = {}) {
  const res = await p.context.request.post(`${server.base}/graphql`, { data: { query, variables } });
  const body = await res.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

async function createRoom(p, title, capacity = 10) {
  const d = await gql(p, 'mutation($t: String!, $c: Int) { createRoom(title: $t, capacity: $c) { id } }', {
    t: title,
    c: capacity,
  });
  return d.createRoom.id;
}

/** Waits until the lobby shows `n` rows; on timeout says what it shows instead. */
async function waitRows(page, n) {
  try {
    await page.waitForFunction((want) => document.querySelectorAll('#room-rows tr').length === want, n, { timeout: WAIT });
  } catch (e) {
    const seen = await page.evaluate(() => ({
      rows: document.querySelectorAll('#room-rows tr').length,
      url: location.href,
      more: document.getElementById('more').outerHTML,
      status: document.getElementById('live-status').textContent,
    }));
    throw new Error(`${e.message}: wanted ${n} rows, page shows ${JSON.stringify(seen)}`);
  }
}

/** Ids of the rows on the lobby page, top to bottom. */
async function rowIds(page) {
  return page.$$eval('#room-rows tr', (rows) => rows.map((r) => r.dataset.id));
}

test('200 rooms: create on top, one page with more, people first, search, full and kicked rooms, phone cards', async () => {
  const base = server.base;
  const O = await profile(browser, { width: 1280, height: 800 });
  const B = await profile(browser, { width: 1280, height: 800 });
  const C = await profile(browser, { width: 1280, height: 800 });

  // 200 rooms, oldest first; a few with titles worth searching for.
  const ids = [];
  for (let i = 0; i < 200; i++) {
    const title = i === 7 ? '고양이 사진 모임' : i === 42 ? 'Rust 스터디 100%' : `수다방 ${String(i + 1).padStart(3, '0')}`;
    ids.push(await createRoom(O, title));
  }
  const oldest = ids[0];

  // A full room (two of two places) and a room C gets kicked from.
  const fullRoom = await createRoom(O, '꽉 찬 방', 2);
  const oPage = await O.context.newPage();
  await oPage.goto(`${base}/room/${fullRoom}`);
  await waitJoined(oPage);
  const bPage = await B.context.newPage();
  await bPage.goto(`${base}/room/${fullRoom}`);
  await waitJoined(bPage);
  // The owner stays inside: a room whose last member has gone is deleted.
  const kickRoom = await createRoom(O, '강퇴당한 방');
  const oKick = await O.context.newPage();
  await oKick.goto(`${base}/room/${kickRoom}`);
  await waitJoined(oKick);
  await C.page.goto(`${base}/room/${kickRoom}`);
  await waitJoined(C.page);
  const cId = (await gql(C, '{ me { id } }')).me.id;
  await Promise.all([
    C.page.waitForURL(/\/\?error=/, { timeout: WAIT }),
    gql(O, 'mutation($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }', { r: kickRoom, m: cId }),
  ]);

  // C's lobby at 1280×800.
  await C.page.goto(`${base}/`);
  await C.page.waitForSelector('#lobby[data-live="ready"]', { timeout: WAIT });
  const page = C.page;
  const shown = await rowIds(page);
  assert.equal(shown.length, 50, 'one page of 50, not 202 rows');
  assert.deepEqual(shown.slice(0, 3), [kickRoom, fullRoom, ids[199]], 'rooms with people lead, then the newest');
  const createBox = await page.locator('a.create-link').boundingBox();
  const tableBox = await page.locator('table').boundingBox();
  assert.ok(createBox.y + createBox.height <= 800 && createBox.y < tableBox.y, 'create is at the top, in view');
  assert.equal((await page.textContent('a.create-link')).trim(), '채팅방 생성');
  // Full and kicked rooms: no active 입장, a short reason instead (a positive control: other rows have one).
  assert.equal(await page.locator(`tr[data-id="${fullRoom}"] .join-btn`).count(), 0);
  assert.match(await page.textContent(`tr[data-id="${fullRoom}"] .join-off`), /만원/);
  assert.equal(await page.locator(`tr[data-id="${kickRoom}"] .join-btn`).count(), 0);
  assert.match(await page.textContent(`tr[data-id="${kickRoom}"] .join-off`), /강퇴됨/);
  assert.equal(await page.locator(`tr[data-id="${shown[5]}"] .join-btn`).count(), 1);
  // The short columns and the headers never wrap ("공개/방"): each text lies on one line.
  const lines = await page.$$eval('th, td.kind, td.capacity, td.count, td.owner', (cells) =>
    cells.slice(0, 60).map((cell) => {
      const range = document.createRange();
      range.selectNodeContents(cell);
      // Rects more than half a line apart are separate lines (a swatch sits a few pixels lower).
      const tops = [...range.getClientRects()].filter((r) => r.height > 0).map((r) => r.top).sort((x, y) => x - y);
      return tops.filter((top, i) => i === 0 || top - tops[i - 1] > 10).length;
    }),
  );
  assert.ok(lines.every((n) => n <= 1), `one line each: ${lines}`);
  await page.screenshot({ path: join(repo, 'docs', 'lobby-desktop.png') });

  // More: the next pages append, each room once, in the API's order.
  await page.click('#more');
  await waitRows(page, 100);
  await page.click('#more');
  await waitRows(page, 150);
  const many = await rowIds(page);
  assert.equal(new Set(many).size, 150, 'no room twice');
  assert.equal(many[2], ids[199], 'the newest of the 200 follows the two rooms with people');

  // Search as you type: one match, the address follows; `%` is literal.
  await page.fill('#q', '고양이');
  await waitRows(page, 1);
  assert.equal(await page.textContent('#room-rows td.title'), '고양이 사진 모임');
  assert.equal(new URL(page.url()).searchParams.get('q'), '고양이');
  assert.equal(await page.locator('#more').isVisible(), false);
  await page.fill('#q', '100%');
  await page.waitForFunction(() => document.querySelector('#room-rows td.title')?.textContent === 'Rust 스터디 100%', null, { timeout: WAIT });
  assert.equal((await rowIds(page)).length, 1);
  await page.fill('#q', '없는 방 이름');
  await page.waitForSelector('#no-rooms:not([hidden])', { timeout: WAIT });
  assert.equal((await page.textContent('#no-rooms')).trim(), '검색어가 들어간 방 제목이 없습니다.');
  await page.fill('#q', '');
  await waitRows(page, 50);
  assert.equal(new URL(page.url()).search, '');

  // Live: somebody enters the oldest room (far beyond this page) — it moves to the top; a new room
  // appears first among the empty rooms; the list stays one of unique rows.
  const enter = await B.context.newPage();
  await enter.goto(`${base}/room/${oldest}`);
  await waitJoined(enter);
  await page.waitForFunction((id) => document.querySelectorAll('#room-rows tr')[2]?.dataset.id === id, oldest, { timeout: WAIT });
  const fresh = await createRoom(O, '방금 만든 방');
  await page.locator(`tr[data-id="${fresh}"]`).waitFor({ timeout: WAIT });
  const afterLive = await rowIds(page);
  assert.equal(new Set(afterLive).size, afterLive.length);
  assert.equal(afterLive.indexOf(fresh), 3, 'after the three rooms with people');

  // The phone: cards, no sideways scrolling, labels on one line, create and search on top.
  await page.setViewportSize({ width: 375, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 375, `no horizontal scrolling (${overflow})`);
  const labelsOneLine = await page.$$eval('#room-rows tr:nth-child(-n+6) td[data-label]:not(.title)', (tds) =>
    tds.every((td) => td.getBoundingClientRect().height < 48),
  );
  assert.ok(labelsOneLine, 'label and value fit one line in each card');
  const titleWidth = (await page.locator('#room-rows tr:first-child td.title').boundingBox()).width;
  assert.ok(titleWidth > 250, `the title spans the card (${titleWidth})`);
  assert.ok((await page.locator('a.create-link').boundingBox()).y < 200, 'create is at the top on a phone');
  await page.evaluate(() => document.activeElement?.blur());
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(repo, 'docs', 'lobby-phone.png') });

  for (const p of [O, B, C]) {
    assert.deepEqual(p.cspViolations, []);
    assert.deepEqual(p.pageErrors, []);
    await p.context.close();
  }
});

test('without JavaScript: search and more are plain links and forms', async () => {
  const base = server.base;
  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'ko-KR' });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  assert.equal((await rowIds(page)).length, 50);
  await Promise.all([page.waitForURL(/after=/), page.click('#more')]);
  const second = await rowIds(page);
  assert.equal(second.length, 50);
  assert.ok(await page.locator('#first-page').isVisible(), 'a way back to the start');
  await page.fill('#q', '고양이');
  await Promise.all([page.waitForURL(/q=/), page.click('#search-form button[type=submit]')]);
  assert.equal(await page.textContent('#room-rows td.title'), '고양이 사진 모임');
  await context.close();
});

test('English: the wrong-password form, refusals and the 404 page speak English', async () => {
  const base = server.base;
  const O = await profile(browser, { locale: 'en-US' });
  const E = await profile(browser, { locale: 'en-US', width: 375, height: 740 });
  const d = await gql(O, 'mutation { createRoom(title: "Members only", password: "let-me-in") { id } }');
  const room = d.createRoom.id;
  await E.page.goto(`${base}/room/${room}`);
  await E.page.fill('#password', 'not-it');
  await Promise.all([E.page.waitForURL(`${base}/room/${room}/enter`), E.page.click('#password-form button[type=submit]')]);
  assert.equal((await E.page.textContent('.error-message')).trim(), 'Wrong password.');
  assert.equal(await E.page.textContent('h1'), 'Members only');
  assert.equal(await E.page.getAttribute('html', 'lang'), 'en');
  await E.page.fill('#password', 'let-me-in');
  await Promise.all([E.page.waitForURL(`${base}/room/${room}`), E.page.click('#password-form button[type=submit]')]);
  await waitJoined(E.page);

  const res = await E.page.goto(`${base}/no/such/page`);
  assert.equal(res.status(), 404);
  assert.equal(await E.page.getAttribute('html', 'lang'), 'en');
  assert.equal((await E.page.textContent('#not-found-text')).trim(), 'There is no page at GET /no/such/page.');
  await Promise.all([E.page.waitForURL(`${base}/`), E.page.click('.notice-page a[href="/"]')]);
  await E.page.waitForSelector('#lobby');

  const long = 'x'.repeat(120);
  await E.page.goto(`${base}/?q=${long}`);
  assert.equal((await E.page.textContent('.error-message')).trim(), 'Search text can be at most 80 characters long.');
  for (const p of [O, E]) {
    assert.deepEqual(p.cspViolations, []);
    assert.deepEqual(p.pageErrors, []);
    await p.context.close();
  }
});
