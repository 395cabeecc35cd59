/**
 * `updates.report`, the part loaded at start: the secret is read (a missing
 * or empty file is a config error, said before the service starts), and
 * the bus is watched for the end of each update operation. The sender
 * (report-sender.ts: the queue, the signing, the HTTP client) is imported
 * only when there is something to send: the first report, or reports a
 * previous run left queued. An idle supervisor never loads it.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { Teardown } from '../teardown.ts';
import type { ReportConfig } from './config.ts';
import type { ReportSender, ReportsState } from './report-sender.ts';
import type { Updater } from './updater.ts';

/** The queue of reports not yet accepted by the receiver. */
export function reportQueuePath(stateDir: string): string {
  return join(stateDir, 'reports.json');
}

/** What the reports need. */
export interface ReportParts {
  name: string;
  stateDir: string;
  updater: Pick<Updater, 'operation' | 'deviceId'> | undefined;
  events: EventBus;
  teardown: Teardown;
  logger: Logger;
}

/** The secret in `path`, trimmed; CONFIG_INVALID naming the key when the file is missing or empty. */
export async function readReportSecret(fs: Pick<Host['fs'], 'readFile'>, path: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(path);
  } catch (err) {
    throw new OutlastError('CONFIG_INVALID', `"updates.report.secretFile": cannot read ${path}: ${(err as Error).message}`, { cause: err, details: { key: 'updates.report.secretFile', path } });
  }
  const secret = text.trim();
  if (secret === '') throw new OutlastError('CONFIG_INVALID', `"updates.report.secretFile": ${path} is empty; put the receiver's shared secret in it`, { details: { key: 'updates.report.secretFile', path } });
  return secret;
}

/** The reports' state for `/status`. */
export interface ReportsView {
  state(): ReportsState;
}

/**
 * With `updates.report`, reports every ended update operation. Subscribe
 * before recovery: a self-update handed over to this image ends here.
 */
export async function startReports(host: Host, config: ReportConfig | undefined, parts: ReportParts): Promise<ReportsView | undefined> {
  const { updater, events, teardown, logger } = parts;
  if (config === undefined || updater === undefined) return undefined;
  let loaded: ReportSender | undefined;
  const secret = await readReportSecret(host.fs, config.secretFile);
  let sender: Promise<ReportSender> | undefined;
  const load = (): Promise<ReportSender> =>
    (sender ??= import('./report-sender.ts').then(({ ReportSender }) => {
      const started = new ReportSender({ host, config, secret, name: parts.name, queuePath: reportQueuePath(parts.stateDir), updater, logger });
      teardown.add('always', () => started.stop());
      started.start();
      loaded = started;
      return started;
    }));
  const off = events.subscribe((event) => {
    if (event.type !== 'update' || event.data.phase !== 'done') return;
    const { id } = event.data;
    load().then(
      (s) => s.report(id),
      (err: unknown) => logger.error({ err, id }, 'update report: cannot load the sender'),
    );
  });
  teardown.add('always', off);
  // Reports a previous run could not deliver (a device offline for a day) go out now.
  if (await host.fs.exists(reportQueuePath(parts.stateDir))) void load().catch((err: unknown) => logger.error({ err }, 'update report: cannot load the sender'));
  // Until the sender loads there is nothing queued: a queue left on disk loads it at once.
  return { state: () => loaded?.state() ?? { queued: 0, oldest: null, lastSentAt: null } };
}
