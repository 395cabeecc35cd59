/**
 * The JS/TS rules, over the joined facts of one service: a SIGTERM handler
 * must exist when something serves, must force an exit if the drain stalls,
 * must not keep a clean drain waiting on its fallback timer, and must end the
 * connections that would hold server.close() open.
 */
import { earliest, makeFinding, type Finding } from '../finding.ts';
import type { SourceFile } from '../sources.ts';
import { collectFacts, type JsFileFacts, type SignalSite } from './collect.ts';
import { parseJs } from './parse.ts';
import { scanRegion, type Region } from './region.ts';
import { joinFacts, type JsService } from './service.ts';

function missingSigterm(service: JsService): Finding[] {
  const findings: Finding[] = [];
  const server = earliest(service.servers);
  if (server !== undefined) {
    findings.push(makeFinding('no-sigterm-handler', server.file, server.line,
      `${server.what} serves here, but nothing in the service handles SIGTERM: a stop kills the process mid-request, and as PID 1 in a container SIGTERM is ignored until the runtime's SIGKILL.`));
  }
  const sigint = earliest(service.signals.filter((site) => site.signals.includes('SIGINT')));
  if (sigint !== undefined) {
    findings.push(makeFinding('sigint-without-sigterm', sigint.file, sigint.line,
      'SIGINT is handled here but SIGTERM is not: Ctrl-C drains the service, a stop by systemd or a container runtime does not.'));
  }
  return findings;
}

interface Handled {
  site: SignalSite;
  region: Region;
}

function fallbackFindings(handlers: readonly Handled[]): Finding[] {
  // One handler that forces the exit is enough: others may only log or flush.
  const covered = handlers.some(({ site, region }) => site.managed || !region.resolved || region.exitsAtOnce || region.timers.some((timer) => timer.exits));
  const site = covered ? undefined : earliest(handlers.map((handler) => handler.site));
  if (site === undefined) return [];
  return [makeFinding('no-hard-exit-fallback', site.file, site.line,
    'This SIGTERM handler has no hard-exit fallback: when the drain stalls (a keep-alive socket, a stuck request, a pending promise) the process lingers until the service manager SIGKILLs it.')];
}

function timerFindings({ site, region }: Handled): Finding[] {
  // When the graceful path calls process.exit itself, a pending timer cannot
  // delay anything; only a drain that ends by the event loop emptying waits.
  if (site.managed || region.exitsAtOnce || region.exitsWhenDrained) return [];
  return region.timers
    .filter((timer) => timer.exits && !timer.released)
    .map((timer) => makeFinding('timer-not-unrefd', timer.file, timer.line,
      'This fallback timer is not unref\'d and the graceful path never calls process.exit: even a clean drain waits out the whole delay, then exits through the fallback.'));
}

function closeFindings({ region }: Handled, service: JsService): Finding[] {
  if (region.exitsAtOnce) return [];
  const hasWs = service.servers.some((server) => server.kind === 'ws');
  const close = earliest(region.closes);
  if (close !== undefined && hasWs && !region.endsWsClients) {
    return [makeFinding('close-without-idle', close.file, close.line,
      'The shutdown closes the server but never terminates the WebSocket clients: close() waits for every connection, and keep-alive pings hold them open, so the stop ends in SIGKILL.')];
  }
  const httpClose = earliest(region.closes.filter((fact) => fact.kind === 'http'));
  if (httpClose === undefined || region.endsConnections || service.tracksConnections) return [];
  return [makeFinding('close-without-idle', httpClose.file, httpClose.line,
    'server.close() waits for every open connection to end, and nothing on the shutdown path ends them: idle keep-alive sockets (before Node 19) and long-lived ones (SSE, streams, upgrades) hold it open.')];
}

function closeAllFindings({ region }: Handled): Finding[] {
  const first = earliest(region.closesAllAtOnce);
  if (first === undefined) return [];
  return [makeFinding('close-all-at-once', first.file, first.line,
    'closeAllConnections() runs as soon as the stop starts: it ends idle keep-alive sockets, but also destroys requests still in flight, such as one accepted just before the signal (with socket handoff during an update, that request is lost).')];
}

/** Why `fn` threw, as a finding's message would say it. */
function failure(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Audits the JS/TS files of one service. A file, or a handler's call graph,
 * that makes the analysis throw is reported as `not-analysed` and left out:
 * one odd file must not cost the report of all the others.
 */
export function auditJs(sources: readonly SourceFile[]): Finding[] {
  const findings: Finding[] = [];
  const facts: JsFileFacts[] = [];
  for (const source of sources) {
    try {
      const parsed = parseJs(source.path, source.text);
      if (parsed.ok) facts.push(collectFacts(source.path, parsed.ast));
      else findings.push(makeFinding('parse-failed', source.path, parsed.line, `Could not parse this file: ${parsed.message}`));
    } catch (err) {
      findings.push(makeFinding('not-analysed', source.path, 1, `This file was not analysed: ${failure(err)}`));
    }
  }
  const service = joinFacts(facts);
  const sigterm = service.signals.filter((site) => site.signals.includes('SIGTERM'));
  if (sigterm.length === 0) return [...findings, ...missingSigterm(service)];
  const handlers: Handled[] = [];
  for (const site of sigterm) {
    try {
      handlers.push({ site, region: scanRegion(site, service) });
    } catch (err) {
      // Unresolved: the rules then say nothing of this handler's path.
      handlers.push({ site, region: { ...UNRESOLVED } });
      findings.push(makeFinding('not-analysed', site.file, site.line, `The shutdown path of this SIGTERM handler was not analysed: ${failure(err)}`));
    }
  }
  findings.push(...fallbackFindings(handlers));
  for (const handler of handlers) findings.push(...timerFindings(handler), ...closeFindings(handler, service), ...closeAllFindings(handler));
  return findings;
}

const UNRESOLVED: Region = { resolved: false, exitsAtOnce: false, exitsWhenDrained: false, timers: [], closes: [], endsConnections: false, endsWsClients: false, closesAllAtOnce: [] };
