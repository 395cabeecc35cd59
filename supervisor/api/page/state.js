// What the status page knows, in one place: each module reads and writes it here.

/** The page's state. */
export const page = {
  /** The last GET /status answer, and when it came. */
  status: null,
  statusAt: 0,
  /** The version the last check offered. */
  latest: null,
  /** The operation on show: {kind, id, title, seen: [phase], done, target?, since?}. */
  op: null,
  /** The /events stream, and the wait before the next try when it is refused. */
  source: null,
  retryMs: 1000,
  /** Back to the login form (set by app.js). */
  showLogin: () => undefined,
  /** Called with every new status (set by app.js). */
  afterStatus: () => undefined,
};
