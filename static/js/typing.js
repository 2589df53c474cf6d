// The typing indicator (beyond the book): "<colour>님이 입력 중…". While the reader types, `typing(roomId)`
// is sent at most once per TYPING_EVERY_MS (the server throttles too); others' MemberTyping items show
// for HIDE_AFTER_MS after the last one, and go at once when that member's message arrives or they leave.
// Nothing here is stored or replayed: a reload starts with no indicator.

import { readTexts, fill, setStatus } from './dom.js';
import { gql } from './gql.js';
import { hooks } from './room-hooks.js';
import { whisperTarget } from './whisper.js';

const TYPING_EVERY_MS = 2000;
const HIDE_AFTER_MS = 3000;
/** Events after which their member is no longer typing. */
const ENDS_TYPING = new Set(['MESSAGE', 'GIF', 'WHISPER', 'LEFT']);

const root = document.getElementById('room');
const t = readTexts(root);
const roomId = root.dataset.roomId;
const me = root.dataset.me;
const input = document.getElementById('chat');
const line = document.getElementById('typing');

let lastSent = 0;
/** Members typing now: id → { color, timer }, in the order they started. */
const typists = new Map();

input.addEventListener('input', () => {
  // A whisper is nobody else's business: the others are not told that something is being written.
  if (!input.value.trim() || whisperTarget()) return;
  const now = Date.now();
  if (now - lastSent < TYPING_EVERY_MS) return;
  lastSent = now;
  gql('mutation Typing($id: ID!) { typing(roomId: $id) }', { id: roomId }).catch(() => {});
});

function show() {
  const colors = Array.from(typists.values(), (x) => x.color);
  setStatus(line, colors.length ? fill(t.typing, { color: colors.join(', ') }) : '');
}

function stop(id) {
  const entry = typists.get(id);
  if (!entry) return;
  clearTimeout(entry.timer);
  typists.delete(id);
  show();
}

hooks.extraSelection.push('... on MemberTyping { member { id color } }');

hooks.onUpdate.push((update) => {
  if (update.__typename === 'MemberTyping' && update.member && update.member.id !== me) {
    const { id, color } = update.member;
    const entry = typists.get(id);
    if (entry) clearTimeout(entry.timer);
    typists.set(id, { color, timer: setTimeout(() => stop(id), HIDE_AFTER_MS) });
    show();
  } else if (update.__typename === 'RoomEvent') {
    if (ENDS_TYPING.has(update.kind) && update.member) stop(update.member.id);
    if (update.kind === 'KICKED' && update.target) stop(update.target.id);
  }
});

setStatus(line, '');
