// The overview: the daemon's health, then one row per workflow with its progress by state, failures, errors,
// backend and the age of its last pass.
import { ageOf, card, el, num, plural, replace, setServerNow } from './dom.js';
import { get } from './api.js';
import { classChip, counts, stackedBar } from './states.js';
import { workflowHash } from './routes.js';

/** The daemon's line in the header, from /api/daemon. */
export function daemonLine(d) {
  setServerNow(d.now);
  const parts = [];
  if (d.lock === 'held') {
    parts.push(el('span', { class: `pill ${d.health === 'ok' ? 'ok' : 'bad'}`, title: d.problem || 'the reconcile loop is alive' },
      d.health === 'ok' ? 'healthy' : `stalled: ${d.problem}`));
    parts.push(el('span', { class: 'pill', title: 'this daemon holds the projects folder\'s lock' }, 'lock held'));
  } else {
    parts.push(el('span', { class: 'pill warn', title: 'another daemon holds the projects folder; this one takes over when it ends' },
      `standby for PID ${d.standby_for || 'unknown'}`));
  }
  parts.push(el('span', { class: 'fact' }, 'last pass ', d.last_pass_at ? ageOf(d.last_pass_at) : 'none yet'));
  parts.push(el('span', { class: 'fact', data: { passes: d.passes_running } }, plural(d.passes_running, 'pass', 'passes'), ' in flight'));
  for (const [service, rate] of Object.entries(d.requests_last_minute || {}).sort(([a], [b]) => a.localeCompare(b))) {
    parts.push(el('span', { class: `fact${rate.throttled > 0 ? ' warn-text' : ''}`, title: `requests to ${service} in the last minute` },
      `${serviceName(service)} ${num(rate.requests)}/min`, rate.throttled > 0 ? `, ${num(rate.throttled)} throttled` : ''));
  }
  parts.push(el('span', { class: 'fact muted' }, `${d.backend} · v${d.version} · PID ${d.pid}`));
  return parts;
}

const serviceName = s => ({ batch: 'Batch', s3: 'S3', logs: 'CloudWatch Logs', sqs: 'SQS' })[s] || s;

export class Overview {
  constructor(main) {
    this.main = main;
    this.tiles = el('div', { class: 'tiles' });
    this.body = el('div', { class: 'workflows' });
    replace(main, this.tiles, card('Workflows', {}, this.body));
  }

  update() {}

  async refresh() {
    let list;
    try {
      list = await get('/api/workflows');
    } catch (e) {
      replace(this.body, el('p', { class: 'bad' }, `Cannot read the workflows: ${e.message}`));
      return;
    }
    setServerNow(list.now);
    this.renderTiles(list.workflows);
    if (list.workflows.length === 0) {
      replace(this.body, el('p', { class: 'empty' }, 'No managed workflows yet. Drop a workflow file into a project folder and it appears here within seconds.'));
      return;
    }
    // A refresh must not fold away the errors a person opened.
    const open = new Set([...this.body.querySelectorAll('tr[data-workflow] details[open]')].map(d => d.closest('tr').dataset.workflow));
    const rows = list.workflows.map(w => this.row(w, open.has(w.id)));
    replace(this.body, el('table', { class: 'overview' },
      el('thead', {}, el('tr', {}, ['Workflow', 'Progress', 'Failures', 'Errors', 'Backend', 'Last pass'].map(h => el('th', {}, h)))),
      el('tbody', {}, rows)));
  }

  renderTiles(workflows) {
    const sum = f => workflows.reduce((n, w) => n + f(w), 0);
    const total = sum(w => w.summary.total);
    const complete = sum(w => w.states.complete);
    const active = sum(w => w.states.running + w.states.queued + w.states.verifying);
    const failing = sum(w => Object.values(w.failures).reduce((a, b) => a + b, 0));
    const errors = workflows.filter(w => w.errors.length > 0).length;
    const tile = (value, what, cls) => el('div', { class: `tile ${cls || ''}` }, el('b', {}, value), el('span', {}, what));
    replace(this.tiles,
      tile(num(workflows.length), workflows.length === 1 ? 'workflow' : 'workflows'),
      tile(num(total), 'slots'),
      tile(total ? `${Math.floor((1000 * complete) / total) / 10}%` : '—', `complete (${num(complete)})`, 'good'),
      tile(num(active), 'queued or running'),
      tile(num(failing), 'need attention', failing ? 'bad' : ''),
      tile(num(errors), errors === 1 ? 'workflow with errors' : 'workflows with errors', errors ? 'bad' : ''));
  }

  row(w, errorsOpen) {
    const href = workflowHash(w.id);
    const name = el('td', { class: 'name' },
      el('a', { href, class: 'wf-link' }, w.workflow ?? w.file),
      el('div', { class: 'sub' }, `${w.project} / ${w.file}`, w.cancel ? el('span', { class: 'pill bad small' }, 'cancel') : null));
    const failures = Object.entries(w.failures);
    return el('tr', { data: { workflow: w.id } },
      name,
      el('td', { class: 'progress' }, stackedBar(w.states, w.summary.total), counts(w.states, w.summary.total)),
      el('td', { class: 'failures' }, failures.length ? failures.map(([c, n]) => classChip(c, n)) : el('span', { class: 'muted' }, 'none')),
      el('td', { class: 'errors' }, w.errors.length
        ? el('details', { open: errorsOpen }, el('summary', { class: 'bad' }, plural(w.errors.length, 'error')), el('ul', {}, w.errors.map(e => el('li', {}, e.message))))
        : el('span', { class: 'muted' }, 'none')),
      el('td', {}, w.backend),
      el('td', { class: 'when' }, ageOf(w.reconciled_at), w.next_reconcile_at ? el('div', { class: 'sub' }, 'next ', ageOf(w.next_reconcile_at)) : null));
  }
}
