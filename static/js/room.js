// The room page: server-rendered history, then live events from the `room` subscription, which also
// holds this tab's seat. The subscription always resumes after the newest seq on screen (`after`), on
// first connect and on every reconnect, so nothing falls between history and live, and events are
// de-duplicated by seq so nothing shows twice.
//
// The book's exercises are modules of their own that register in ./room-hooks.js (every update of the
// subscription, link status, extra selections): members.js (member list and owner tools in
// `<aside id="members">`), whisper.js (the whisper target, read here when sending) and typing.js
// (`#typing`). outgoing.js holds messages until the server has them; refusals.js words every refusal.

import { readTexts, applyColors, localizeTimes, linkifyBubbles, setStatus, fill, randomKey } from './dom.js';
import { gql, LiveSocket } from './gql.js';
import { renderEvent } from './render.js';
import { hooks } from './room-hooks.js';
import { explain, charCount, MAX_CHARS } from './refusals.js';
import { Outgoing } from './outgoing.js';
import { whisperTarget } from './whisper.js';
// The book's exercises register their hooks before the subscription below starts.
import './members.js';
import './typing.js';

const EVENT_FIELDS = 'seq at kind text gifUrl whispered member { id color } target { id color }';
const PAGE = 50;
/** The character count shows from here on (of 1000). */
const COUNT_FROM = 900;
/** Consecutive messages of one sender within this long form one run: sender and time shown once. */
const RUN_MS = 3 * 60 * 1000;

const root = document.getElementById('room');
const t = readTexts(root);
const lang = document.documentElement.lang || undefined;
const roomId = root.dataset.roomId;
const me = root.dataset.me;
const myColor = root.dataset.myColor || '';
const gifMax = Number(root.dataset.gifMax) || 5 * 1024 * 1024;
const list = document.getElementById('chat-list');
const form = document.getElementById('chat-form');
const input = document.getElementById('chat');
const picker = document.getElementById('gif');
const connStatus = document.getElementById('conn-status');
const olderStatus = document.getElementById('older-status');
const progress = document.getElementById('upload-progress');
const uploadMessage = document.getElementById('upload-message');
const charCounter = document.getElementById('char-count');
const newHint = document.getElementById('new-messages');
const ctx = { t, me };

/** Newest seq received in order from the server: where a (re)subscription resumes. */
let lastSeq = Number(root.dataset.lastSeq) || 0;
/** Whether older history exists above the oldest message on screen. */
let hasMore = root.dataset.hasMore === 'true';
let loadingOlder = false;
/** Whether the reader is at the bottom; new messages scroll into view only then. */
let pinned = true;
/** Set once the page is leaving on purpose, so the stream's end is not reported as an error. */
let leaving = false;

const shown = new Set(Array.from(list.children, (n) => Number(n.dataset.seq)));

function seqOf(node) {
  return Number(node.dataset.seq);
}

function oldestSeq() {
  const first = list.firstElementChild;
  return first && !first.classList.contains('pending') ? seqOf(first) : lastSeq + 1;
}

function scrollToBottom() {
  list.scrollTop = list.scrollHeight;
  newHint.hidden = true;
}

/** When a message was posted (a "sending…" bubble: now). */
function timeOf(node) {
  const time = node.querySelector('time');
  return time ? Date.parse(time.getAttribute('datetime')) : Date.now();
}

/** Whether `b` continues the run of `a`: same sender, same whisper label, close in time, not notices. */
function sameRun(a, b) {
  if (!a || !b || a.classList.contains('system') || b.classList.contains('system')) return false;
  const whoA = a.querySelector('.who');
  const whoB = b.querySelector('.who');
  if (!whoA || !whoB || whoA.textContent !== whoB.textContent || a.dataset.color !== b.dataset.color) return false;
  return Math.abs(timeOf(b) - timeOf(a)) < RUN_MS;
}

/** Re-marks `node` and its neighbours: `cont` hides a run's repeated sender, `runs-on` its repeated time. */
function regroup(node) {
  for (const n of [node.previousElementSibling, node, node.nextElementSibling]) {
    if (!n) continue;
    n.classList.toggle('cont', sameRun(n.previousElementSibling, n));
    n.classList.toggle('runs-on', sameRun(n, n.nextElementSibling));
  }
}

/** Puts `ev` on screen in seq order unless it is already there; returns whether it was added. */
function show(ev) {
  if (shown.has(ev.seq)) return false;
  const node = renderEvent(ev, ctx);
  if (!node) return false;
  shown.add(ev.seq);
  applyColors(node);
  localizeTimes(node, lang);
  // Usually the newest: after the last message, before any "sending…" bubbles (they stay at the end).
  // A reply to our own send can overtake the stream, so find its place.
  let after = list.lastElementChild;
  while (after && (after.classList.contains('pending') || seqOf(after) > ev.seq)) after = after.previousElementSibling;
  if (after) after.after(node);
  else list.prepend(node);
  regroup(node);
  const img = node.querySelector('img');
  if (img) img.addEventListener('load', () => pinned && scrollToBottom());
  return true;
}

