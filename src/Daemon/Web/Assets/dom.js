// Building the page from data. Every value from the daemon (sample, analysis, workflow and project names, reasons,
// messages, log lines) goes into the page as text: text nodes and textContent, never parsed as markup, so a sample
// named <script>…</script> is shown as those characters and nothing runs.

/** el('a', { class: 'x', href: '#/', title: 't', data: { at: '…' }, on: { click: f } }, 'text', child, …) */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'data') for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    else if (key === 'on') for (const [k, v] of Object.entries(value)) node.addEventListener(k, v);
    else if (key === 'width') node.style.width = value; // CSSOM, which the CSP allows (no style attribute is parsed)
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

const numbers = new Intl.NumberFormat('en');
export const num = n => numbers.format(n);

export function plural(n, one, many) {
  return `${num(n)} ${n === 1 ? one : many || one + 's'}`;
}

// The daemon's clock minus this browser's, from the last answer that said what time it is.
let skew = 0;
export function setServerNow(iso) {
  const t = Date.parse(iso);
  if (!Number.isNaN(t)) skew = t - Date.now();
}

export const serverNow = () => Date.now() + skew;

/** "12 s ago", "3 min ago", "in 20 s" */
export function age(iso) {
  if (!iso) return '—';
  const ms = serverNow() - Date.parse(iso);
  const text = span(Math.abs(ms));
  return ms >= 0 ? `${text} ago` : `in ${text}`;
}

export function span(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60 ? `${m % 60} min` : ''}`.trim();
  return `${Math.floor(h / 24)} d ${h % 24 ? `${h % 24} h` : ''}`.trim();
}

/** An element whose text is the age of iso, kept current by tickAges(). */
export function ageOf(iso, props) {
  return el('time', { ...props, datetime: iso || null, title: iso ? exact(iso) : null, data: iso ? { at: iso } : undefined }, age(iso));
}

export function tickAges(root) {
  for (const node of root.querySelectorAll('time[data-at]')) node.textContent = age(node.dataset.at);
}

/** 2026-12-02 10:00:03 in this browser's time zone. */
export function exact(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  const p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function duration(from, to) {
  if (!from) return '—';
  const end = to ? Date.parse(to) : serverNow();
  return span(Math.max(0, end - Date.parse(from)));
}

/** A section with a heading, the page's card. */
export function card(title, props, ...children) {
  return el('section', { class: 'card', ...props }, title ? el('h2', {}, title) : null, ...children);
}
