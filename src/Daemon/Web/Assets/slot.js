// One slot: its state, its job, every attempt (times, exit codes, reasons, memory and vCPUs) and the end of a job's log,
// read by the daemon as `batchkeeper logs` reads it (at most the last 64 KiB).
import { el, exact, duration, num, replace } from './dom.js';
import { get, query, workflowPath } from './api.js';
import { badge } from './states.js';

const kib = n => `${num(Math.round(n / 1024))} KiB`;

export class SlotPanel {
  constructor(id, pick) {
    this.id = id;
    this.pick = pick;
    this.body = el('div', { class: 'slot-body' });
    this.logBox = el('div', { class: 'log-box' });
    this.node = el('section', { class: 'card slot-card', hidden: true, 'aria-live': 'polite' }, this.body, this.logBox);
    this.shown = null; // what the log was read for: the slot's JSON and the job asked for
  }

  async show(sample, analysis, job) {
    if (sample === null || analysis === null) {
      this.node.hidden = true;
      this.shown = null;
      return;
    }
    this.node.hidden = false;
    const base = workflowPath(this.id);
    let answer;
    try {
      answer = await get(base + '/slot' + query({ sample, analysis }));
    } catch (e) {
      replace(this.body, el('h2', {}, `${sample} / ${analysis}`), el('p', { class: 'bad' }, e.message));
      replace(this.logBox);
      this.shown = null;
      return;
    }
    this.render(answer.slot, answer.backend, job);
    // The log is read again only when the slot moved (a CloudWatch read costs requests), or on "read again".
    const key = JSON.stringify([answer.slot, job]);
    if (this.shown !== key) {
      this.shown = key;
      await this.readLog(sample, analysis, job);
    }
  }

  close() {
    this.pick(null, null, null);
  }

  render(s, backend, job) {
    const row = (name, ...value) => (value.every(v => v === null || v === undefined || v === '') ? null : el('tr', {}, el('th', {}, name), el('td', {}, value)));
    const attempts = s.history.slice().reverse();
    const shape = attempts.some(a => a.memory || a.vcpus); // the local backend asks for none: no empty column
    replace(this.body,
      el('div', { class: 'slot-top' },
        el('h2', {}, el('span', { class: 'slot-sample' }, s.sample), ' / ', el('span', { class: 'slot-analysis' }, s.analysis)),
        el('button', { type: 'button', class: 'close', title: 'close', 'aria-label': 'close', on: { click: () => this.close() } }, '×')),
      el('div', { class: 'slot-state' }, badge(s.state), s.stuck ? el('span', { class: 'pill warn' }, 'stuck') : null),
      s.message ? el('p', { class: 'message' }, s.message) : null,
      el('table', { class: 'facts-table' }, el('tbody', {},
        row('job', s.job_id ? el('code', {}, s.job_id) : null, s.job_name ? el('div', { class: 'sub' }, s.job_name) : null),
        row('Batch status', s.batch_status),
        row('attempt', s.max_attempts ? `${s.attempt} of ${s.max_attempts}` : String(s.attempt), s.interruptions ? ` (+${s.interruptions} interrupted)` : ''),
        row('failure class', s.failure_class),
        row('reason', s.status_reason),
        row('container', s.container_reason),
        row('exit code', s.exit_code === null ? null : String(s.exit_code)),
        row('memory', s.memory ? `${num(s.memory)} MiB` : null),
        row('vCPUs', s.vcpus ? String(s.vcpus) : null),
        row('submitted', s.submitted_at ? exact(s.submitted_at) : null),
        row('started', s.started_at ? exact(s.started_at) : null),
        row('stopped', s.stopped_at ? exact(s.stopped_at) : null),
        row('next attempt', s.next_attempt_at ? exact(s.next_attempt_at) : null),
        row('outputs', s.outputs.length ? el('ul', { class: 'outputs' }, s.outputs.map(o =>
          el('li', { class: o.exists ? 'exists' : 'missing' }, el('span', { class: 'mark' }, o.exists ? '✓' : '✗'), ' ', el('code', {}, o.uri)))) : null))),
      el('h3', {}, attempts.length === 1 ? '1 attempt' : `${num(attempts.length)} attempts`),
      attempts.length === 0 ? el('p', { class: 'muted' }, 'No job was submitted for this slot.') : el('div', { class: 'scroll' }, el('table', { class: 'attempts' },
        el('thead', {}, el('tr', {}, ['#', 'status', 'class', 'reason', 'exit', shape ? 'memory · vCPUs' : null, 'submitted', 'ran', ''].filter(h => h !== null).map(h => el('th', {}, h)))),
        el('tbody', {}, attempts.map(a => el('tr', { class: (job || s.job_id || s.history[s.history.length - 1].job_id) === a.job_id ? 'shown' : '' },
          el('td', { title: `job ${a.job_id}${a.queue ? ` on queue ${a.queue}` : ''}` }, String(a.attempt)),
          el('td', {}, a.status || '—'),
          el('td', {}, a.failure_class || ''),
          el('td', { class: 'reason' }, [a.status_reason, a.container_reason].filter(x => x).join(' · ')),
          el('td', {}, a.exit_code === null ? '' : String(a.exit_code)),
          shape ? el('td', {}, [a.memory ? `${num(a.memory)} MiB` : '', a.vcpus ? `${a.vcpus} vCPU` : ''].filter(x => x).join(' · ')) : null,
          el('td', { title: a.submitted_at ? exact(a.submitted_at) : '' }, a.submitted_at ? exact(a.submitted_at).slice(11) : ''),
          el('td', { title: a.started_at ? `${exact(a.started_at)} – ${exact(a.stopped_at)}` : 'never started' }, a.started_at ? duration(a.started_at, a.stopped_at) : '—'),
          el('td', {}, el('button', { type: 'button', class: 'link', on: { click: () => this.pick(s.sample, s.analysis, a.job_id) } }, 'log'))))))),
      el('p', { class: 'muted small' }, `Backend ${backend}.`));
  }

  async readLog(sample, analysis, job) {
    const read = el('button', { type: 'button', class: 'link', on: { click: () => this.readLog(sample, analysis, job) } }, 'read again');
    let log;
    try {
      log = await get(workflowPath(this.id) + '/log' + query({ sample, analysis, job }));
    } catch (e) {
      replace(this.logBox, el('h3', {}, 'Log'), el('p', { class: 'bad' }, e.message), read);
      return;
    }
    const where = log.source === 'cloudwatch' ? `CloudWatch Logs ${log.log_group} / ${log.stream}` : log.stream;
    if (log.source === 'none') {
      replace(this.logBox, el('h3', {}, 'Log'), el('p', { class: 'muted log-none' }, log.message), read);
      return;
    }
    const size = log.truncated
      ? `the last ${kib(log.limit)}${log.bytes ? ` of ${kib(log.bytes)}` : ''} (older lines are left out; \`batchkeeper logs\` prints all of it)`
      : `the whole log${log.bytes !== null ? `, ${num(log.bytes)} bytes` : ''}`;
    replace(this.logBox,
      el('h3', {}, `Log of job ${log.job_id}`),
      el('p', { class: 'muted small' }, `${where}: ${size} · `, read),
      el('pre', { class: 'log', tabindex: '0' }, log.text === '' ? '(empty)' : log.text));
  }
}
