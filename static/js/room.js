// The room page: server-rendered history, then live events from the `room` subscription, which also
// holds this tab's seat. The subscription always resumes after the newest seq on screen (`after`), on
// first connect and on every reconnect, so nothing falls between history and live, and events are
// de-duplicated by seq so nothing shows twice.
//
// The book's exercises are modules of their own that register in ./room-hooks.js (every update of the
// subscription, link status, extra selections, sending a whisper): members.js (member list and owner
// tools in `<aside id="members">`), whisper.js (the whisper target) and typing.js (`#typing`).

import { el, readTexts, applyColors, localizeTimes, setStatus, fill, randomKey } from './dom.js';
import { gql, LiveSocket } from './gql.js';
import { renderEvent } from './render.js';
import { hooks } from './room-hooks.js';
// The book's exercises register their hooks before the subscription below starts.
import './members.js';
import './typing.js';

const EVENT_FIELDS = 'seq at kind text gifUrl member { id color } target { id color }';
const PAGE = 50;

const root = document.getElementById('room');
const t = readTexts(root);
const lang = document.documentElement.lang || undefined;
const roomId = root.dataset.roomId;
const me = root.dataset.me;
const gifMax = Number(root.dataset.gifMax) || 5 * 1024 * 1024;
const list = document.getElementById('chat-list');
const form = document.getElementById('chat-form');
const input = document.getElementById('chat');
const picker = document.getElementById('gif');
const connStatus = document.getElementById('conn-status');
const olderStatus = document.getElementById('older-status');
const progress = document.getElementById('upload-progress');
const uploadMessage = document.getElementById('upload-message');
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
  return first ? seqOf(first) : lastSeq + 1;
}

function scrollToBottom() {
  list.scrollTop = list.scrollHeight;
}

/** Puts `ev` on screen in seq order unless it is already there; returns whether it was added. */
function show(ev) {
  if (shown.has(ev.seq)) return false;
  const node = renderEvent(ev, ctx);
  if (!node) return false;
  shown.add(ev.seq);
  applyColors(node);
  localizeTimes(node, lang);
  // Usually the newest: append. A reply to our own send can overtake the stream, so find its place.
  let after = list.lastElementChild;
  while (after && seqOf(after) > ev.seq) after = after.previousElementSibling;
  if (after) after.after(node);
  else list.prepend(node);
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
      if (show(update) && stick) scrollToBottom();
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
    list.replaceChildren();
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
  if (list.scrollTop < 80) loadOlder();
});

// ---- sending -----------------------------------------------------------------------------------

const SEND = `mutation Send($roomId: ID!, $text: String!, $key: String) {
  sendMessage(roomId: $roomId, text: $text, clientKey: $key) { ${EVENT_FIELDS} }
}`;

/** Sends once, retrying with the same client key while the server is unreachable (no double posts). */
async function send(text) {
  const key = randomKey();
  for (let attempt = 0; ; attempt++) {
    try {
      const data = await gql(SEND, { roomId, text, key });
      if (show(data.sendMessage)) scrollToBottom();
      return;
    } catch (e) {
      const transient = e.code === 'NETWORK' || e.code === 'INTERNAL';
      if (!transient || attempt >= 6) {
        setStatus(uploadMessage, e.code === 'RATE_LIMITED' ? t.errRateLimited : `${t.sendFailed} ${e.message}`);
        if (!input.value) input.value = text;
        return;
      }
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

/** Sends through a hook (a whisper) once, without retries: a whisper has no client key to dedupe by. */
async function sendVia(pending, text) {
  try {
    if (show(await pending)) scrollToBottom();
  } catch (e) {
    setStatus(uploadMessage, e.code === 'RATE_LIMITED' ? t.errRateLimited : `${t.sendFailed} ${e.message}`);
    if (!input.value) input.value = text;
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  setStatus(uploadMessage, '');
  const pending = hooks.send && hooks.send(text);
  if (pending) sendVia(pending, text);
  else send(text);
});

// ---- GIF upload ----------------------------------------------------------------------------------

function uploadError(status, body) {
  const err = body && body.error;
  if (status === 413 || (err && /larger than/.test(err.message))) {
    return fill(t.uploadTooBig, { max: Math.floor(gifMax / (1024 * 1024)) });
  }
  if (err && err.code === 'INVALID_INPUT') return `${t.uploadNotGif} (${err.message})`;
  if (err && err.code === 'RATE_LIMITED') return t.errRateLimited;
  return err && err.message ? `${t.uploadFailed} (${err.message})` : t.uploadFailed;
}

function upload(file) {
  if (file.size > gifMax) {
    setStatus(uploadMessage, fill(t.uploadTooBig, { max: Math.floor(gifMax / (1024 * 1024)) }));
    return;
  }
  const body = new FormData();
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
    setStatus(uploadMessage, t.uploadFailed);
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
setStatus(olderStatus, '');
setStatus(uploadMessage, '');
scrollToBottom();
for (const img of list.querySelectorAll('img')) img.addEventListener('load', () => pinned && scrollToBottom());
subscribe();
