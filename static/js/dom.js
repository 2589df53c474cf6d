// DOM helpers shared by the pages. Everything is built with createElement and textContent: no HTML
// string from the server or from another member is ever parsed.

/** Creates `<tag>` with attributes (strings; `class` and `dataset` handled) and children (nodes or text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'hidden') node.hidden = true;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** The page's texts: JSON in `data-texts` (rendered by the server in the reader's language). */
export function readTexts(root) {
  try {
    return JSON.parse(root.dataset.texts || '{}');
  } catch {
    return {};
  }
}

/** Fills `{color}` / `{max}` placeholders of a text. */
export function fill(template, values) {
  return String(template || '').replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
}

/** WCAG relative luminance of `#rrggbb`. */
export function luminance(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** `light` or `dark` text on a colour: the choice that keeps at least 4.5:1 (same rule as the server). */
export function inkOn(hex) {
  return luminance(hex) < 0.179 ? 'light' : 'dark';
}

const COLOR = /^#[0-9a-f]{6}$/;

/**
 * Applies member colours below `root`: each `[data-color]` gets the CSS variable `--member` (read by
 * the stylesheet for swatches and bubbles). Set through the CSSOM, which the page's CSP allows, unlike
 * inline `style` attributes.
 */
export function applyColors(root) {
  const nodes = root.matches && root.matches('[data-color]') ? [root] : [];
  nodes.push(...root.querySelectorAll('[data-color]'));
  for (const node of nodes) {
    const color = node.dataset.color;
    if (!COLOR.test(color)) continue;
    node.style.setProperty('--member', color);
    if (!node.dataset.ink) node.dataset.ink = inkOn(color);
  }
}

/** Shows `<time datetime>` elements below `root` in the reader's local time, written the way the page's
 *  language writes it (ko "오후 4:51", en "4:51 PM"). */
export function localizeTimes(root, lang) {
  const short = new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit' });
  const full = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
  for (const node of root.querySelectorAll('time[datetime]')) {
    const date = new Date(node.getAttribute('datetime'));
    if (Number.isNaN(date.getTime())) continue;
    node.textContent = short.format(date);
    node.title = full.format(date);
  }
}

/** http(s) URLs in running text; trailing punctuation is left out (it usually ends the sentence). */
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,!?;:)\]}'"…。、]+$/;

/**
 * The text as nodes, with each http(s) URL as a link that opens apart from the page and passes on
 * nothing (`noopener noreferrer nofollow`). Text nodes and `href` only: nothing is parsed as HTML,
 * and no preview is ever fetched.
 */
export function linkified(text) {
  const nodes = [];
  let at = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    const url = match[0].replace(TRAILING, '');
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      continue;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') continue;
    if (match.index > at) nodes.push(document.createTextNode(text.slice(at, match.index)));
    nodes.push(el('a', { href: parsed.href, rel: 'noopener noreferrer nofollow', target: '_blank' }, url));
    at = match.index + url.length;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/** Turns URLs in the text of each `.bubble` below `root` into links (for server-rendered messages). */
export function linkifyBubbles(root) {
  for (const bubble of root.querySelectorAll('.bubble')) {
    if (bubble.querySelector('a') || !URL_IN_TEXT.test(bubble.textContent)) continue;
    URL_IN_TEXT.lastIndex = 0;
    bubble.replaceChildren(...linkified(bubble.textContent));
  }
}

/** Sets (or clears, with '') a status line; hidden when empty so it takes no room. */
export function setStatus(node, text) {
  if (!node) return;
  node.textContent = text;
  node.hidden = !text;
}

/** A client key for a retried send: 128 random bits as hex (works on plain http too, unlike randomUUID). */
export function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
