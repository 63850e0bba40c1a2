// The page: hash routes (#/ the overview, #/w/<project>/<workflow>?… a workflow), one view at a time, refreshed
// in place when the daemon says something changed; never a reload.
import { el, replace, tickAges } from './dom.js';
import { legend } from './states.js';
import { daemonLine, Overview } from './overview.js';
import { WorkflowPage } from './workflow.js';
import { get, listen } from './api.js';
import { parseRoute } from './routes.js';

const main = document.getElementById('main');
const daemonBox = document.getElementById('daemon');
const liveBox = document.getElementById('live');

let view = null;
let running = false;
let again = false;

/** Fetches and renders what is shown; a change that comes meanwhile makes one more refresh after it, never two at once. */
async function refresh() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    do {
      again = false;
      const current = view;
      const daemon = get('/api/daemon').then(d => replace(daemonBox, daemonLine(d)), e => replace(daemonBox, el('span', { class: 'bad' }, e.message)));
      await Promise.all([current.refresh(), daemon]);
    } while (again);
  } finally {
    running = false;
    document.body.dataset.refreshed = String(Date.now());
  }
}

function route() {
  const r = parseRoute(location.hash);
  const key = r.view === 'workflow' ? `w:${r.id}` : 'overview';
  if (view && view.key === key) {
    view.update(r.params); // same page, other filter, page or slot: no new view, no flash
  } else {
    view = r.view === 'workflow' ? new WorkflowPage(main, r.id, r.params) : new Overview(main);
    view.key = key;
  }
  document.title = r.view === 'workflow' ? `${r.id} · Batchkeeper` : 'Batchkeeper';
  refresh();
}

replace(document.getElementById('legend'), legend());
window.addEventListener('hashchange', route);
listen(refresh, status => {
  liveBox.textContent = status === 'live' ? 'live' : 'polling';
  liveBox.className = `live is-${status}`;
  liveBox.title = status === 'live' ? 'live: the daemon tells this page when anything changes' : 'reconnecting: asking the daemon every 2 s meanwhile';
});
setInterval(() => tickAges(document.body), 1000);
route();
