/**
 * The outcome reports of `updates.report`: one JSON body per ended update
 * operation, POSTed to the receiver and signed with HMAC-SHA256 over the
 * timestamp and the body:
 *
 *     X-Outlast-Timestamp: <unix seconds>
 *     X-Outlast-Signature: sha256=<hex HMAC(secret, timestamp + "." + body)>
 *
 * The receiver recomputes the HMAC and refuses a timestamp far from its
 * clock, so a captured report cannot be replayed later; the operation `id`
 * in the body lets it drop a duplicate (a report is sent again when its
 * answer is lost).
 *
 * Reports wait in a bounded queue on disk (`<stateDir>/reports.json`,
 * oldest dropped first, with a log line), so a device offline for a day
 * still reports once it is back, after a restart too. One loop owns the
 * queue and sends oldest first, retrying with backoff on timers that never
 * keep the process alive. Nothing here waits on or slows an update: a
 * report is queued after its operation has ended. Every failed attempt is
 * journaled in the queue file next to its report (attempts, the last
 * problem and when), so `/status` and `outlast status` show a receiver that
 * has not been taking reports, across restarts too; the first failure of a
 * run of them is also a log line.
 */
import { createHmac } from 'node:crypto';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { ReportConfig } from './config.ts';
import type { Operation } from './journal.ts';
import type { Updater } from './updater.ts';
import { isoTime } from '../iso-time.ts';

/** One report, as the receiver gets it. */
export interface UpdateReport {
  /** The operation id, unique per device: a duplicate is the same report again. */
  id: string;
  kind: Operation['kind'];
  device: string;
  name: string;
  from: string | null;
  to: string;
  /** committed, rolled-back or failed. */
  result: Operation['state'];
  errorCode: string | null;
  phases: Array<{ name: string; ms: number }>;
  /** When the operation ended. */
  at: string;
}

/** The failed attempts at one queued report, as journaled in the queue file. */
export interface Delivery {
  attempts: number;
  lastError: string;
  lastAttemptAt: string;
}

/** The sender's state, for `/status`. */
export interface ReportsState {
  /** Reports waiting for the receiver to take them. */
  queued: number;
  /** The oldest queued report (the one being sent) and its failed attempts, if any. */
  oldest: ({ id: string } & Partial<Delivery>) | null;
  /** When the receiver last took a report, in this run. */
  lastSentAt: string | null;
}

/** What the sender needs. */
export interface ReportSenderDeps {
  host: Pick<Host, 'fs' | 'net' | 'clock' | 'random'>;
  config: ReportConfig;
  secret: string;
  name: string;
  queuePath: string;
  updater: Pick<Updater, 'operation' | 'deviceId'>;
  logger: Logger;
}

/** The signature headers of `body` sent at `unixSeconds`. */
export function signReport(secret: string, body: string, unixSeconds: number): Record<string, string> {
  const timestamp = String(unixSeconds);
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'x-outlast-timestamp': timestamp, 'x-outlast-signature': `sha256=${mac}` };
}

const REQUEST_TIMEOUT_MS = 10_000;
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 10 * 60_000;

