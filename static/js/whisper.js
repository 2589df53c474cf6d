// Whispers (the book's exercise 3): pick a member in the member list, and what you send — text or a
// GIF — goes to them alone until you go back to everyone (the bar's button, Esc in the message field,
// or the member leaving). room.js asks `whisperTarget()` when it sends (the `whisper` mutation, or the
// upload's `to` field). The server delivers a whisper only to its two members; the page just marks it
// (render.js, templates/room.html).

import { readTexts, applyColors, fill, setStatus, el } from './dom.js';

const root = document.getElementById('room');
const t = readTexts(root);
const form = document.getElementById('chat-form');
const input = document.getElementById('chat');
const bar = document.getElementById('whisper-bar');
const label = document.getElementById('whisper-target');
const back = document.getElementById('whisper-cancel');
const note = document.getElementById('whisper-note');

/** The member whispered to ({ id, color }), or null when talking to everyone. */
let target = null;
/** Called after the target changes (the member list re-marks its toggle buttons). */
const listeners = [];

/** The current whisper target, or null. */
export function whisperTarget() {
  return target;
}

/** Runs `fn` whenever the target changes. */
export function onWhisperChange(fn) {
  listeners.push(fn);
}

function changed() {
  bar.hidden = !target;
  form.classList.toggle('whispering', Boolean(target));
  label.replaceChildren();
  if (target) {
    const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true', dataset: { color: target.color } });
    label.append(swatch, fill(t.whisperTarget, { color: target.color }));
    applyColors(label);
  }
  for (const fn of listeners) fn(target);
}

/** Whispers to `member` from now on (or back to everyone when they were already the target). */
export function toggleWhisper(member) {
  target = target && target.id === member.id ? null : { id: member.id, color: member.color };
  setStatus(note, '');
  changed();
  input.focus();
}

/** Talks to everyone again; `why` is shown when it was not the reader's own choice. */
export function talkToEveryone(why = '') {
  if (!target) return;
  target = null;
  setStatus(note, why);
  changed();
}

/** A member has left or was removed: whispers to them would be refused, so stop addressing them. */
export function memberGone(id) {
  if (target && target.id === id) talkToEveryone(fill(t.whisperGone, { color: target.color }));
}

back.addEventListener('click', () => {
  talkToEveryone();
  input.focus();
});

input.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && target) {
    e.preventDefault();
    talkToEveryone();
  }
});
