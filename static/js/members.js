// The member list (the book's exercise 1) and the owner's tools (exercises 4 and 5): who is in the room
// now, each with a colour swatch, the owner and the reader marked, the count beside the capacity; for
// the owner, buttons to hand the room over, to remove a member, and to delete the room. Each owner
// action asks first, inside the member's entry (never a dialog): "make owner?", and for a kick that it
// is permanent for that person in this room.
//
// Kept live without polling: a snapshot from `room(id) { members }` once the subscription is live (and
// again after every reconnect or resync), with the membership events received meanwhile replayed on top
// of it. Each event is idempotent (add, remove, set owner), so replaying one the snapshot already
// reflects changes nothing and the list ends in the server's state. Members are counted, not tabs: the
// list is keyed by member id.

import { el, readTexts, applyColors, fill, setStatus } from './dom.js';
import { gql } from './gql.js';
import { explain } from './refusals.js';
import { hooks } from './room-hooks.js';
import { whisperTarget, toggleWhisper, memberGone, onWhisperChange } from './whisper.js';

const MEMBERS = `query Members($id: ID!) {
  room(id: $id) { capacity owner { id } members { member { id color } } }
}`;
/** Event kinds that change who is here or who owns the room. */
const MEMBERSHIP = new Set(['JOINED', 'LEFT', 'KICKED', 'OWNER_CHANGED']);
/** After the link comes up, how long to wait for the subscription's first item before fetching anyway. */
const LIVE_WAIT_MS = 500;

const root = document.getElementById('room');
const t = readTexts(root);
const roomId = root.dataset.roomId;
const me = root.dataset.me;
const aside = document.getElementById('members');
const box = document.getElementById('members-box');
const count = document.getElementById('members-count');
const list = document.getElementById('member-list');
const ownerTools = document.getElementById('owner-tools');
const deleteBtn = document.getElementById('delete-room');
const confirmBox = document.getElementById('delete-confirm');
const status = document.getElementById('members-status');

/** Present members by id, longest present first (the server's order; newcomers at the end). */
let members = new Map();
let owner = null;
let capacity = 0;
/** Membership events received while a snapshot is in flight, to replay on top of it; null otherwise. */
let pending = null;
/** Bumped per snapshot request, so only the newest one is applied. */
let generation = 0;
/** The owner action waiting for its confirmation: { id, action: 'hand-over' | 'kick' }, or null. */
let confirming = null;
/** Set when the link came up and no snapshot was fetched for it yet. */
let snapshotDue = false;
let dueTimer = null;

function apply(ev) {
  switch (ev.kind) {
    case 'JOINED':
      if (ev.member && !members.has(ev.member.id)) members.set(ev.member.id, ev.member);
      break;
    case 'LEFT':
      if (ev.member) members.delete(ev.member.id);
      break;
    case 'KICKED':
      if (ev.target) members.delete(ev.target.id);
      break;
    case 'OWNER_CHANGED':
      if (ev.member) owner = ev.member.id;
      break;
    default:
      break;
  }
}

/** Fetches the members and replays on top what arrived meanwhile. */
async function refresh() {
  snapshotDue = false;
  clearTimeout(dueTimer);
  const mine = ++generation;
  pending = [];
  try {
    const data = await gql(MEMBERS, { id: roomId });
    if (mine !== generation) return;
    const replay = pending;
    pending = null;
    if (!data.room) return; // deleted: the subscription ends with RoomClosed and the page leaves
    capacity = data.room.capacity;
    owner = data.room.owner ? data.room.owner.id : null;
    members = new Map(data.room.members.map((m) => [m.member.id, m.member]));
    for (const ev of replay) apply(ev);
    render();
  } catch {
    if (mine !== generation) return;
    pending = null;
    setTimeout(() => mine === generation && refresh(), 2000);
  }
}

/** The member's entry: swatch, colour, badges, and the buttons this reader may use on them. */
function entry(m, iOwn, target) {
  const who = el(
    'span',
    { class: 'who' },
    el('span', { class: 'swatch', 'aria-hidden': 'true' }),
    el('span', { class: 'color-code' }, m.color),
    m.id === owner ? el('strong', { class: 'owner-badge' }, t.ownerBadge) : null,
    m.id === me ? el('em', { class: 'yours' }, `(${t.yours})`) : null,
  );
  const li = el('li', { class: 'member', dataset: { id: m.id, color: m.color } }, who);
  if (m.id === me) return li;
  const actions = el('div', { class: 'member-actions' });
  const whisper = el(
    'button',
    {
      type: 'button',
      class: 'whisper-btn',
      'aria-pressed': String(Boolean(target && target.id === m.id)),
      'aria-label': fill(t.whisperTo, { color: m.color }),
      dataset: { action: 'whisper' },
    },
    t.whisperButton,
  );
  whisper.addEventListener('click', () => toggleWhisper(m));
  actions.append(whisper);
  if (iOwn) {
    const handOver = el(
      'button',
      { type: 'button', class: 'hand-over-btn', 'aria-label': fill(t.handOverLabel, { color: m.color }), dataset: { action: 'hand-over' } },
      t.handOver,
    );
    handOver.addEventListener('click', () => ask(m.id, 'hand-over'));
    const kick = el(
      'button',
      { type: 'button', class: 'kick-btn danger', 'aria-label': fill(t.kickLabel, { color: m.color }), dataset: { action: 'kick' } },
      t.kickButton,
    );
    kick.addEventListener('click', () => ask(m.id, 'kick'));
    actions.append(handOver, kick);
  }
  li.append(actions);
  if (iOwn && confirming && confirming.id === m.id) li.append(confirmation(m, confirming.action));
  return li;
}