/** Queues, persists and sends the reports of one state dir. */
export class ReportSender {
  readonly #deps: ReportSenderDeps;
  readonly #abort = new AbortController();
  #queue: UpdateReport[] = [];
  /** Failed attempts by report id; kept only for reports still queued. */
  #delivery = new Map<string, Delivery>();
  #lastSentAt: string | null = null;
  #loaded: Promise<void> | undefined;
  #saving: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(deps: ReportSenderDeps) {
    this.#deps = deps;
  }

  /** Loads what a previous run left queued and starts sending. */
  start(): void {
    this.#loaded ??= this.#load();
    this.#loop ??= this.#loaded.then(() => this.#run());
  }

  /** Stops sending; what is queued stays on disk for the next start. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#saving;
  }

  /** What is queued and how sending it goes. */
  state(): ReportsState {
    const oldest = this.#queue[0];
    return {
      queued: this.#queue.length,
      oldest: oldest === undefined ? null : { id: oldest.id, ...this.#delivery.get(oldest.id) },
      lastSentAt: this.#lastSentAt,
    };
  }

  /** Resolves once the loop has ended (after stop), for tests. */
  get stopped(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Queues the report of operation `id` (which has ended); never rejects. */
  async report(id: string): Promise<void> {
    const { updater, logger, config, name } = this.#deps;
    try {
      const [op, device] = await Promise.all([updater.operation(id), updater.deviceId()]);
      await this.#loaded;
      this.#queue.push({
        id: op.id,
        kind: op.kind,
        device,
        name,
        from: op.from,
        to: op.to,
        result: op.state,
        errorCode: op.error?.code ?? null,
        phases: op.phases.map((p) => ({ name: p.name, ms: p.ms })),
        at: op.endedAt ?? isoTime(this.#deps.host.clock.now()),
      });
      const over = this.#queue.length - config.maxQueued;
      if (over > 0) {
        const dropped = this.#queue.splice(0, over);
        logger.warn({ dropped: dropped.map((r) => r.id), maxQueued: config.maxQueued }, 'update report: the queue is full; the oldest reports were dropped unsent');
      }
      await this.#save();
      this.#wake?.();
    } catch (err) {
      logger.warn({ err, id }, 'update report: cannot queue the report');
    }
  }

  async #load(): Promise<void> {
    const { host, queuePath, logger } = this.#deps;
    try {
      const parsed = JSON.parse(await host.fs.readFile(queuePath)) as { reports?: unknown; delivery?: unknown };
      if (Array.isArray(parsed.reports)) this.#queue = parsed.reports as UpdateReport[];
      // A queue from before delivery was journaled has no `delivery`.
      if (typeof parsed.delivery === 'object' && parsed.delivery !== null) this.#delivery = new Map(Object.entries(parsed.delivery as Record<string, Delivery>));
    } catch (err) {
      // Missing is empty; a torn file cannot happen (written atomically), a hand-edited one is dropped.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err, path: queuePath }, 'update report: the queue file is unreadable; starting empty');
    }
  }

  /** Writes the queue (writes are chained: the last one holds the newest queue). */
  #save(): Promise<void> {
    const { host, queuePath, logger } = this.#deps;
    const queued = new Set(this.#queue.map((r) => r.id));
    for (const id of this.#delivery.keys()) if (!queued.has(id)) this.#delivery.delete(id);
    const text = this.#queue.length === 0 ? undefined : `${JSON.stringify({ reports: this.#queue, delivery: Object.fromEntries(this.#delivery) })}\n`;
    // An empty queue is no file: the next start then has no reason to load the sender.
    this.#saving = this.#saving
      .then(() => (text === undefined ? host.fs.rm(queuePath) : host.fs.writeFileAtomic(queuePath, text, 0o600)))
      .catch((err: unknown) => logger.warn({ err, path: queuePath }, 'update report: cannot write the queue'));
    return this.#saving;
  }

  async #run(): Promise<void> {
    const { signal } = this.#abort;
    let failures = 0;
    while (!signal.aborted) {
      const next = this.#queue[0];
      if (next === undefined) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      const problem = await this.#send(next, failures);
      if (problem === undefined) {
        failures = 0;
        this.#lastSentAt = isoTime(this.#deps.host.clock.now());
        // By identity: report() may have dropped it from a full queue meanwhile.
        this.#queue = this.#queue.filter((r) => r !== next);
        await this.#save();
        continue;
      }
      failures += 1;
      const before = this.#delivery.get(next.id);
      this.#delivery.set(next.id, { attempts: (before?.attempts ?? 0) + 1, lastError: problem, lastAttemptAt: isoTime(this.#deps.host.clock.now()) });
      await this.#save();
      const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1)) * (0.5 + this.#deps.host.random() / 2);
      try {
        await this.#deps.host.clock.sleep(wait, signal, { ref: false });
      } catch {
        return;
      }
    }
  }

  /** One POST; undefined when the receiver accepted it (2xx), else the problem. Logs the first failure of a run of them, and each at debug. */
  async #send(report: UpdateReport, failures: number): Promise<string | undefined> {
    const { host, config, secret, logger } = this.#deps;
    const body = JSON.stringify(report);
    const headers = { 'content-type': 'application/json', ...signReport(secret, body, Math.floor(host.clock.now() / 1000)) };
    let problem: string;
    try {
      const answer = await host.net.httpRequest({ method: 'POST', url: config.url, headers, body, timeoutMs: REQUEST_TIMEOUT_MS });
      if (answer.status >= 200 && answer.status < 300) {
        logger.info({ id: report.id, result: report.result, url: config.url }, 'update report sent');
        return undefined;
      }
      problem = `HTTP ${answer.status}`;
    } catch (err) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a DNS miss) is its cause.
      const { message, cause } = err as Error;
      problem = cause instanceof Error ? `${message}: ${cause.message}` : message;
    }
    const fields = { id: report.id, url: config.url, problem, queued: this.#queue.length, attempt: failures + 1 };
    if (failures === 0) logger.warn(fields, 'update report: the receiver did not take it; retrying with backoff');
    else logger.debug(fields, 'update report: retry failed');
    return problem;
  }
}
