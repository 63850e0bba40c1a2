// The slot states in the order a person reads progress, with their colours (classes s-<state> in base.css).
import { el, num } from './dom.js';

export const STATES = [
  { name: 'complete', label: 'complete', about: 'every output exists' },
  { name: 'running', label: 'running', about: 'the job runs' },
  { name: 'queued', label: 'queued', about: 'submitted, not running yet' },
  { name: 'verifying', label: 'verifying', about: 'the job succeeded; its outputs are not visible yet' },
  { name: 'retrying', label: 'retrying', about: 'failed; submitted again after the backoff' },
  { name: 'waiting', label: 'waiting', about: 'waits for the analysis before it' },
  { name: 'failed_permanently', label: 'failed permanently', about: 'used its attempts, or cannot succeed as configured' },
  { name: 'blocked', label: 'blocked', about: 'an analysis before it failed for good' },
  { name: 'invalid', label: 'invalid', about: 'its templates cannot be expanded' },
  { name: 'cancelled', label: 'cancelled', about: 'the workflow was cancelled' },
];

const byName = new Map(STATES.map(s => [s.name, s]));
export const label = name => byName.get(name)?.label ?? name;
export const isState = name => byName.has(name);

/** A small coloured label of a state. */
export function badge(state) {
  return el('span', { class: `badge s-${byName.has(state) ? state : 'unknown'}`, title: byName.get(state)?.about }, label(state));
}

/**
 * The progress bar: one segment per state, in the order above, as wide as its share of the slots; a progressbar to
 * assistive technology (and to the tests), complete out of all.
 */
export function stackedBar(states, total, props) {
  const complete = states.complete || 0;
  const bar = el('div', {
    class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': complete,
    'aria-label': `${num(complete)} of ${num(total)} slots complete`, ...props,
  });
  for (const s of STATES) {
    const n = states[s.name] || 0;
    if (n > 0) bar.append(el('span', { class: `seg s-${s.name}`, width: `${(100 * n) / total}%`, title: `${label(s.name)}: ${num(n)}`, data: { state: s.name } }));
  }
  if (total === 0) bar.append(el('span', { class: 'empty-bar' }, 'no slots'));
  return bar;
}

/** The counts as text beside the bar: "4 of 6 complete · 1 running · 1 queued". */
export function counts(states, total) {
  const parts = [el('span', { class: 'count-main' }, `${num(states.complete || 0)} of ${num(total)} complete`)];
  for (const s of STATES) {
    const n = states[s.name] || 0;
    if (s.name !== 'complete' && n > 0) {
      parts.push(el('span', { class: 'count', data: { state: s.name } }, el('i', { class: `dot s-${s.name}` }), `${num(n)} ${s.label}`));
    }
  }
  return el('div', { class: 'counts' }, parts);
}

export function legend() {
  return STATES.map(s => el('span', { class: 'legend-item', title: s.about }, el('i', { class: `dot s-${s.name}` }), s.label));
}

/** A failure class as a chip: out_of_memory, failed, misconfigured, blocked, … */
export function classChip(name, count) {
  return el('span', { class: `chip f-${name}`, title: `${name.replaceAll('_', ' ')}${count === undefined ? '' : `: ${num(count)} slots`}` },
    name.replaceAll('_', ' '), count === undefined ? null : el('b', {}, num(count)));
}
