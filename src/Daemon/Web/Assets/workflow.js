// A workflow: its progress and errors, the sample × analysis grid (filtered and paged by the daemon), its failures
// grouped by class and reason, and the slot picked in the grid (slot.js).
import { ageOf, card, el, exact, num, plural, replace } from './dom.js';
import { get, query, workflowPath } from './api.js';
import { STATES, badge, classChip, counts, label, stackedBar } from './states.js';
import { navigate, workflowHash } from './routes.js';
import { SlotPanel } from './slot.js';

const PAGE_SIZES = [100, 200, 500, 1000];

export class WorkflowPage {
  constructor(main, id, params) {
    this.id = id;
    this.params = params;
    this.head = el('section', { class: 'card head' }, el('p', { class: 'muted' }, 'Loading…'));
    this.gridBody = el('div', { class: 'grid-body' });
    this.pager = el('div', { class: 'pager' });
    this.failures = el('div', { class: 'failure-groups' });
    this.slot = new SlotPanel(id, (sample, analysis, job) => this.pick(sample, analysis, job));
    this.filters = this.filterBar();
    replace(main,
      el('nav', { class: 'crumbs' }, el('a', { href: '#/' }, 'Overview'), ' › ', el('span', {}, id)),
      this.head,
      el('div', { class: 'columns' },
        card('Samples × analyses', { class: 'card grid-card' }, this.filters, this.gridBody, this.pager),
        el('div', { class: 'side' }, this.slot.node, card('Failures', { class: 'card failures-card' }, this.failures))));
  }

  update(params) {
    this.params = params;
    this.syncFilters();
  }

  go(change, replaceEntry) {
    const params = new URLSearchParams(this.params);
    for (const [k, v] of Object.entries(change)) {
      if (v === null || v === undefined || v === '') params.delete(k);
      else params.set(k, v);
    }
    navigate(workflowHash(this.id, params), { replace: replaceEntry });
  }

  pick(sample, analysis, job) {
    this.go({ sample, analysis, job });
  }

  filterBar() {
    this.stateSelect = el('select', { 'aria-label': 'Filter by state', class: 'state-filter', on: { change: () => this.go({ state: this.stateSelect.value, page: null }) } },
      el('option', { value: '' }, 'every state'), STATES.map(s => el('option', { value: s.name }, s.label)));
    let timer = null;
    this.search = el('input', {
      type: 'search', placeholder: 'Sample contains…', 'aria-label': 'Filter samples by name', class: 'sample-filter', spellcheck: 'false',
      on: { input: () => {
        clearTimeout(timer);
        timer = setTimeout(() => this.go({ q: this.search.value.trim(), page: null }, true), 250);
      } },
    });
    this.sizeSelect = el('select', { 'aria-label': 'Rows a page', on: { change: () => this.go({ size: this.sizeSelect.value, page: null }) } },
      PAGE_SIZES.map(n => el('option', { value: n }, `${n} a page`)));
    this.matchText = el('span', { class: 'muted match' });
    this.syncFilters();
    return el('div', { class: 'filters' }, this.stateSelect, this.search, this.sizeSelect, this.matchText);
  }

  /** The controls show the route's filter (a link or Back may have changed it), without taking a person's typing away. */
  syncFilters() {
    this.stateSelect.value = this.params.get('state') || '';
    if (document.activeElement !== this.search) this.search.value = this.params.get('q') || '';
    this.sizeSelect.value = this.params.get('size') || '200';
  }

  async refresh() {
    const p = this.params;
    const base = workflowPath(this.id);
    const grid = get(base + '/grid' + query({ state: p.get('state'), q: p.get('q'), page: p.get('page'), size: p.get('size') }));
    const failures = get(base + '/failures');
    const slot = this.slot.show(p.get('sample'), p.get('analysis'), p.get('job'));
    try {
      const [g, f] = await Promise.all([grid, failures]);
      this.renderHead(g.workflow);
      this.renderGrid(g);
      this.renderFailures(f);
    } catch (e) {
      replace(this.head, el('h1', {}, this.id), el('p', { class: 'bad' }, e.message), el('p', {}, el('a', { href: '#/' }, 'Back to the overview')));
      replace(this.gridBody);
      replace(this.failures);
    }
    await slot;
  }

