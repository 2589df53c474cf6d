// Shared pieces of the browser tests: a real gifchat server (the built binary) on a free port with a
// temporary data directory, headless Debian Chromium through playwright-core, a tiny GIF encoder, and
// helpers that watch every URL a profile touches.

import { spawn } from 'node:child_process';
import { before, after } from 'node:test';
import { mkdtempSync, mkdirSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
/** The server binary; CI uses the one `cargo test` built, a developer may point elsewhere. */
export const BIN = process.env.GIFCHAT_BIN || join(repo, 'target', 'debug', 'gifchat');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const SCREENSHOTS = join(repo, 'target', 'screenshots');
/** Functional timeout for any single wait (not a speed assertion). */
export const WAIT = 10_000;

/** The network is closed: without these flags Chromium stalls on refused background connections. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Starts `gifchat serve` and resolves once it listens. `port` 0 picks a free one (read back from the
 * log line "… (http://127.0.0.1:PORT)"); a restart passes the old port and data directory.
 */
export async function startServer({ dataDir, port = 0, graceSecs = 1, logName = 'server' } = {}) {
  const dir = dataDir || mkdtempSync(join(tmpdir(), 'gifchat-browser-'));
  const logDir = join(repo, 'target', 'browser-logs');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, `${logName}.log`), { flags: 'a' });
  const args = [
    'serve',
    '--listen', `127.0.0.1:${port}`,
    '--data-dir', dir,
    '--grace-secs', String(graceSecs),
    '--messages-per-minute', '1000',
    '--uploads-per-minute', '1000',
    '--rooms-per-minute', '1000',
    // Every browser here shares 127.0.0.1: the per-address limits would otherwise pool them all.
    '--joins-per-minute', '1000',
    '--typing-per-minute', '1000',
    '--address-messages-per-minute', '10000',
    '--address-uploads-per-minute', '10000',
    '--address-rooms-per-minute', '10000',
    '--address-joins-per-minute', '10000',
    '--address-typing-per-minute', '10000',
    '--address-sessions-per-minute', '10000',
    '--address-websockets', '10000',
  ];
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  proc.stdout.pipe(log, { end: false });
  const found = await new Promise((ok, fail) => {
    let buffer = '';
    const timer = setTimeout(() => fail(new Error(`server did not start: ${buffer}`)), 20_000);
    proc.stderr.on('data', (chunk) => {
      log.write(chunk);
      buffer += chunk.toString();
      const m = buffer.match(/\(http:\/\/127\.0\.0\.1:(\d+)\)/);
      if (m) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    });
    proc.on('exit', (code) => fail(new Error(`server exited with ${code}: ${buffer}`)));
  });
  const server = {
    proc,
    port: found,
    base: `http://127.0.0.1:${found}`,
    dataDir: dir,
    /** Stops the process with `signal` and waits for it to exit. */
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await exited;
    },
    /** Removes the data directory (after `stop`). */
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Launches headless Chromium (playwright gives each launch a fresh temporary user-data-dir). */
/**
 * Starts a server (with `options`, as `startServer`) and a browser before the file's tests and stops both
 * after them; `use(server, browser)` receives them once they are up.
 */
export function serverAndBrowser(options, use) {
  let server;
  let browser;
  before(async () => {
    server = await startServer(options);
    browser = await launchBrowser();
    use(server, browser);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
  });
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A separate browser profile (own cookies, own session, so its own anonymous member), recording every
 * URL it navigates to or requests, and every Content-Security-Policy violation its pages report.
 */
export async function profile(browser, { locale = 'ko-KR', width = 1100, height = 800 } = {}) {
  const context = await browser.newContext({ locale, viewport: { width, height } });
  const urls = [];
  const cspViolations = [];
  const pageErrors = [];
  const dialogs = [];
  context.on('request', (r) => urls.push(r.url()));
  context.on('page', (page) => watch(page));
  function watch(page) {
    page.on('framenavigated', (f) => urls.push(f.url()));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    // The book alerted errors; these pages never open a dialog.
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
  }
  const page = await context.newPage();
  return { context, page, urls, cspViolations, pageErrors, dialogs };
}

/** Creates a room through the create form and returns its id (the page is then in the room). */
export async function createRoom(page, base, { title, max = '', password = '' }) {
  await page.goto(`${base}/room`);
  await page.fill('#title', title);
  if (max !== '') await page.fill('#max', String(max));
  if (password) await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/room\/[0-9A-Z]{26}$/, { timeout: WAIT }), page.click('form.stacked button[type=submit]')]);
  await page.waitForSelector('#chat-list');
  return new URL(page.url()).pathname.split('/').pop();
}

/** Waits until the room page's live subscription has taken the seat (our own join notice is on screen). */
export async function waitJoined(page) {
  await page.waitForSelector('#chat-list .system', { timeout: WAIT });
}

/** Sends `text` from the room page by typing and pressing Enter. */
export async function say(page, text) {
  await page.fill('#chat', text);
  await page.press('#chat', 'Enter');
}

/** Texts of the messages (bubbles) on a room page. */
export async function bubbles(page) {
  return page.$$eval('#chat-list .bubble', (nodes) => nodes.map((n) => n.textContent));
}

/** Texts of the system notices on a room page. */
export async function notices(page) {
  return page.$$eval('#chat-list .system > div', (nodes) => nodes.map((n) => n.textContent));
}

/** Saves a screenshot under target/screenshots/. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/**
 * A small valid GIF (one frame, `w`×`h`, colour stripes), encoded here so the tests carry no binary
 * fixture. LZW with 9-bit codes and a clear code every 250 pixels, so code width never grows.
 */
export function makeGif(w = 96, h = 64) {
  const palette = [
    [0x2b, 0x5c, 0xd6], [0xf2, 0xb7, 0x05], [0xe0, 0x4f, 0x5f], [0x3c, 0xb3, 0x71],
  ];
  const bytes = [];
  const push16 = (n) => bytes.push(n & 0xff, (n >> 8) & 0xff);
  bytes.push(...Buffer.from('GIF89a'));
  push16(w);
  push16(h);
  bytes.push(0xf7, 0, 0); // global colour table of 256 entries (2^(7+1))
  for (let i = 0; i < 256; i++) bytes.push(...(palette[i] || [0, 0, 0]));
  bytes.push(0x2c);
  push16(0); push16(0); push16(w); push16(h);
  bytes.push(0); // no local table, not interlaced
  bytes.push(8); // LZW minimum code size
  const CLEAR = 256, END = 257;
  const codes = [CLEAR];
  let run = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const index = (Math.floor(x / 12) + Math.floor(y / 16)) % palette.length;
      codes.push(index);
      if (++run === 250) {
        codes.push(CLEAR);
        run = 0;
      }
    }
  }
  codes.push(END);
  const data = [];
  let acc = 0, bits = 0;
  for (const code of codes) {
    acc |= code << bits;
    bits += 9;
    while (bits >= 8) {
      data.push(acc & 0xff);
      acc >>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) data.push(acc & 0xff);
  for (let i = 0; i < data.length; i += 255) {
    const block = data.slice(i, i + 255);
    bytes.push(block.length, ...block);
  }
  bytes.push(0, 0x3b);
  return Buffer.from(bytes);
}
