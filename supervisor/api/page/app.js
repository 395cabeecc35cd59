// The outlast status page: plain JavaScript, no build step, nothing from
// another origin (the CSP allows none). It reads the control API with the
// session cookie, follows /events live, and reconnects when the stream drops.
'use strict';

const $ = (id) => document.getElementById(id);

const SERVICE_EVENTS = ['spawned', 'ready', 'exited', 'unhealthy', 'backoff', 'errored', 'stopping', 'stopped', 'finished', 'shutdown'];
const FINAL = new Set(['committed', 'rolled-back', 'failed']);

const page = {
  status: null,
  statusAt: 0,
  latest: null,
  /** The operation on show: {kind, id, title, seen: [phase], done}. */
  op: null,
  source: null,
  retryMs: 1000,
  updates: true,
};

/** An error from the API, with its stable code. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// API paths are resolved against the page's own address, so the page also
// works behind a proxy that serves the API under a sub-path.
const url = (path) => path.replace(/^\//, '');

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url(path), init);
  } catch (err) {
    throw new ApiError(0, 'API_UNREACHABLE', `cannot reach the supervisor (${err.message})`);
  }
  const text = await res.text();
  let json = {};
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    json = {};
  }
  if (!res.ok) {
    const error = json.error ?? {};
    throw new ApiError(res.status, error.code ?? `HTTP_${res.status}`, error.message ?? `HTTP ${res.status}`);
  }
  return json;
}

function describe(err) {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String(err && err.message ? err.message : err);
}

/** Runs `work`; a lost session sends the page back to the login form. */
async function guarded(work) {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) showLogin();
    else toast(describe(err), true);
    return undefined;
  }
}

function text(id, value) {
  $(id).textContent = value;
}

function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

function badge(node, value) {
  node.textContent = value;
  node.dataset.state = value;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function clock(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : at.toLocaleTimeString();
}

let toastTimer;
function toast(message, bad = false) {
  const node = $('toast');
  node.textContent = message;
  node.classList.toggle('bad', bad);
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.hidden = true), 6000);
}

function log(line) {
  const list = $('log');
  const item = el('li', '', `${new Date().toLocaleTimeString()}  ${line}`);
  list.prepend(item);
  while (list.children.length > 20) list.lastChild.remove();
}