  renderHead(w) {
    const facts = [
      el('span', {}, 'file ', el('code', {}, `${w.project}/${w.file}`)),
      el('span', {}, 'backend ', el('b', {}, w.backend)),
      el('span', {}, 'last pass ', ageOf(w.reconciled_at)),
      w.next_reconcile_at ? el('span', {}, 'next ', ageOf(w.next_reconcile_at)) : null,
      w.definition_sha256 ? el('span', { title: `definition sha256 ${w.definition_sha256}` }, 'definition ', el('code', {}, w.definition_sha256.slice(0, 12))) : null,
    ];
    replace(this.head,
      el('h1', {}, w.workflow ?? w.file, w.cancel ? el('span', { class: 'pill bad' }, 'cancelled by its file') : null),
      el('div', { class: 'facts' }, facts),
      stackedBar(w.states, w.summary.total, { class: 'bar big' }),
      counts(w.states, w.summary.total),
      w.errors.length ? el('div', { class: 'problems' }, el('h3', {}, plural(w.errors.length, 'error')),
        el('ul', {}, w.errors.map(e => el('li', {}, el('time', { class: 'muted', title: e.at }, exact(e.at)), ' ', e.message)))) : null,
      w.notes.length ? el('ul', { class: 'notes' }, w.notes.map(n => el('li', {}, n))) : null);
  }

  renderGrid(g) {
    const selected = [this.params.get('sample'), this.params.get('analysis')];
    const filtered = g.matching !== g.samples;
    replace(this.matchText, filtered ? `${num(g.matching)} of ${plural(g.samples, 'sample')} match` : plural(g.samples, 'sample'));
    if (g.rows.length === 0) {
      replace(this.gridBody, el('p', { class: 'empty' }, g.samples === 0 ? 'No slots: see the errors above.' : 'No sample matches the filter.'));
      replace(this.pager);
      return;
    }
    const head = el('tr', {}, el('th', { class: 'sample-col' }, 'sample'), g.analyses.map(a => el('th', {}, a)));
    const rows = g.rows.map(r => el('tr', {},
      el('th', { class: 'sample', scope: 'row', title: r.sample }, r.sample),
      r.states.map((state, i) => el('td', {}, state === null ? el('span', { class: 'none' }, '—') : el('button', {
        type: 'button',
        class: `cell s-${state}`,
        title: `${r.sample} / ${g.analyses[i]}: ${label(state)}`,
        'aria-pressed': selected[0] === r.sample && selected[1] === g.analyses[i] ? 'true' : 'false',
        data: { state },
        on: { click: () => this.pick(r.sample, g.analyses[i], null) },
      }, label(state))))));
    replace(this.gridBody, el('table', { class: 'grid', data: { samples: g.samples, matching: g.matching } }, el('thead', {}, head), el('tbody', {}, rows)));
    const first = g.page * g.page_size + 1;
    replace(this.pager,
      el('button', { type: 'button', disabled: g.page === 0, on: { click: () => this.go({ page: g.page - 1 || null }) } }, '‹ previous'),
      el('span', { class: 'page-of' }, `page ${num(g.page + 1)} of ${num(g.pages)} · samples ${num(first)}–${num(first + g.rows.length - 1)}`),
      el('button', { type: 'button', disabled: g.page >= g.pages - 1, on: { click: () => this.go({ page: g.page + 1 }) } }, 'next ›'));
  }

  renderFailures(f) {
    if (f.groups.length === 0) {
      replace(this.failures, el('p', { class: 'muted' }, 'Nothing failing.'));
      return;
    }
    const groups = f.groups.map(g => el('div', { class: 'failure-group', data: { class: g.class } },
      el('div', { class: 'failure-top' }, classChip(g.class), el('b', { class: 'failure-count' }, plural(g.count, 'slot'))),
      el('p', { class: 'reason' }, g.reason, g.exit_code === null ? null : el('span', { class: 'exit' }, ` exit code ${g.exit_code}`)),
      el('div', { class: 'failure-states' }, Object.entries(g.states).map(([s, n]) => el('span', {}, badge(s), ` ${num(n)}`))),
      el('div', { class: 'failure-slots' },
        g.slots.map(s => el('a', { href: '#', class: 'slot-link', on: { click: e => {
          e.preventDefault();
          this.pick(s.sample, s.analysis, null);
        } } }, `${s.sample} / ${s.analysis}`)),
        g.count > g.slots.length ? el('a', { href: '#', class: 'more', on: { click: e => {
          e.preventDefault();
          this.go({ state: Object.keys(g.states)[0], page: null });
        } } }, `and ${num(g.count - g.slots.length)} more…`) : null)));
    replace(this.failures, el('p', { class: 'muted' }, `${plural(f.failing, 'slot')} need attention`), groups);
  }
}