function go(code) {
  leaving = true;
  location.assign(code ? `/?error=${encodeURIComponent(code)}` : '/');
}

// ---- live stream -------------------------------------------------------------------------------

const socket = new LiveSocket({
  onStatus: (s) => {
    root.dataset.live = s; // 'online' | 'offline'
    setStatus(connStatus, s === 'online' ? '' : t.reconnecting);
    for (const hook of hooks.onStatus) hook(s);
  },
});

function roomSubscription() {
  return `subscription Room($id: ID!, $after: Int) {
    room(id: $id, after: $after) {
      __typename
      ... on RoomEvent { ${EVENT_FIELDS} }
      ... on RoomResync { latestSeq }
      ... on RoomClosed { reason }
      ${hooks.extraSelection.join('\n')}
    }
  }`;
}

let resumeAfterComplete = false;

function subscribe() {
  socket.subscribe(roomSubscription(), () => ({ id: roomId, after: lastSeq }), {
    next(payload) {
      if (payload.errors && payload.errors.length && !payload.data) return refused(payload.errors);
      const update = payload.data && payload.data.room;
      if (update) onUpdate(update);
    },
    error: refused,
    complete() {
      // The server ends the stream for a shutdown; a new subscription resumes once it is back.
      if (resumeAfterComplete && !leaving) {
        resumeAfterComplete = false;
        setTimeout(subscribe, 300);
      }
    },
  });
}

function refused(errors) {
  const first = errors && errors[0];
  let code = (first && first.extensions && first.extensions.code) || 'INTERNAL';
  // A kicked member's refusal carries the reason REMOVED: say that, not a generic refusal.
  if (code === 'FORBIDDEN' && first?.extensions?.reason === 'REMOVED') code = 'REMOVED';
  go(code);
}

function onUpdate(update) {
  for (const hook of hooks.onUpdate) hook(update);
  switch (update.__typename) {
    case 'RoomEvent': {
      if (update.seq > lastSeq) lastSeq = update.seq;
      const stick = pinned;
      outgoing.arrived(update);
      if (show(update)) {
        // Scrolled up reading: say that something new arrived instead of pulling the reader down.
        if (stick) scrollToBottom();
        else newHint.hidden = false;
      }
      break;
    }
    case 'RoomResync':
      lastSeq = Math.max(lastSeq, update.latestSeq);
      reloadHistory();
      break;
    case 'RoomClosed':
      if (update.reason === 'SHUTTING_DOWN') resumeAfterComplete = true;
      // Our own 방 나가기: the exit handler navigates once leaveRoom has answered. Navigating here too
      // would abort that request (and race the handler's own navigation).
      else if (update.reason === 'LEFT') {
        if (!leaving) go('LEFT');
      }
      else go(update.reason === 'KICKED' ? 'KICKED' : 'DELETED');
      break;
    default:
      break;
  }
}

/** Too much was missed to replay: show the latest page afresh. */
async function reloadHistory() {
  try {
    const data = await gql(`query Latest($id: ID!) { messages(roomId: $id, last: ${PAGE}) { ${EVENT_FIELDS} } }`, {
      id: roomId,
    });
    // "Sending…" bubbles survive the reload: they are not history yet.
    const pendingNodes = Array.from(list.querySelectorAll('.pending'));
    list.replaceChildren(...pendingNodes);
    shown.clear();
    for (const ev of data.messages) show(ev);
    hasMore = data.messages.length === PAGE && data.messages[0].seq > 1;
    scrollToBottom();
  } catch (e) {
    if (e.code === 'NOT_FOUND' || e.code === 'FORBIDDEN') go(e.code);
  }
}

// ---- earlier history on scroll up ------------------------------------------------------------------

async function loadOlder() {
  if (!hasMore || loadingOlder) return;
  loadingOlder = true;
  setStatus(olderStatus, t.olderLoading);
  try {
    const data = await gql(
      `query Older($id: ID!, $before: Int) { messages(roomId: $id, before: $before, last: ${PAGE}) { ${EVENT_FIELDS} } }`,
      { id: roomId, before: oldestSeq() },
    );
    const events = data.messages;
    const before = list.scrollHeight;
    for (let i = events.length - 1; i >= 0; i--) show(events[i]);
    // Keep the message the reader was looking at in place.
    list.scrollTop += list.scrollHeight - before;
    hasMore = events.length === PAGE && events[0].seq > 1;
  } catch {
    // Scrolling up again retries.
  } finally {
    loadingOlder = false;
    setStatus(olderStatus, '');
  }
}

list.addEventListener('scroll', () => {
  pinned = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  if (pinned) newHint.hidden = true;
  if (list.scrollTop < 80) loadOlder();
});

newHint.addEventListener('click', () => {
  scrollToBottom();
  input.focus();
});

// ---- sending -----------------------------------------------------------------------------------

