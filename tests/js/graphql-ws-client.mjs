#!/usr/bin/env node
// Drives gifchat's graphql-transport-ws endpoint with the official `graphql-ws`
// client, so the Rust integration tests can prove the server interoperates
// with a third-party implementation of the protocol, not just with our own.
//
// Usage: node graphql-ws-client.mjs <wsUrl> <roomId> <count> [<cookie>]
//
// <cookie> is sent as the handshake's Cookie header: taking a seat needs the session a browser gets when
// it opens the room's page (a socket without one is refused with NO_SESSION).
//
// Output, one item per line on stdout (the caller parses it line by line):
//   LOBBY <json>   first lobby ExecutionResult, e.g. {"data":{"lobby":{...}}}
//   READY          the room subscription is live (its first event has arrived)
//   EVENT <json>   data.room of each room event, the first being our own JOINED
//   ERROR <json>   any protocol, socket or GraphQL error
// Exit status: 0 after <count> EVENT lines, 1 on error, 2 on a 15 s timeout,
// 64 on bad arguments.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const TIMEOUT_MS = 15_000;

const LOBBY_QUERY = `subscription { lobby { __typename ... on LobbySnapshot { rooms { id title } } } }`;
const ROOM_QUERY = `subscription($id: ID!) { room(id: $id) { __typename ... on RoomEvent { seq kind text member { id color } } } }`;

const [url, roomId, countArg, cookie] = process.argv.slice(2);
const count = Number(countArg);
if (!url || !roomId || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: node graphql-ws-client.mjs <wsUrl> <roomId> <count>\n');
  process.exit(64);
}

// Errors reach us as GraphQLError arrays, Error objects, ws ErrorEvents or
// CloseEvents; the last three have no enumerable fields, so JSON.stringify
// would print "{}". Pull out the fields that say what went wrong.
function describe(err) {
  if (Array.isArray(err)) return { errors: err };
  if (err instanceof Error) return { message: err.message, name: err.name };
  if (err && typeof err === 'object' && 'code' in err) {
    return { closeCode: err.code, reason: err.reason || '' };
  }
  // A ws ErrorEvent (e.g. connection refused) keeps the text in .message.
  if (err && typeof err === 'object' && typeof err.message === 'string') {
    return { message: err.message };
  }
  return { message: String(err) };
}

let finished = false;
let client;

// Single exit path: the first outcome wins, so a late socket close during
// dispose cannot turn a success into an error (or print twice).
function finish(code, line) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  if (line) process.stdout.write(line + '\n');
  // dispose() closes the socket politely; don't let a hang there block exit.
  Promise.resolve(client?.dispose())
    .catch(() => {})
    .finally(() => process.stdout.write('', () => process.exit(code)));
}

const fail = (err) => finish(1, `ERROR ${JSON.stringify(describe(err))}`);

// The caller also has its own timeout, but a distinct exit code tells
// "server never answered" apart from "server answered with an error".
const timer = setTimeout(() => {
  process.stderr.write(`timed out after ${TIMEOUT_MS} ms\n`);
  finish(2);
}, TIMEOUT_MS);

// `ws` with the session cookie on its handshake, as a browser sends it.
class CookieWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, cookie ? { headers: { cookie } } : {});
  }
}

client = createClient({
  url,
  // Node 20 has no global WebSocket that graphql-ws can use; hand it `ws`.
  webSocketImpl: CookieWebSocket,
  // Connect (and run connection_init/ack) right away rather than on the
  // first subscribe, so a broken handshake surfaces on its own.
  lazy: false,
  // A test must see the first failure, not have it hidden by reconnects.
  retryAttempts: 0,
  // With lazy: false, connection failures are reported here, not to a sink;
  // the default would only console.error them and keep waiting.
  onNonLazyError: fail,
});

// A `next` can carry GraphQL errors instead of data (e.g. unknown room);
// treat that as a failure rather than printing a null event.
function resultErrors(result) {
  return result.errors && result.errors.length ? result.errors : null;
}

// (a) Take one lobby snapshot, then stop listening so the room events below
// are the only traffic we count.
function watchLobbyOnce() {
  return new Promise((resolve) => {
    let done = false;
    const unsubscribe = client.subscribe(
      { query: LOBBY_QUERY },
      {
        next(result) {
          if (done) return;
          done = true;
          const errs = resultErrors(result);
          if (errs) return fail(errs);
          process.stdout.write(`LOBBY ${JSON.stringify(result)}\n`);
          // Tell the server we are done (sends `complete`), then move on.
          unsubscribe();
          resolve();
        },
        error: fail,
        complete() {
          // The server ending the lobby stream before any snapshot is a bug.
          if (!done) fail({ message: 'lobby subscription completed without a result' });
        },
      },
    );
  });
}

// (b) Join the room by subscribing and print its events until we have `count`.
function watchRoom() {
  let seen = 0;
  client.subscribe(
    { query: ROOM_QUERY, variables: { id: roomId } },
    {
      next(result) {
        if (finished) return;
        const errs = resultErrors(result);
        if (errs) return fail(errs);
        // The server's first event is our own JOINED, so its arrival proves the
        // subscription is registered: only now may the caller act on the room.
        if (seen === 0) process.stdout.write('READY\n');
        seen += 1;
        process.stdout.write(`EVENT ${JSON.stringify(result.data.room)}\n`);
        if (seen >= count) finish(0);
      },
      error: fail,
      complete() {
        if (seen < count) {
          fail({ message: `room subscription completed after ${seen} of ${count} events` });
        }
      },
    },
  );
}

watchLobbyOnce().then(watchRoom);
