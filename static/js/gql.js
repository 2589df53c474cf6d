// GraphQL for the pages: queries and mutations by same-origin POST, subscriptions over a small
// graphql-transport-ws client (the protocol of graphql-ws's PROTOCOL.md) that reconnects by itself.
//
// Same-origin only: the WebSocket URL is derived from `location`, never configured, so a page can
// only ever talk to the server that served it.

/** An error from the API, with the server's `extensions.code` (or NETWORK when the server was not reached),
 *  its finer `extensions.reason` when it gave one (pages word refusals by these, never by `message`) and,
 *  for RATE_LIMITED, `extensions.retryAfter` (seconds). */
export class ApiError extends Error {
  constructor(message, code, reason, retryAfter) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.retryAfter = retryAfter;
  }
}

/** Runs one query or mutation; resolves with `data`, rejects with an ApiError. */
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ApiError(String(e), 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new ApiError(`HTTP ${response.status}`, response.status >= 500 ? 'INTERNAL' : 'NETWORK');
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const ext = first.extensions || {};
    throw new ApiError(first.message, ext.code || 'INTERNAL', ext.reason, ext.retryAfter);
  }
  return body.data;
}

/** The WebSocket URL of this server: ws:// beside http://, wss:// beside https://. */
function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/graphql/ws`;
}

/** Delay before reconnect attempt `n` (0-based): exponential from 300 ms, capped at 8 s, with jitter so a
 *  restarted server is not hit by every client at the same instant. */
function backoff(n) {
  const base = Math.min(8000, 300 * 2 ** n);
  return base / 2 + Math.random() * (base / 2);
}

const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 10000;

/**
 * One multiplexed graphql-transport-ws connection. It connects when the first subscription starts,
 * re-sends every active subscription after a reconnect (asking the subscription for fresh variables, so
 * a room resumes after its last seq), and calls `onStatus('online' | 'offline')` as the link changes.
 */
export class LiveSocket {
  constructor({ onStatus = () => {} } = {}) {
    this.onStatus = onStatus;
    this.subs = new Map();
    this.nextId = 1;
    this.ws = null;
    this.acked = false;
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.closed = false;
  }

  /**
   * Starts a subscription. `variables` may be a function, called on every (re)send.
   * Handlers: next(payload), error(errors), complete(). Returns a function that stops it.
   */
  subscribe(query, variables, handlers) {
    const id = String(this.nextId++);
    const sub = { query, variables, handlers };
    this.subs.set(id, sub);
    if (this.acked) this.sendSubscribe(id, sub);
    else this.ensureConnected();
    return () => {
      if (this.subs.delete(id) && this.acked) this.send({ id, type: 'complete' });
    };
  }

  /** Closes for good (page unload). */
  dispose() {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopPing();
    if (this.ws) this.ws.close(1000, 'bye');
  }

  ensureConnected() {
    if (this.ws || this.timer || this.closed) return;
    this.connect();
  }

  connect() {
    this.timer = null;
    const ws = new WebSocket(socketUrl(), 'graphql-transport-ws');
    this.ws = ws;
    // Handlers ignore a socket that is no longer the current one (replaced after a dead-link timeout).
    ws.onopen = () => {
      if (this.ws === ws) this.send({ type: 'connection_init', payload: {} });
    };
    ws.onmessage = (e) => {
      if (this.ws === ws) this.receive(e.data);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.lost();
    };
    ws.onerror = () => {}; // always followed by close
  }

  receive(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    const sub = msg.id !== undefined ? this.subs.get(msg.id) : undefined;
    switch (msg.type) {
      case 'connection_ack':
        this.acked = true;
        this.attempt = 0;
        this.onStatus('online');
        this.startPing();
        for (const [id, s] of this.subs) this.sendSubscribe(id, s);
        break;
      case 'next':
        if (sub) sub.handlers.next && sub.handlers.next(msg.payload);
        break;
      case 'error':
        if (sub) {
          this.subs.delete(msg.id);
          sub.handlers.error && sub.handlers.error(msg.payload);
        }
        break;
      case 'complete':
        if (sub) {
          this.subs.delete(msg.id);
          sub.handlers.complete && sub.handlers.complete();
        }
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'pong':
        clearTimeout(this.pongTimer);
        break;
      default:
        break;
    }
  }

  sendSubscribe(id, sub) {
    const variables = typeof sub.variables === 'function' ? sub.variables() : sub.variables;
    this.send({ id, type: 'subscribe', payload: { query: sub.query, variables } });
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** The link is gone (closed, refused, or silent): schedule a reconnect while anything is subscribed. */
  lost() {
    const ws = this.ws;
    this.ws = null;
    this.acked = false;
    this.stopPing();
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      ws.onclose = null;
      try {
        ws.close();
      } catch {
        /* already closing */
      }
    }
    if (this.closed) return;
    this.onStatus('offline');
    if (this.subs.size === 0) return;
    this.timer = setTimeout(() => this.connect(), backoff(this.attempt++));
  }

  /** A link that stops answering pings is treated as lost (a half-open TCP connection never closes). */
  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      this.send({ type: 'ping' });
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.lost(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}