const SEND = `mutation Send($roomId: ID!, $text: String!, $key: String) {
  sendMessage(roomId: $roomId, text: $text, clientKey: $key) { ${EVENT_FIELDS} }
}`;
const WHISPER = `mutation Whisper($roomId: ID!, $memberId: ID!, $text: String!, $key: String) {
  whisper(roomId: $roomId, memberId: $memberId, text: $text, clientKey: $key) { ${EVENT_FIELDS} }
}`;

const outgoing = new Outgoing({
  list,
  t,
  me,
  myColor,
  deliver: (item) =>
    item.target
      ? gql(WHISPER, { roomId, memberId: item.target.id, text: item.text, key: item.key }).then((d) => d.whisper)
      : gql(SEND, { roomId, text: item.text, key: item.key }).then((d) => d.sendMessage),
  shown: (ev) => {
    if (show(ev) && pinned) scrollToBottom();
  },
  refused: (item, e) => {
    const why = explain(t, e, { count: charCount(item.text), forbidden: t.errNotMember });
    setStatus(uploadMessage, `${t.sendFailed} ${why}`);
    if (!input.value) {
      input.value = item.text;
      updateCount();
    }
  },
  placed: (node) => {
    regroup(node);
    scrollToBottom();
  },
});
// The live link or the network is back: whatever could not be delivered goes out again, in order,
// each with its own key (the socket may have survived a short outage that fetch did not).
hooks.onStatus.push((s) => s === 'online' && outgoing.retry());
window.addEventListener('online', () => outgoing.retry());

/** Shows the character count from 900 characters on, and past the limit says why sending is refused. */
function updateCount() {
  const count = charCount(input.value);
  const over = count > MAX_CHARS;
  charCounter.classList.toggle('over', over);
  input.setAttribute('aria-invalid', String(over));
  if (over) setStatus(charCounter, fill(t.errTooLong, { max: MAX_CHARS, count }));
  else setStatus(charCounter, count >= COUNT_FROM ? fill(t.charCount, { count, max: MAX_CHARS }) : '');
}

input.addEventListener('input', updateCount);

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  // The server refuses more than 1000 characters; say so here and keep the text, rather than cut it.
  if (charCount(text) > MAX_CHARS) {
    updateCount();
    input.focus();
    return;
  }
  input.value = '';
  updateCount();
  setStatus(uploadMessage, '');
  outgoing.add(text, whisperTarget(), randomKey());
});

// ---- GIF upload ----------------------------------------------------------------------------------

function uploadError(status, body) {
  const err = (body && body.error) || {};
  const refusal = { code: err.code, reason: err.reason, status, retryAfter: err.retryAfter };
  return explain(t, refusal, { maxMiB: Math.floor(gifMax / (1024 * 1024)) });
}

function upload(file) {
  if (file.size > gifMax) {
    setStatus(uploadMessage, fill(t.uploadTooBig, { max: Math.floor(gifMax / (1024 * 1024)) }));
    return;
  }
  const body = new FormData();
  // While whispering, the GIF is whispered too: the server shows it (and serves the file) to the pair only.
  const target = whisperTarget();
  if (target) body.append('to', target.id);
  body.append('gif', file);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', `/room/${encodeURIComponent(roomId)}/gif`);
  xhr.responseType = 'json';
  progress.value = 0;
  progress.hidden = false;
  setStatus(uploadMessage, t.uploading);
  xhr.upload.addEventListener('progress', (e) => {
    if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
  });
  xhr.addEventListener('load', () => {
    progress.hidden = true;
    if (xhr.status === 201) setStatus(uploadMessage, '');
    else setStatus(uploadMessage, uploadError(xhr.status, xhr.response));
  });
  xhr.addEventListener('error', () => {
    progress.hidden = true;
    setStatus(uploadMessage, `${t.uploadFailed} ${t.errNetwork}`);
  });
  xhr.send(body);
}

picker.addEventListener('change', () => {
  const file = picker.files && picker.files[0];
  // Reset, so choosing the same file again fires `change` again (the book set `.file`, a no-op).
  picker.value = '';
  if (file) upload(file);
});

// ---- leaving -------------------------------------------------------------------------------------

document.getElementById('exit-btn').addEventListener('click', async (e) => {
  e.preventDefault();
  leaving = true;
  try {
    await gql('mutation Leave($id: ID!) { leaveRoom(id: $id) }', { id: roomId });
  } catch {
    // Leaving anyway: without the mutation the seat is released after the grace period.
  }
  location.assign('/');
});

window.addEventListener('pagehide', () => socket.dispose());
// Back/forward cache: a restored page has no socket and a stale list; load it afresh.
window.addEventListener('pageshow', (e) => {
  if (e.persisted) location.reload();
});

// ---- start ---------------------------------------------------------------------------------------

applyColors(list);
localizeTimes(list, lang);
linkifyBubbles(list);
for (const node of list.children) regroup(node);
setStatus(olderStatus, '');
setStatus(uploadMessage, '');
updateCount();
scrollToBottom();
// Entering or creating a room puts the cursor in the message box (the template's `autofocus` too).
input.focus();
for (const img of list.querySelectorAll('img')) img.addEventListener('load', () => pinned && scrollToBottom());
subscribe();
