// The JSON API and the live updates: one EventSource on /api/events ("changed" with a version, at most four a
// second); while it is down the page asks again every two seconds, so it stays current either way.
export class ApiError extends Error {}

export async function get(path) {
  let answer;
  try {
    answer = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(`the daemon does not answer (${e.message})`);
  }
  let body = null;
  try {
    body = await answer.json();
  } catch {
    body = null;
  }
  if (!answer.ok) throw new ApiError(body?.error || `HTTP ${answer.status}`);
  return body;
}

export function workflowPath(id) {
  const [project, ...rest] = id.split('/');
  return `/api/workflows/${encodeURIComponent(project)}/${encodeURIComponent(rest.join('/'))}`;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

const POLL_MS = 2000;

/** Calls onChange() whenever the daemon's data moved; onStatus('live' | 'polling') says how it hears of it. */
export function listen(onChange, onStatus) {
  let poll = null;
  const startPolling = () => {
    if (poll === null) poll = setInterval(onChange, POLL_MS);
    onStatus('polling');
  };
  const stopPolling = () => {
    if (poll !== null) clearInterval(poll);
    poll = null;
  };
  if (!('EventSource' in window)) {
    startPolling();
    return;
  }
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    stopPolling();
    onStatus('live');
  });
  source.addEventListener('changed', () => onChange());
  // The browser reconnects by itself (a restarting daemon); meanwhile, polling.
  source.addEventListener('error', () => startPolling());
}
