// Refusals in the page's language: every error the room page can meet (a GraphQL error's
// `extensions.code` and `reason`, an upload's HTTP status and JSON `error`) becomes one full sentence
// from the server-rendered texts. The server's own English `message` is never shown.

import { fill } from './dom.js';

/** The longest message the server takes (MessageText::MAX_CHARS). */
export const MAX_CHARS = 1000;

/** Characters as the server counts them: Unicode scalar values of the trimmed text. */
export function charCount(text) {
  return Array.from(text.trim()).length;
}

/**
 * The sentence for a refusal `{ code, reason, status, retryAfter }` in the texts `t`.
 * `ctx` may give `forbidden` (the sentence for a plain FORBIDDEN here), `count` (the message length)
 * and `maxMiB` (the upload limit).
 */
export function explain(t, { code, reason, status, retryAfter } = {}, ctx = {}) {
  const wait = retryAfter > 0 ? fill(t.errRateLimitedWait, { secs: retryAfter }) : t.errRateLimited;
  if (status === 413) return fill(t.uploadTooBig, { max: ctx.maxMiB });
  switch (reason) {
    case 'TOO_LONG':
      return fill(t.errTooLong, { max: MAX_CHARS, count: ctx.count ?? '' });
    case 'EMPTY':
      return t.errEmpty;
    case 'FORBIDDEN_CHARACTERS':
      return t.errBadChars;
    case 'NOT_A_GIF':
      return t.errNotAGif;
    case 'GIF_DAMAGED':
      return t.errGifDamaged;
    case 'GIF_TOO_LARGE':
      return t.errGifTooLarge;
    case 'FILE_TOO_BIG':
      return fill(t.uploadTooBig, { max: ctx.maxMiB });
    case 'NOT_PRESENT':
      return t.errNotPresent;
    case 'SELF':
      return t.errSelf;
    case 'REMOVED':
      return t.errRemoved;
    case 'ROOM_QUOTA':
      return t.errRoomGifsFull;
    case 'TOTAL_QUOTA':
      return t.errGifsFull;
    default:
      break;
  }
  switch (code) {
    case 'NETWORK':
      return t.errNetwork;
    case 'RATE_LIMITED':
      return wait;
    case 'QUOTA_EXCEEDED':
      return t.errGifsFull;
    case 'INTERNAL':
      return t.errInternal;
    case 'NOT_FOUND':
      return t.errNotFound;
    case 'FORBIDDEN':
      return ctx.forbidden || t.errNotMember;
    default:
      break;
  }
  if (status === 429) return wait;
  if (status >= 500) return t.errInternal;
  return t.errUnknown;
}