// The in-page confirmation: resolves true for OK, false for Cancel or Esc.
function confirmAction(message) {
  const dialog = $('confirm');
  text('confirm-text', message);
  return new Promise((resolve) => {
    const done = (answer) => {
      $('confirm-ok').removeEventListener('click', ok);
      $('confirm-cancel').removeEventListener('click', cancel);
      dialog.removeEventListener('cancel', cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const ok = () => done(true);
    const cancel = () => done(false);
    $('confirm-ok').addEventListener('click', ok);
    $('confirm-cancel').addEventListener('click', cancel);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
  });
}

// ---- login ----

function showLogin(note) {
  if (page.source !== null) {
    page.source.close();
    page.source = null;
  }
  setLive(false);
  $('app').hidden = true;
  $('login').hidden = false;
  if (note) text('login-note', note);
  badge($('state'), 'logged out');
  $('token').focus();
}

async function login(event) {
  event.preventDefault();
  text('login-error', '');
  try {
    await api('POST', '/login', { token: $('token').value });
    $('token').value = '';
    await start();
  } catch (err) {
    text('login-error', describe(err));
  }
}

async function logout() {
  await guarded(() => api('POST', '/logout'));
  showLogin('Logged out.');
}

// ---- reading ----

async function refreshStatus() {
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
  // A supervisor restart is over once another supervisor start answers.
  const op = page.op;
  if (op !== null && op.target === 'supervisor' && !op.done && supervisor.startedAt !== op.since) {
    addStep('back', `(pid ${supervisor.pid})`);
    if (service.state === 'ready') {
      op.done = true;
      badge($('op-state'), 'done');
    }
  }
}

function tickUptime() {
  if (page.status === null) return;
  const { uptimeMs } = page.status.service;
  text('svc-uptime', uptimeMs === null ? '–' : duration(uptimeMs + (Date.now() - page.statusAt)));
}

async function refreshHistory() {
  try {
    const { operations } = await api('GET', '/updates?limit=10');
    page.updates = true;
    renderHistory(operations);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'UPDATES_NOT_CONFIGURED') {
      page.updates = false;
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
  text('plat-reason', report.strategy.reason + (report.strategy.refused ? ` (refused: ${report.strategy.refused})` : ''));
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

async function refreshWhy() {
  const verdict = await api('GET', '/why');
  badge($('why-code'), verdict.code);
  text('why-summary', verdict.summary);
}

async function refreshAll() {
  await guarded(() => Promise.all([refreshStatus(), refreshHistory(), refreshDoctor(), refreshWhy()]));
}

// Service events come in bursts (stopping, spawned, ready): one re-read for each burst.
let statusTimer;
function statusSoon() {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => void guarded(refreshStatus), 150);
}

// ---- the operation on show ----

function showOp(op) {
  page.op = { seen: [], done: false, ...op };
  $('op').hidden = false;
  text('op-title', op.title);
  badge($('op-state'), op.kind === 'restart' ? 'requested' : 'starting');
  $('op-phases').replaceChildren();
  $('op-progress').hidden = true;
  text('op-bytes', '');
  text('op-error', '');
}

function addStep(name, detail, state = 'done') {
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
async function readOperation() {
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

function onUpdate(data) {
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

function onProgress(data) {
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

function onService(type, data) {
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

// ---- live events ----

function setLive(on) {
  $('live').classList.toggle('on', on);
  $('live').title = on ? 'live updates: on' : 'live updates: reconnecting';
}

function connectEvents() {
  if (page.source !== null) return;
  const source = new EventSource(url('/events'));
  page.source = source;
  source.onopen = () => {
    setLive(true);
    page.retryMs = 1000;
    // Whatever happened while the stream was down is read again.
    void refreshAll();
    if (page.op !== null && page.op.id) void readOperation();
  };
  source.onerror = () => {
    setLive(false);
    // A refused stream (401, 503 while the supervisor restarts) is not retried by the browser.
    if (source.readyState !== EventSource.CLOSED) return;
    source.close();
    if (page.source === source) page.source = null;
    setTimeout(reconnect, page.retryMs);
    page.retryMs = Math.min(page.retryMs * 2, 30_000);
  };
  for (const type of SERVICE_EVENTS) source.addEventListener(`service_${type}`, (event) => onService(type, JSON.parse(event.data)));
  source.addEventListener('update', (event) => onUpdate(JSON.parse(event.data)));
  source.addEventListener('update_progress', (event) => onProgress(JSON.parse(event.data)));
}

async function reconnect() {
  if (page.source !== null || !$('login').hidden) return;
  try {
    await api('GET', '/health');
    connectEvents();
  } catch {
    setTimeout(reconnect, page.retryMs);
    page.retryMs = Math.min(page.retryMs * 2, 30_000);
  }
}

// ---- actions ----

async function check() {
  const button = $('check');
  button.disabled = true;
  text('check-result', 'Checking…');
  try {
    const result = await api('GET', '/updates/check?force=1');
    page.latest = result.available ? result.latest : null;
    text('check-result', result.available ? `${result.latest} is available (running ${result.current ?? 'nothing'}).` : `Up to date (${result.current ?? 'nothing'}; latest ${result.latest ?? 'none'}).`);
    $('apply-latest').disabled = !result.available;
    $('apply-latest').textContent = result.available ? `Apply ${result.latest}` : 'Apply latest';
  } catch (err) {
    text('check-result', describe(err));
    if (err instanceof ApiError && err.status === 401) showLogin();
  } finally {
    button.disabled = false;
  }
}

async function applyVersion(version, force) {
  const what = version ? version : 'the latest version';
  if (!(await confirmAction(`Apply ${what}${force ? ' (forced)' : ''}? The service restarts on the new version; it rolls back if the new one fails its health gate.`))) return;
  showOp({ kind: 'update', id: null, title: `Update to ${what}` });
  try {
    const body = { ...(version ? { version } : {}), ...(force ? { force: true } : {}) };
    const answer = await api('POST', '/updates/apply', body);
    if (answer.upToDate) {
      badge($('op-state'), 'up to date');
      page.op.done = true;
      return toast(`Already at ${answer.version}.`);
    }
    if (page.op.id === null) page.op.id = answer.id;
    text('op-title', `Update ${answer.from ?? 'nothing'} → ${answer.to}`);
    void readOperation();
  } catch (err) {
    failOp(err);
  }
}

async function rollback() {
  if (!(await confirmAction('Roll back to the previous version? The service restarts on it.'))) return;
  showOp({ kind: 'update', id: null, title: 'Rollback' });
  try {
    const answer = await api('POST', '/updates/rollback');
    if (page.op.id === null) page.op.id = answer.id;
    text('op-title', `Rollback ${answer.from ?? 'nothing'} → ${answer.to}`);
    void readOperation();
  } catch (err) {
    failOp(err);
  }
}

async function restart(target) {
  const message =
    target === 'supervisor'
      ? 'Restart the supervisor? The service restarts with it, and this page reconnects when the supervisor is back.'
      : 'Restart the service? It is stopped gracefully and started again.';
  if (!(await confirmAction(message))) return;
  showOp({ kind: 'restart', id: null, target, since: page.status?.supervisor.startedAt, title: target === 'supervisor' ? 'Restart supervisor' : 'Restart service' });
  try {
    const answer = await api('POST', '/restart', { target });
    addStep('accepted', answer.strategy ? `(strategy ${answer.strategy})` : undefined);
    log(`restart of the ${target} accepted`);
  } catch (err) {
    failOp(err);
  }
}

function failOp(err) {
  if (err instanceof ApiError && err.status === 401) return showLogin();
  if (page.op !== null) page.op.done = true;
  badge($('op-state'), 'refused');
  text('op-error', describe(err));
}

// ---- start ----

async function start() {
  try {
    await refreshStatus();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin();
    toast(describe(err), true);
  }
  $('login').hidden = true;
  $('app').hidden = false;
  connectEvents();
}

function wire() {
  $('login-form').addEventListener('submit', (event) => void login(event));
  $('logout').addEventListener('click', () => void logout());
  $('check').addEventListener('click', () => void check());
  $('apply-latest').addEventListener('click', () => void applyVersion(page.latest, false));
  $('apply-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void applyVersion($('apply-version').value.trim(), $('apply-force').checked);
  });
  $('rollback').addEventListener('click', () => void rollback());
  $('restart-service').addEventListener('click', () => void restart('service'));
  $('restart-supervisor').addEventListener('click', () => void restart('supervisor'));
  setInterval(tickUptime, 1000);
}

wire();
const query = new URLSearchParams(location.search);
if (query.get('login') === 'expired') {
  // The code was used up by this visit: keep it out of the address bar and history.
  history.replaceState(null, '', location.pathname);
  text('login-note', 'That login link has expired or was used already. Enter the token, or get a new link with: outlast status --url');
}
void start();
