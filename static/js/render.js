// Builds the markup of one room event — the same structure the server renders in templates/room.html:
//   <div class="mine|other|system" data-seq data-color data-ink>
//     <div class="who"><span class="swatch"></span>#rrggbb</div>
//     <div class="bubble">text</div> | <img class="gif" alt>
//     <time datetime>
//   </div>
// `renderers` is keyed by the GraphQL `RoomEventKind`; the moderation client (issue 4) may add or
// replace entries (e.g. a richer WHISPER) without touching the room page.

import { el, fill, linkified } from './dom.js';

/** A whisper's label, as templates/room.html renders it: to whom (sent by the reader) or "to you". */
function whisperLabel(ev, ctx) {
  if (ev.member && ev.member.id === ctx.me) return fill(ctx.t.whisperTo, { color: ev.target ? ev.target.color : '' });
  return ctx.t.whisperToMe;
}

function who(ev, ctx, whisper) {
  const color = ev.member ? ev.member.color : '';
  return el(
    'div',
    { class: 'who' },
    el('span', { class: 'swatch', 'aria-hidden': 'true' }),
    color,
    whisper ? ' ' : null,
    whisper ? el('em', { class: 'whisper-label' }, `(${whisperLabel(ev, ctx)})`) : null,
  );
}

function shell(ev, ctx, cls) {
  const attrs = { class: cls, dataset: { seq: String(ev.seq) } };
  if (ev.member) attrs.dataset.color = ev.member.color;
  return el('div', attrs);
}

function chatClass(ev, ctx) {
  return ev.member && ev.member.id === ctx.me ? 'mine' : 'other';
}

/** A member's colour as notices name them: with "(나)" / "(you)" when it is the reader. */
export function named(member, ctx) {
  if (!member) return '';
  return member.id === ctx.me ? `${member.color} (${ctx.t.yours})` : member.color;
}

function notice(text) {
  return (ev, ctx) => {
    const node = shell(ev, ctx, 'system');
    const subject = ev.kind === 'KICKED' ? ev.target : ev.member;
    node.append(el('div', {}, fill(ctx.t[text], { color: named(subject, ctx) })));
    return node;
  };
}

/** A message's bubble: its text, with http(s) URLs as links (text nodes only). */
function bubble(text) {
  return el('div', { class: 'bubble' }, ...linkified(text || ''));
}

/** Renderers by event kind; each returns the message element without its time. */
export const renderers = {
  MESSAGE(ev, ctx) {
    const node = shell(ev, ctx, chatClass(ev, ctx));
    node.append(who(ev, ctx, false), bubble(ev.text));
    return node;
  },
  WHISPER(ev, ctx) {
    const node = shell(ev, ctx, `${chatClass(ev, ctx)} whisper`);
    node.append(who(ev, ctx, true), bubble(ev.text));
    return node;
  },
  GIF(ev, ctx) {
    // A GIF uploaded while whispering has a target and is marked like a text whisper.
    const whispered = Boolean(ev.whispered || ev.target);
    const node = shell(ev, ctx, whispered ? `${chatClass(ev, ctx)} whisper` : chatClass(ev, ctx));
    const alt = fill(ctx.t.gifAlt, { color: ev.member ? ev.member.color : '' });
    // Only same-origin GIF paths are shown; anything else in the field is ignored.
    const src = /^\/gif\/[0-9a-f]{32}\.gif$/.test(ev.gifUrl || '') ? ev.gifUrl : '';
    node.append(who(ev, ctx, whispered), el('img', { class: 'gif', src, alt }));
    return node;
  },
  JOINED: notice('joined'),
  LEFT: notice('left'),
  OWNER_CHANGED: notice('ownerChanged'),
  KICKED: notice('kicked'),
};

/** The element for `ev`, or null for kinds this page does not know. */
export function renderEvent(ev, ctx) {
  const render = renderers[ev.kind];
  if (!render) return null;
  const node = render(ev, ctx);
  node.append(el('time', { datetime: ev.at }, ''));
  return node;
}
