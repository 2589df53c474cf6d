// The lobby's rows: built with the same structure as templates/lobby.html, and kept in the `rooms`
// query's order — rooms with people first (latest activity first), then empty rooms (newest first).

import { el, applyColors } from './dom.js';

/** The fields every row needs (the `Row` fragment of lobby.js's queries). */
export const ROW_FRAGMENT = `fragment Row on Room {
  id title capacity memberCount full secret activityAt owner { id color }
}`;

/** The sort key of a room from the API: [has people, activity in ms (0 when empty), id]. */
export function keyOfRoom(room) {
  const active = room.memberCount > 0;
  return [active ? 1 : 0, active ? Date.parse(room.activityAt) || 0 : 0, room.id];
}

/** The sort key of a rendered row (the server writes the same three values into data attributes). */
export function keyOfRow(tr) {
  const active = tr.dataset.active === 'true';
  return [active ? 1 : 0, active ? Number(tr.dataset.activity) || 0 : 0, tr.dataset.id];
}

/** Negative when key `a` comes first in the listing, positive when `b` does. */
export function compareKeys(a, b) {
  if (a[0] !== b[0]) return b[0] - a[0];
  if (a[1] !== b[1]) return b[1] - a[1];
  if (a[2] === b[2]) return 0;
  return a[2] < b[2] ? 1 : -1; // ids descending: newer first
}

/** The entry cell: the 입장 button, or a short reason why the reader cannot enter. */
function actionCell(room, removed, t) {
  if (removed || room.full) {
    return el(
      'td',
      { class: 'action' },
      el(
        'span',
        { class: 'join-off' },
        el('span', { class: 'visually-hidden' }, `${t.cannotEnter}: `),
        removed ? t.joinRemoved : t.joinFull,
      ),
    );
  }
  const join = el(
    'button',
    {
      type: 'submit',
      class: 'join-btn',
      dataset: { id: room.id, password: room.secret ? 'true' : 'false' },
      'aria-label': `${t.enter}: ${room.title}`,
    },
    t.enter,
  );
  return el(
    'td',
    { class: 'action' },
    el('form', { method: 'get', action: `/room/${encodeURIComponent(room.id)}` }, join),
  );
}

/** One table row for `room`; `removed` when its owner kicked the reader (`me` is the reader's id). */
export function rowOf(room, { removed, me, t }) {
  const value = el('span', { class: 'owner-value' });
  // An owner is shown only while someone is in the room (as the server-rendered rows do).
  if (room.owner && room.memberCount > 0) {
    value.append(
      el('span', { class: 'swatch', 'aria-hidden': 'true', dataset: { color: room.owner.color } }),
      el('span', { class: 'color-code' }, room.owner.color),
    );
    if (room.owner.id === me) value.append(' ', el('em', { class: 'yours' }, `(${t.yours})`));
  } else {
    value.append(t.noOwner);
  }
  const owner = el('td', { class: 'owner', 'data-label': t.colOwner }, value);
  const count = el('td', { class: 'count', 'data-label': t.colMembers }, String(room.memberCount));
  if (room.full) count.append(' ', el('strong', { class: 'full-badge' }, t.full));
  const classes = [room.full ? 'full' : '', removed ? 'removed' : ''].filter(Boolean).join(' ');
  const [active, activity] = keyOfRoom(room);
  const tr = el(
    'tr',
    {
      class: classes || null,
      dataset: { id: room.id, active: active ? 'true' : 'false', activity: String(activity) },
    },
    el('td', { class: 'title', 'data-label': t.colTitle }, room.title),
    el('td', { class: 'kind', 'data-label': t.colKind }, room.secret ? t.secretRoom : t.publicRoom),
    el('td', { class: 'capacity', 'data-label': t.colCapacity }, String(room.capacity)),
    count,
    owner,
    actionCell(room, removed, t),
  );
  applyColors(tr);
  return tr;
}

/** Puts `tr` into `tbody` at its place in the listing order (the other rows are in order already). */
export function placeRow(tbody, tr) {
  const key = keyOfRow(tr);
  for (const other of tbody.children) {
    if (other !== tr && compareKeys(key, keyOfRow(other)) < 0) {
      tbody.insertBefore(tr, other);
      return;
    }
  }
  tbody.append(tr);
}
