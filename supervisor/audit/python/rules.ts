/**
 * The Python rules, over the facts of every .py file of one service: a
 * SIGTERM handler must exist when something serves, and a handler must not
 * call shutdown() on the serve_forever() loop it interrupted.
 */
import { earliest, makeFinding, type Finding } from '../finding.ts';
import type { SourceFile } from '../sources.ts';
import { inThreadCall, pythonFacts, type PyFacts, type PyFunction, type PyHandler } from './facts.ts';
import { lineAt, type PyLine } from './source.ts';

function missingSigterm(files: readonly PyFacts[], handlers: readonly PyHandler[]): Finding[] {
  const findings: Finding[] = [];
  const server = earliest(files.flatMap((file) => file.servers));
  if (server !== undefined) {
    findings.push(makeFinding('python-no-sigterm-handler', server.file, server.line,
      `${server.what} serves here, but nothing in the service handles SIGTERM: the default action ends the process at once, cutting requests and skipping finally blocks and atexit hooks; as PID 1 in a container SIGTERM is ignored until the runtime's SIGKILL.`));
  }
  const sigint = earliest([
    ...handlers.filter((handler) => handler.signals.includes('SIGINT')),
    ...files.flatMap((file) => file.interrupts),
  ]);
  if (sigint !== undefined) {
    findings.push(makeFinding('sigint-without-sigterm', sigint.file, sigint.line,
      'Only SIGINT (KeyboardInterrupt) is handled: Ctrl-C stops the service cleanly, a stop by systemd or a container runtime does not.'));
  }
  return findings;
}

/** The lines a handler runs: its lambda, and the bodies of the functions it calls, followed by name. */
function handlerLines(handler: PyHandler, functions: ReadonlyMap<string, PyFunction[]>): Array<{ file: string; line: PyLine }> {
  const region = handler.inline === undefined ? [] : [{ file: handler.file, line: handler.inline }];
  const pending = [...handler.calls];
  const seen = new Set<string>();
  const follow = (line: PyLine): void => {
    // A call inside Thread(...) runs on another thread, off the handler's path.
    for (const call of line.text.matchAll(/\b(\w+)\s*\(/g)) if (call[1] !== undefined && !inThreadCall(line.text, call.index)) pending.push(call[1]);
  };
  region.forEach(({ line }) => follow(line));
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    for (const fn of functions.get(name) ?? []) {
      for (const line of fn.body) {
        region.push({ file: fn.file, line });
        follow(line);
      }
    }
  }
  return region;
}

function deadlocks(handler: PyHandler, functions: ReadonlyMap<string, PyFunction[]>, serving: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  for (const { file, line } of handlerLines(handler, functions)) {
    for (const call of line.text.matchAll(/([\w.]+)\.shutdown\s*\(\s*\)/g)) {
      const receiver = call[1] ?? '';
      const last = receiver.split('.').at(-1) ?? receiver;
      if (inThreadCall(line.text, call.index) || (!serving.has(last) && !/server|httpd|srv/i.test(last))) continue;
      findings.push(makeFinding('python-shutdown-in-signal-handler', file, lineAt(line, call.index),
        `${receiver}.shutdown() runs inside the signal handler, on the main thread that is blocked in serve_forever(): shutdown() waits for serve_forever() to return, which cannot happen until the handler returns, so the stop hangs until SIGKILL.`));
    }
  }
  return findings;
}

/** Audits the Python files of one service. */
export function auditPython(sources: readonly SourceFile[]): Finding[] {
  const files = sources.map((source) => pythonFacts(source.path, source.text));
  // A registration whose signal is a variable counts as SIGTERM when the
  // service names SIGTERM in code somewhere: enough to silence the missing
  // handler, and the deadlock check does not depend on the signal.
  const guess = files.some((file) => file.mentionsSigterm) ? ['SIGTERM'] : [];
  const handlers = files.flatMap((file) => file.handlers).map((handler) => (handler.guessed ? { ...handler, signals: guess } : handler));
  const handlesSigterm = files.some((file) => file.managed) || handlers.some((handler) => handler.signals.includes('SIGTERM'));
  const findings = handlesSigterm ? [] : missingSigterm(files, handlers);
  const serving = new Set(files.flatMap((file) => file.mainThreadServers).map((receiver) => receiver.split('.').at(-1) ?? receiver));
  if (serving.size === 0) return findings;
  const functions = new Map<string, PyFunction[]>();
  for (const fn of files.flatMap((file) => file.functions)) functions.set(fn.name, [...(functions.get(fn.name) ?? []), fn]);
  for (const handler of handlers) findings.push(...deadlocks(handler, functions, serving));
  return findings;
}
