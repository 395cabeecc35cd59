// The operation on show: an update or rollback, phase by phase as
// GET /updates/:id has it, or a restart, step by step from the service events.
import { ApiError, api, describe, guarded } from './api.js';
import { $, badge, bytes, duration, el, log, text } from './dom.js';
import { refreshHistory, refreshWhy, statusSoon } from './panels.js';
import { page } from './state.js';

const FINAL = new Set(['committed', 'rolled-back', 'failed']);

export function showOp(op) {
  page.op = { seen: [], done: false, ...op };
  $('op').hidden = false;
  text('op-title', op.title);
  badge($('op-state'), op.kind === 'restart' ? 'requested' : 'starting');
  $('op-phases').replaceChildren();
  $('op-progress').hidden = true;
  text('op-bytes', '');
  text('op-error', '');
}

export function addStep(name, detail, state = 'done') {
  const op = page.op;
  if (op === null || op.seen.includes(name)) return;
  op.seen.push(name);
  const item = el('li', '', detail === undefined ? name : `${name} ${detail}`);
  item.dataset.phase = name;
  item.dataset.state = state;
  $('op-phases').append(item);
}

// Renders an update operation as GET /updates/:id has it: each phase with its time.
function renderOperation(op) {
  if (page.op === null || page.op.id !== op.id) return;
  text('op-title', `${op.kind === 'rollback' ? 'Rollback' : 'Update'} ${op.from ?? 'nothing'} → ${op.to}`);
  badge($('op-state'), op.state);
  const list = $('op-phases');
  list.replaceChildren();
  // The journal lists the phase under way last, its time not yet known.
  const running = !FINAL.has(op.state);
  const phases = op.phases.map((p, i) => (running && i === op.phases.length - 1 ? { name: p.name, ms: null, state: 'running' } : { ...p, state: 'done' }));
  for (const phase of phases) {
    const item = el('li', '', phase.ms === null ? `${phase.name} …` : `${phase.name} ${duration(phase.ms)}`);
    item.dataset.phase = phase.name;
    item.dataset.state = phase.state;
    list.append(item);
  }
  text('op-error', op.error ? `${op.error.code}: ${op.error.message}` : '');
  if (FINAL.has(op.state) && !page.op.done) {
    page.op.done = true;
    $('op-progress').hidden = true;
    log(`${op.kind} ${op.from ?? 'nothing'} → ${op.to}: ${op.state}${op.error ? ` (${op.error.code})` : ''}`);
    void guarded(refreshHistory);
    statusSoon();
  }
}

// One GET /updates/:id at a time, however fast the events come.
let opReading = false;
let opAgain = false;
export async function readOperation() {
  if (opReading) return void (opAgain = true);
  opReading = true;
  try {
    do {
      opAgain = false;
      const id = page.op?.id;
      if (id) renderOperation(await api('GET', `/updates/${encodeURIComponent(id)}`));
    } while (opAgain);
  } catch (err) {
    text('op-error', describe(err));
  } finally {
    opReading = false;
  }
}

export function onUpdate(data) {
  // An operation started elsewhere (the CLI, the service's own button) shows too.
  if (page.op === null || (page.op.id !== data.id && (page.op.done || page.op.kind === 'restart'))) {
    showOp({ kind: 'update', id: data.id, title: `${data.phase === 'rollback' ? 'Rollback' : 'Update'} ${data.from ?? 'nothing'} → ${data.to}` });
  }
  // The events of our own request may come before its answer names the id.
  if (page.op.kind === 'update' && page.op.id === null) page.op.id = data.id;
  if (page.op.id !== data.id) return;
  if (!page.op.seen.includes(data.phase)) page.op.seen.push(data.phase);
  $('op').dataset.seen = page.op.seen.join(' ');
  // The bar is the download's: past the fetch, only its total stays.
  if (data.phase !== 'fetch') $('op-progress').hidden = true;
  void readOperation();
}

export function onProgress(data) {
  if (page.op === null || page.op.id !== data.id) return;
  const bar = $('op-progress');
  bar.hidden = false;
  if (data.total) {
    bar.max = data.total;
    bar.value = data.done;
    text('op-bytes', `${data.done < data.total ? 'downloading' : 'downloaded'}: ${bytes(data.done)} of ${bytes(data.total)}`);
  } else {
    bar.removeAttribute('value');
    text('op-bytes', `downloading: ${bytes(data.done)}`);
  }
}

export function onService(type, data) {
  const detail = data.pid ? ` (pid ${data.pid})` : data.reason ? `: ${data.reason}` : data.description ? `: ${data.description}` : '';
  log(`service ${type}${detail}`);
  if (page.op !== null && page.op.kind === 'restart' && !page.op.done) {
    addStep(type, data.ms === undefined ? undefined : `after ${duration(data.ms)}`);
    // A supervisor restart's own end is its return (renderStatus); the old service's stop is not it.
    if ((type === 'ready' && (page.op.target === 'service' || page.op.seen.includes('back'))) || type === 'errored') {
      page.op.done = true;
      badge($('op-state'), type === 'ready' ? 'done' : 'errored');
    }
  }
  // A new start writes the markers `why` reads.
  if (type === 'ready' || type === 'exited' || type === 'errored') void guarded(refreshWhy);
  statusSoon();
}

export function failOp(err) {
  if (err instanceof ApiError && err.status === 401) return page.showLogin();
  if (page.op !== null) page.op.done = true;
  badge($('op-state'), 'refused');
  text('op-error', describe(err));
}

/** A supervisor restart is over once another supervisor start answers. */
export function noteStatus({ supervisor, service }) {
  const op = page.op;
  if (op === null || op.target !== 'supervisor' || op.done || supervisor.startedAt === op.since) return;
  addStep('back', `(pid ${supervisor.pid})`);
  if (service.state === 'ready') {
    op.done = true;
    badge($('op-state'), 'done');
  }
}
