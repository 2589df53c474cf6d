// The lobby: keeps the server-rendered room table live from the `lobby` subscription (a snapshot first,
// then created / updated / removed), so rooms appear and vanish without a reload.

import { el, readTexts, applyColors, setStatus } from './dom.js';
import { LiveSocket } from './gql.js';

const LOBBY = `subscription Lobby {
  lobby {
    __typename
    ... on LobbySnapshot { rooms { ...Row } }
    ... on RoomCreated { room { ...Row } }
    ... on RoomUpdated { room { ...Row } }
    ... on RoomRemoved { id }
  }
}
fragment Row on Room { id title capacity memberCount full secret owner { id color } }`;

const root = document.getElementById('lobby');
const t = readTexts(root);
const me = root.dataset.me;
const rows = document.getElementById('room-rows');
const empty = document.getElementById('no-rooms');
const status = document.getElementById('live-status');

/** One table row, the same structure as templates/lobby.html. */
function rowOf(room) {
  const value = el('span', { class: 'owner-value' });
  if (room.owner) {
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
  const tr = el(
    'tr',
    { class: room.full ? 'full' : null, dataset: { id: room.id } },
    el('td', { class: 'title', 'data-label': t.colTitle }, room.title),
    el('td', { class: 'kind', 'data-label': t.colKind }, room.secret ? t.secretRoom : t.publicRoom),
    el('td', { class: 'capacity', 'data-label': t.colCapacity }, String(room.capacity)),
    count,
    owner,
    el('td', { class: 'action' }, el('form', { method: 'get', action: `/room/${encodeURIComponent(room.id)}` }, join)),
  );
  applyColors(tr);
  return tr;
}

function findRow(id) {
  for (const tr of rows.children) if (tr.dataset.id === id) return tr;
  return null;
}

/** Inserts or replaces the row of `room`, keeping its place in the table. */
function upsert(room) {
  const fresh = rowOf(room);
  const old = findRow(room.id);
  if (old) old.replaceWith(fresh);
  else rows.append(fresh);
}

function remove(id) {
  const old = findRow(id);
  if (old) old.remove();
}

function refreshEmpty() {
  empty.hidden = rows.children.length > 0;
}

function apply(update) {
  switch (update.__typename) {
    case 'LobbySnapshot':
      rows.replaceChildren(...update.rooms.map(rowOf));
      root.dataset.live = 'ready'; // the table is now live (tests and styles may key on it)
      break;
    case 'RoomCreated':
    case 'RoomUpdated':
      upsert(update.room);
      break;
    case 'RoomRemoved':
      remove(update.id);
      break;
    default:
      break;
  }
  refreshEmpty();
}

applyColors(document.body);

// The join buttons sit in GET forms so they work without JavaScript; with it, go to the clean room URL
// (a GET form would add an empty `?`). A secret room answers there with its password form.
rows.addEventListener('submit', (e) => {
  const button = e.target.querySelector('.join-btn');
  if (!button) return;
  e.preventDefault();
  location.assign(`/room/${encodeURIComponent(button.dataset.id)}`);
});

// The refusal message stays on the page, but a reload should not show it again.
if (new URL(location.href).searchParams.has('error')) history.replaceState(null, '', '/');

const socket = new LiveSocket({
  onStatus: (s) => {
    if (s !== 'online') root.dataset.live = 'offline';
    setStatus(status, s === 'online' ? '' : t.liveOffline);
  },
});

function start() {
  socket.subscribe(LOBBY, {}, {
    next: (payload) => payload.data && payload.data.lobby && apply(payload.data.lobby),
    error: () => setStatus(status, t.liveOffline),
    // The server ends the lobby stream only when it shuts down: listen again once it is back.
    complete: () => setTimeout(start, 500),
  });
}
start();
