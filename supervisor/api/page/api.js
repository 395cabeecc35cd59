// The control API as the page calls it: with the session cookie, and every
// error as an ApiError with its stable code.
import { toast } from './dom.js';
import { page } from './state.js';

/** An error from the API, with its stable code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// API paths are resolved against the page's own address, so the page also
// works behind a proxy that serves the API under a sub-path.
export const url = (path) => path.replace(/^\//, '');

export async function api(method, path, body) {
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

export function describe(err) {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String(err && err.message ? err.message : err);
}

/** Runs `work`; a lost session sends the page back to the login form. */
export async function guarded(work) {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) page.showLogin();
    else toast(describe(err), true);
    return undefined;
  }
}