/** The in-page question for an owner action on `m`, with the action's own button and Cancel. */
function confirmation(m, action) {
  const kick = action === 'kick';
  const yes = el(
    'button',
    { type: 'button', class: kick ? 'danger confirm-yes' : 'confirm-yes', dataset: { action: 'confirm-yes' } },
    kick ? t.kickYes : t.handOverYes,
  );
  yes.addEventListener('click', () => {
    confirming = null;
    render();
    if (kick) act('mutation Kick($r: ID!, $m: ID!) { kick(roomId: $r, memberId: $m) }', m.id);
    else act('mutation Hand($r: ID!, $m: ID!) { transferOwnership(roomId: $r, memberId: $m) { id } }', m.id);
  });
  const no = el('button', { type: 'button', class: 'confirm-no', dataset: { action: 'confirm-no' } }, t.cancel);
  no.addEventListener('click', () => {
    confirming = null;
    render();
    focusAction(m.id, action);
  });
  const question = fill(kick ? t.kickConfirm : t.handOverConfirm, { color: m.color });
  return el('div', { class: 'member-confirm', role: 'group', 'aria-label': question }, el('p', {}, question), yes, ' ', no);
}

/** Asks before an owner action: the question replaces nothing and moves focus to Cancel. */
function ask(id, action) {
  confirming = { id, action };
  setStatus(status, '');
  render();
  focusAction(id, 'confirm-no');
}

function focusAction(id, action) {
  const button = list.querySelector(`li[data-id="${CSS.escape(id)}"] [data-action="${action}"]`);
  if (button) button.focus();
}

/** Redraws the list, keeping keyboard focus on the same button of the same member if it still exists. */
function render() {
  const focused = document.activeElement;
  const keep = focused && list.contains(focused) && focused.dataset.action
    ? { id: focused.closest('li').dataset.id, action: focused.dataset.action }
    : null;
  const iOwn = owner === me;
  // A question about someone who left (or asked of someone no longer owner) has nothing left to confirm.
  if (confirming && (!iOwn || !members.has(confirming.id))) confirming = null;
  const target = whisperTarget();
  list.replaceChildren(...Array.from(members.values(), (m) => entry(m, iOwn, target)));
  applyColors(list);
  count.textContent = capacity ? `${members.size}/${capacity}` : String(members.size);
  count.title = fill(t.membersCount, { count: members.size, max: capacity });
  ownerTools.hidden = !iOwn;
  if (!iOwn) confirmBox.hidden = true;
  aside.hidden = false;
  if (keep) {
    const again = list.querySelector(`li[data-id="${CSS.escape(keep.id)}"] [data-action="${keep.action}"]`);
    (again || box.querySelector('summary')).focus();
  }
}

/** Runs an owner action on a member; what it changes arrives as events, so only a refusal is shown here. */
async function act(mutation, memberId) {
  setStatus(status, '');
  try {
    await gql(mutation, { r: roomId, m: memberId });
  } catch (e) {
    setStatus(status, `${t.actionFailed} ${explain(t, e, { forbidden: t.errOwnerOnly })}`);
  }
}

// ---- deleting the room (owner only; asks once in the page, never with a dialog) ---------------------

deleteBtn.addEventListener('click', () => {
  confirmBox.hidden = false;
  deleteBtn.hidden = true;
  document.getElementById('delete-no').focus();
});

document.getElementById('delete-no').addEventListener('click', () => {
  confirmBox.hidden = true;
  deleteBtn.hidden = false;
  deleteBtn.focus();
});

document.getElementById('delete-yes').addEventListener('click', async () => {
  setStatus(status, '');
  try {
    await gql('mutation Delete($id: ID!) { deleteRoom(id: $id) }', { id: roomId });
    // The subscription's RoomClosed (DELETED) takes everyone, this tab included, back to the lobby.
  } catch (e) {
    setStatus(status, `${t.actionFailed} ${explain(t, e, { forbidden: t.errOwnerOnly })}`);
  }
});

// ---- live updates ---------------------------------------------------------------------------------

hooks.onStatus.push((s) => {
  if (s !== 'online') return;
  // The subscription is sent right after the link comes up; its first item shows it holds the seat.
  // A page reloaded in a quiet room may get no item at all, hence the timer.
  snapshotDue = true;
  clearTimeout(dueTimer);
  dueTimer = setTimeout(refresh, LIVE_WAIT_MS);
});

hooks.onUpdate.push((update) => {
  if (update.__typename === 'RoomResync') {
    refresh();
    return;
  }
  if (update.__typename === 'RoomEvent' && MEMBERSHIP.has(update.kind)) {
    if (pending) pending.push(update);
    apply(update);
    if (update.kind === 'LEFT' && update.member) memberGone(update.member.id);
    if (update.kind === 'KICKED' && update.target) memberGone(update.target.id);
    if (!snapshotDue && capacity) render();
  }
  if (snapshotDue) refresh();
});

onWhisperChange((target) => {
  for (const button of list.querySelectorAll('.whisper-btn')) {
    button.setAttribute('aria-pressed', String(Boolean(target && button.closest('li').dataset.id === target.id)));
  }
});

// Phones: the list (under the chat there) is folded, so it does not push the message field off screen;
// it unfolds again when the window grows past the breakpoint (the same one as main.css).
const narrow = window.matchMedia('(max-width: 640px)');
box.open = !narrow.matches;
narrow.addEventListener('change', (e) => {
  box.open = !e.matches;
});
