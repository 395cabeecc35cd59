// The page's cards, each read from its route: the service (/status), the
// last updates (/updates), the platform (/doctor) and the last death (/why).
import { ApiError, api, guarded } from './api.js';
import { $, badge, clock, duration, el, text } from './dom.js';
import { page } from './state.js';

export async function refreshStatus() {
  const status = await api('GET', '/status');
  page.status = status;
  page.statusAt = Date.now();
  renderStatus();
}

function renderStatus() {
  const { supervisor, service } = page.status;
  text('name', supervisor.name);
  document.title = `${supervisor.name} · outlast`;
  badge($('state'), service.state);
  badge($('svc-state'), service.state);
  text('svc-version', service.version ?? '–');
  text('svc-pid', service.pid === null ? '–' : String(service.pid));
  text('svc-restarts', String(service.restarts));
  text('svc-exit', service.lastExit === null ? '–' : `${service.lastExit.description} at ${clock(service.lastExit.at)}`);
  text('sup', `pid ${supervisor.pid}, outlast ${supervisor.version}, since ${clock(supervisor.startedAt)}`);
  text('svc-reason', service.reason ?? '');
  tickUptime();
  page.afterStatus(page.status);
}

export function tickUptime() {
  if (page.status === null) return;
  const { uptimeMs } = page.status.service;
  text('svc-uptime', uptimeMs === null ? '–' : duration(uptimeMs + (Date.now() - page.statusAt)));
}

export async function refreshHistory() {
  try {
    const { operations } = await api('GET', '/updates?limit=10');
    renderHistory(operations);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'UPDATES_NOT_CONFIGURED') {
      $('updates').hidden = true;
      $('history').hidden = true;
      return;
    }
    throw err;
  }
}

function phaseList(phases) {
  return phases.map((p) => `${p.name} ${duration(p.ms)}`).join(' · ');
}

function renderHistory(operations) {
  const list = $('history-list');
  list.replaceChildren();
  if (operations.length === 0) list.append(el('li', 'muted', 'none yet'));
  for (const op of operations) {
    const item = el('li');
    item.dataset.id = op.id;
    item.dataset.state = op.state;
    const head = el('div', 'head');
    head.append(el('strong', '', `${op.kind === 'rollback' ? 'Rollback' : 'Update'} ${op.from ?? 'nothing'} → ${op.to}`), ' ');
    const state = el('span', 'badge');
    badge(state, op.state);
    head.append(state);
    const total = op.phases.reduce((sum, p) => sum + p.ms, 0);
    item.append(head, el('div', 'muted', `${clock(op.startedAt)} · ${duration(total)}`), el('div', 'phases-line', phaseList(op.phases)));
    if (op.error) item.append(el('div', 'error', `${op.error.code}: ${op.error.message}`));
    list.append(item);
  }
}

async function refreshDoctor() {
  const report = await api('GET', '/doctor');
  text('plat-kind', report.platform.kind);
  text('plat-strategy', report.strategy.name);
  // Only re-exec keeps the service running across a self-update (the new supervisor adopts the child).
  const restartsService = report.warnings.some((w) => w.code === 'SELF_UPDATE_RESTARTS_SERVICE');
  text('plat-reason', report.strategy.reason + (report.strategy.refused ? ` (refused: ${report.strategy.refused})` : '') + (restartsService ? ' · a self-update restarts the service too' : ''));
  const list = $('plat-warnings');
  list.replaceChildren();
  if (report.warnings.length === 0) list.append(el('li', 'ok', 'no warnings'));
  for (const warning of report.warnings) {
    const item = el('li');
    item.dataset.code = warning.code;
    item.append(el('strong', '', warning.code), el('div', '', warning.message), el('div', 'muted', `fix: ${warning.fix}`));
    list.append(item);
  }
}

export async function refreshWhy() {
  const verdict = await api('GET', '/why');
  badge($('why-code'), verdict.code);
  text('why-summary', verdict.summary);
}

export async function refreshAll() {
  await guarded(() => Promise.all([refreshStatus(), refreshHistory(), refreshDoctor(), refreshWhy()]));
}

// Service events come in bursts (stopping, spawned, ready): one re-read for each burst.
let statusTimer;
export function statusSoon() {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => void guarded(refreshStatus), 150);
}
