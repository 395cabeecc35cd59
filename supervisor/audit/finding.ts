/**
 * What `outlast audit` reports. Every rule has a stable kebab-case id, and its
 * severity and fix live in the one catalog below, so two findings of one rule
 * never disagree on how bad they are or what to do.
 */

/** How bad a finding is: `high` means a stop kills the service instead of draining it. */
export type Severity = 'high' | 'medium' | 'low';

/** The fields every rule has in {@link RULES}. */
export interface RuleSpec {
  severity: Severity;
  fix: string;
}

/** Every rule with its severity and the fix shown to the user. */
export const RULES = {
  'no-sigterm-handler': {
    severity: 'high',
    fix: "Register process.on('SIGTERM', shutdown): stop accepting, close the server, close idle connections, and exit from an unref'd fallback timer.",
  },
  'close-without-idle': {
    severity: 'medium',
    fix: 'After server.close(), call server.closeIdleConnections() and, on a grace timer, closeAllConnections() (or destroy tracked sockets); terminate every client of a WebSocketServer (wss.clients.forEach((c) => c.terminate())).',
  },
  'no-hard-exit-fallback': {
    severity: 'medium',
    fix: 'In the SIGTERM handler, arm setTimeout(() => process.exit(1), budget).unref() with a budget below the stop timeout of systemd or the container runtime.',
  },
  'timer-not-unrefd': {
    severity: 'medium',
    fix: 'Call .unref() on the fallback timer (or clearTimeout it once the drain is done), so a clean drain exits at once with code 0.',
  },
  'close-all-at-once': {
    severity: 'low',
    fix: 'Call server.closeIdleConnections() when the stop starts and server.closeAllConnections() only after a grace period (an unref\'d timer), as outlast/shutdown does: in-flight requests then get their answer.',
  },
  'sigint-without-sigterm': {
    severity: 'low',
    fix: 'Handle SIGTERM with the same handler as SIGINT: systemd, Docker and Kubernetes stop a service with SIGTERM, never SIGINT.',
  },
  'python-no-sigterm-handler': {
    severity: 'high',
    fix: 'Register signal.signal(signal.SIGTERM, handler) (or loop.add_signal_handler for asyncio) and stop the server from it; for serve_forever(), call shutdown() from another thread.',
  },
  'python-shutdown-in-signal-handler': {
    severity: 'high',
    fix: 'Call shutdown() from another thread: threading.Thread(target=server.shutdown, daemon=True).start().',
  },
  'go-no-sigterm-handler': {
    severity: 'high',
    fix: 'Use signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM) and call srv.Shutdown with a timeout context when it is done.',
  },
  'not-analysed': {
    severity: 'low',
    fix: 'Audit this file on its own (`outlast audit <file>`) or report the file to outlast: its findings, and those of handlers that call into it, may be missing.',
  },
  'parse-failed': {
    severity: 'low',
    fix: 'Check that the file is valid JavaScript or TypeScript; findings of this file may be missing until it parses.',
  },
} as const satisfies Record<string, RuleSpec>;

/** A stable rule id. */
export type RuleId = keyof typeof RULES;

/** One problem at one place in a service's sources. */
export interface Finding {
  file: string;
  /** 1-based. */
  line: number;
  severity: Severity;
  rule: RuleId;
  message: string;
  fix: string;
}

/** A finding of `rule`, with the severity and fix from the catalog. */
export function makeFinding(rule: RuleId, file: string, line: number, message: string): Finding {
  const spec: RuleSpec = RULES[rule];
  return { file, line, severity: spec.severity, rule, message, fix: spec.fix };
}

/** Sorted by file, line and rule; one finding per rule and place. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const unique = new Map<string, Finding>();
  for (const finding of findings) {
    const key = `${finding.file}\0${finding.line}\0${finding.rule}`;
    if (!unique.has(key)) unique.set(key, finding);
  }
  return [...unique.values()].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule),
  );
}

/** The earliest of `items` in source order: by file, then line. */
export function earliest<T extends { file: string; line: number }>(items: readonly T[]): T | undefined {
  return [...items].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)[0];
}
