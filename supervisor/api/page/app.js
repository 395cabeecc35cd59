// The outlast status page: plain JavaScript modules, no build step, nothing
// from another origin (the CSP allows none). It reads the control API with
// the session cookie, follows /events live, and reconnects when the stream
// drops. This module logs in and out, follows the events, and wires the buttons.
import { ApiError, api, describe, guarded, url } from './api.js';
import { $, badge, confirmAction, log, text, toast } from './dom.js';
import { addStep, failOp, noteStatus, onProgress, onService, onUpdate, readOperation, showOp } from './operation.js';
import { refreshAll, refreshStatus, tickUptime } from './panels.js';
import { page } from './state.js';

const SERVICE_EVENTS = ['spawned', 'ready', 'exited', 'unhealthy', 'backoff', 'errored', 'stopping', 'stopped', 'finished', 'shutdown'];

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

page.showLogin = showLogin;
page.afterStatus = noteStatus;
wire();
const query = new URLSearchParams(location.search);
if (query.get('login') === 'expired') {
  // The code was used up by this visit: keep it out of the address bar and history.
  history.replaceState(null, '', location.pathname);
  text('login-note', 'That login link has expired or was used already. Enter the token, or get a new link with: outlast status --url');
}
void start();
