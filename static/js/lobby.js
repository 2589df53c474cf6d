// The lobby: the server renders one page of rooms; this keeps it live from the `lobby` subscription
// (a bounded snapshot first, then created / updated / removed), searches titles as you type and loads
// further pages with the `rooms` query. Without JavaScript the search form and the "more" link work as
// plain GET requests.
//
// Live changes only touch what is shown: a room enters the list when it matches the search and sorts
// before the last row shown (or everything is shown); a room that moves past it leaves and comes back
// with "more". While a query is in flight, live changes wait and are applied after its answer, so an
// answer read before a change can never undo it.

import { readTexts, applyColors, setStatus, fill } from './dom.js';
import { LiveSocket, gql } from './gql.js';
import { ROW_FRAGMENT, rowOf, placeRow, keyOfRoom, keyOfRow, compareKeys } from './lobby-rows.js';

const LOBBY = `subscription Lobby {
  lobby {
    __typename
    ... on LobbySnapshot { rooms { ...Row } totalCount hasNextPage endCursor }
    ... on RoomCreated { room { ...Row } }
    ... on RoomUpdated { room { ...Row } }
    ... on RoomRemoved { id }
  }
}
${ROW_FRAGMENT}`;

const ROOMS = `query Rooms($first: Int, $after: String, $query: String) {
  rooms(first: $first, after: $after, query: $query) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { removed node { ...Row } }
  }
}
${ROW_FRAGMENT}`;

/** The API's largest page. */
const MAX_PAGE = 100;

const root = document.getElementById('lobby');
const t = readTexts(root);
const me = root.dataset.me;
const rows = document.getElementById('room-rows');
const empty = document.getElementById('no-rooms');
const status = document.getElementById('live-status');
const counts = document.getElementById('room-counts');
const more = document.getElementById('more');
const searchForm = document.getElementById('search-form');
const searchBox = document.getElementById('q');
const searchAll = document.getElementById('search-all');
const firstPage = document.getElementById('first-page');

const state = {
  query: root.dataset.query || '',
  /** The cursor the shown list starts after ('' = from the first room). */
  start: root.dataset.after || '',
  endCursor: root.dataset.endCursor || '',
  hasNext: root.dataset.hasNext === 'true',
  total: Number(root.dataset.total || 0),
  pageSize: Number(root.dataset.pageSize || 50),
};
/** Rooms the owner removed the reader from (from the page, and from each query's edges). */
const removed = new Set((root.dataset.removed || '').split(' ').filter(Boolean));

/** Live changes held back while queries are in flight; `generation` picks the newest answer. */
let inFlight = 0;
let generation = 0;
const held = [];

function findRow(id) {
  for (const tr of rows.children) if (tr.dataset.id === id) return tr;
  return null;
}

function matches(room) {
  return !state.query || room.title.toLowerCase().includes(state.query.toLowerCase());
}

/** Whether `room` belongs among the rows shown: it matches, and sorts before the end of what is shown. */
function belongs(room) {
  if (!matches(room)) return false;
  if (state.start) return false; // a later page (no-JS link): only its own rows change
  if (!state.hasNext) return true;
  const last = [...rows.children].reverse().find((tr) => tr.dataset.id !== room.id);
  return !last || compareKeys(keyOfRoom(room), keyOfRow(last)) < 0;
}

/** Brings the counts, links and empty-state text up to date with `state`. */
function refreshChrome() {
  const shown = rows.children.length;
  empty.hidden = shown > 0;
  empty.textContent = state.query ? t.noMatches : t.noRooms;
  counts.textContent = shown > 0 ? fill(t.roomCounts, { shown, total: Math.max(state.total, shown) }) : '';
  more.hidden = !state.hasNext;
  const next = new URLSearchParams();
  if (state.query) next.set('q', state.query);
  if (state.endCursor) next.set('after', state.endCursor);
  more.href = `/?${next}`;
  searchAll.hidden = !state.query;
  firstPage.hidden = !state.start;
}

/** Replaces every row with `rooms` (each `{ room, removed }`). */
function showRooms(list) {
  rows.replaceChildren(...list.map(({ room, gone }) => rowOf(room, { removed: gone, me, t })));
}

function upsert(room, isNew) {
  const old = findRow(room.id);
  if (isNew && matches(room)) state.total += 1;
  if (!belongs(room)) {
    if (old) old.remove();
    return;
  }
  const fresh = rowOf(room, { removed: removed.has(room.id), me, t });
  if (old) old.remove();
  placeRow(rows, fresh);
}

