/**
 * The ready protocol between a service and its supervisor, after systemd's
 * sd_notify: the supervisor names a unix STREAM socket in the service's env
 * (OUTLAST_NOTIFY_SOCKET), and the service connects and writes
 * newline-terminated `KEY=VALUE` lines:
 *
 *   MAINPID=<pid>    who is talking (sent first, so the lines after it carry it)
 *   READY=1          the service is ready to serve
 *   STATUS=<text>    a one-line status for people (`outlast status`, logs)
 *
 * Unknown keys are ignored, so either side may grow the protocol. This module
 * is pure: the socket ends live in ready-socket.ts (supervisor) and
 * shutdown/notify-client.ts (service).
 */

/** The env variable that names the socket. */
export const NOTIFY_SOCKET_ENV = 'OUTLAST_NOTIFY_SOCKET';

/**
 * The longest line the supervisor reads. A client that sends more without a
 * newline is cut off, so a confused or hostile peer cannot grow our memory.
 */
export const MAX_NOTIFY_LINE = 4096;

/** What a service told its supervisor, as the supervisor receives it. */
export interface ReadyMessage {
  /** True for `READY=1`. */
  ready?: boolean;
  /** The text of `STATUS=`. */
  status?: string;
  /** The sender's pid, when it sent `MAINPID=` earlier on the same connection. */
  pid?: number;
}

/** The lines for one notification; MAINPID comes first so the receiver can attribute the rest. */
export function formatNotify(message: ReadyMessage): string {
  const lines: string[] = [];
  if (message.pid !== undefined) lines.push(`MAINPID=${message.pid}`);
  if (message.ready === true) lines.push('READY=1');
  // One line per field: a newline inside the status would start a new field.
  if (message.status !== undefined) lines.push(`STATUS=${message.status.replace(/[\r\n]+/g, ' ')}`);
  return lines.map((line) => `${line}\n`).join('');
}

/** What one line says, or undefined for a line to ignore (unknown key, bad value). */
export function parseNotifyLine(line: string): ReadyMessage | undefined {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const eq = text.indexOf('=');
  if (eq <= 0) return undefined;
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (key === 'READY') return value === '1' ? { ready: true } : undefined;
  if (key === 'STATUS') return { status: value };
  if (key === 'MAINPID') return /^[1-9]\d{0,9}$/.test(value) ? { pid: Number(value) } : undefined;
  return undefined;
}
