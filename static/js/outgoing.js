// Messages on their way to the server. Each shows at once, in the order typed, as a "sending…" bubble
// at the end of the chat, carrying its client key. They are delivered one at a time, in order; a
// delivery that cannot reach the server is retried a few times with the *same* client key (the server
// returns the first message for a repeated key, so nothing is ever posted twice), then the bubble
// offers "retry" — and retries by itself when the live link comes back.
//
// A bubble turns into the real message when the server answers, or earlier when the live stream
// delivers our message first (matched by text and recipient while its request is in flight); the
// message is shown once either way, since room.js de-duplicates by seq.

import { el, applyColors, fill } from './dom.js';
import { linkified } from './dom.js';

/** Waits before retry n (0-based) of a delivery that did not reach the server. */
const RETRY_DELAYS_MS = [1000, 2000, 4000];

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether an error means "the server was not reached or could not answer" (worth retrying as is). */
function transient(e) {
  return e.code === 'NETWORK' || e.code === 'INTERNAL';
}

export class Outgoing {
  /**
   * `deliver(item)` sends one item (resolves with its RoomEvent); `shown(ev)` puts the server's event on
   * screen; `refused(item, error)` reports a refusal that retrying cannot fix; `placed(node)` is told of
   * every bubble added at the end of the chat.
   */
  constructor({ list, t, me, myColor, deliver, shown, refused, placed }) {
    Object.assign(this, { list, t, me, myColor, deliver, shown, refused, placed });
    /** Items in the order typed: { key, text, target, node, state: 'queued'|'sending'|'failed' }. */
    this.items = [];
    this.busy = false;
  }

  /** Queues `text` (to `target` when whispering) and shows it as sending. */
  add(text, target, key) {
    const item = { key, text, target, node: null, state: 'queued' };
    item.node = this.bubble(item);
    this.list.append(item.node);
    applyColors(item.node);
    this.placed(item.node);
    this.items.push(item);
    this.pump();
  }

  /** The "sending…" bubble: the same structure as a sent message, marked pending. */
  bubble(item) {
    const { t } = this;
    const label = item.target ? el('em', { class: 'whisper-label' }, `(${fill(t.whisperTo, { color: item.target.color })})`) : null;
    return el(
      'div',
      { class: `mine pending${item.target ? ' whisper' : ''}`, dataset: { key: item.key, color: this.myColor } },
      el('div', { class: 'who' }, el('span', { class: 'swatch', 'aria-hidden': 'true' }), this.myColor, label ? ' ' : null, label),
      el('div', { class: 'bubble' }, ...linkified(item.text)),
      el('div', { class: 'pending-state' }, t.sending),
    );
  }

  /** Shows an item's state under its bubble: sending, or not sent with retry and discard. */
  mark(item) {
    if (!item.node) return;
    const state = item.node.querySelector('.pending-state');
    item.node.classList.toggle('failed', item.state === 'failed');
    if (item.state !== 'failed') {
      state.replaceChildren(this.t.sending);
      return;
    }
    const retry = el('button', { type: 'button', class: 'retry-btn' }, this.t.sendRetry);
    retry.addEventListener('click', () => this.retry());
    const discard = el('button', { type: 'button', class: 'discard-btn' }, this.t.sendDiscard);
    discard.addEventListener('click', () => this.discard(item));
    state.replaceChildren(el('span', {}, this.t.notSent), ' ', retry, ' ', discard);
  }

  /** Removes an item and its bubble. */
  drop(item) {
    this.items = this.items.filter((i) => i !== item);
    if (item.node) item.node.remove();
    item.node = null;
  }

  /** Delivers queued items one at a time, in order. */
  async pump() {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let item = this.nextQueued(); item; item = this.nextQueued()) await this.send(item);
    } finally {
      this.busy = false;
    }
  }

  nextQueued() {
    return this.items.find((i) => i.state === 'queued');
  }

  async send(item) {
    item.state = 'sending';
    this.mark(item);
    for (let attempt = 0; ; attempt++) {
      try {
        const ev = await this.deliver(item);
        this.drop(item);
        this.shown(ev);
        return;
      } catch (e) {
        if (!transient(e)) {
          this.drop(item);
          // Already seen live: it was delivered, whatever this late answer says.
          if (!item.seen) this.refused(item, e);
          return;
        }
        if (attempt >= RETRY_DELAYS_MS.length) {
          // Later messages wait behind this one, so the order on screen stays the order sent.
          for (const later of this.items) {
            if (later.state !== 'failed') {
              later.state = 'failed';
              this.mark(later);
            }
          }
          return;
        }
        await sleep(RETRY_DELAYS_MS[attempt]);
      }
    }
  }

  /** Tries every failed item again, in order, with its own client key. */
  retry() {
    for (const item of this.items) {
      if (item.state === 'failed') {
        item.state = 'queued';
        this.mark(item);
      }
    }
    this.pump();
  }

  /** Gives up on one failed item (its text goes nowhere). */
  discard(item) {
    if (item.state === 'failed') this.drop(item);
  }

  /**
   * A live event arrived: if it is ours and matches an item whose request is in flight, the bubble goes
   * (the event itself is shown by the caller; the request's answer will then find it already shown).
   */
  arrived(ev) {
    if (!ev.member || ev.member.id !== this.me) return;
    if (ev.kind !== 'MESSAGE' && ev.kind !== 'WHISPER') return;
    const to = ev.kind === 'WHISPER' && ev.target ? ev.target.id : null;
    const item = this.items.find(
      (i) => i.state === 'sending' && i.node && i.text === ev.text && (i.target ? i.target.id : null) === to,
    );
    if (item && item.node) {
      item.seen = true;
      item.node.remove();
      item.node = null;
    }
  }

  /** Whether any item is not yet delivered. */
  get pending() {
    return this.items.length > 0;
  }
}