function apply(update) {
  if (inFlight > 0) {
    held.push(update);
    return;
  }
  switch (update.__typename) {
    case 'LobbySnapshot':
      if (!state.query && !state.start && rows.children.length <= update.rooms.length) {
        showRooms(update.rooms.map((room) => ({ room, gone: removed.has(room.id) })));
        Object.assign(state, { hasNext: update.hasNextPage, endCursor: update.endCursor || '', total: update.totalCount });
      } else {
        // A longer or filtered list: read it again (after a reconnect anything may have changed).
        reload(Math.max(rows.children.length, state.pageSize));
      }
      root.dataset.live = 'ready'; // the table is now live (tests and styles may key on it)
      break;
    case 'RoomCreated':
      upsert(update.room, true);
      break;
    case 'RoomUpdated':
      upsert(update.room, false);
      break;
    case 'RoomRemoved': {
      const old = findRow(update.id);
      if (old) {
        old.remove();
        state.total = Math.max(0, state.total - 1);
      }
      break;
    }
    default:
      break;
  }
  refreshChrome();
}

/** Runs `work` with live changes held back; applies them afterwards, in order. */
async function holding(work) {
  inFlight += 1;
  try {
    return await work();
  } finally {
    inFlight -= 1;
    if (inFlight === 0) held.splice(0).forEach(apply);
  }
}

/** Reads `count` rooms of the current search from where the shown list starts. */
async function fetchRooms(count, after) {
  const list = [];
  let cursor = after || null;
  let page = { hasNext: true, endCursor: '', total: 0 };
  while (list.length < count && page.hasNext) {
    const first = Math.min(MAX_PAGE, count - list.length);
    const data = await gql(ROOMS, { first, after: cursor, query: state.query || null });
    const conn = data.rooms;
    for (const edge of conn.edges) {
      if (edge.removed) removed.add(edge.node.id);
      list.push({ room: edge.node, gone: edge.removed });
    }
    page = { hasNext: conn.pageInfo.hasNextPage, endCursor: conn.pageInfo.endCursor || '', total: conn.totalCount };
    cursor = conn.pageInfo.endCursor;
    if (!cursor) break;
  }
  return { list, ...page };
}

/** Shows the first `count` rooms of the current search again. */
function reload(count = state.pageSize) {
  const mine = ++generation;
  return holding(async () => {
    try {
      const got = await fetchRooms(count, state.start);
      if (mine !== generation) return; // a newer search answered or will answer
      showRooms(got.list);
      Object.assign(state, { hasNext: got.hasNext, endCursor: got.endCursor, total: got.total });
      setStatus(status, '');
    } catch (e) {
      if (mine === generation) setStatus(status, e.code === 'INVALID_INPUT' ? fill(t.errSearchLong, { max: 80 }) : t.actionFailed);
    }
    refreshChrome();
  });
}

/** Appends the next page after the last room shown (rooms already shown are not repeated). */
function loadMore() {
  const mine = generation;
  more.setAttribute('aria-busy', 'true');
  setStatus(status, t.moreLoading);
  return holding(async () => {
    try {
      const got = await fetchRooms(state.pageSize, state.endCursor);
      if (mine !== generation) return;
      for (const { room, gone } of got.list) {
        if (findRow(room.id)) continue; // moved up since the last page was read
        rows.append(rowOf(room, { removed: gone, me, t }));
      }
      Object.assign(state, { hasNext: got.hasNext, endCursor: got.endCursor, total: got.total });
      setStatus(status, '');
    } catch {
      setStatus(status, t.actionFailed);
    } finally {
      more.removeAttribute('aria-busy');
    }
    refreshChrome();
  });
}

/** Searches for the box's text: the list, the address and the links follow. */
function search() {
  const query = searchBox.value.trim();
  if (query === state.query && !state.start) return;
  Object.assign(state, { query, start: '' });
  history.replaceState(null, '', query ? `/?q=${encodeURIComponent(query)}` : '/');
  reload(state.pageSize);
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

let typing = null;
searchBox.addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(search, 250);
});
searchForm.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(typing);
  search();
});
more.addEventListener('click', (e) => {
  e.preventDefault();
  if (!more.hasAttribute('aria-busy')) loadMore();
});

// The refusal message stays on the page, but a reload should not show it again.
const here = new URL(location.href);
if (here.searchParams.has('error')) {
  here.searchParams.delete('error');
  history.replaceState(null, '', `${here.pathname}${here.search}`);
}
refreshChrome();

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
