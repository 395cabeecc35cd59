/**
 * The highest manifest serial accepted, kept in the state dir
 * (`manifest-serial.json`) so that a replayed older manifest is refused
 * across restarts. Only serials of manifests whose signature verified are
 * recorded: an unsigned serial proves nothing, and recording one would let
 * whoever serves the feed raise it past everything the publisher will ever
 * sign.
 *
 * One supervisor owns a state dir (ALREADY_RUNNING otherwise), and within it
 * this object owns the file: every compare-and-write runs in one queue, so
 * a check and an apply listing at once cannot write a lower serial last.
 */
import { OutlastError } from '../../errors.ts';
import type { HostFs } from '../../host/host.ts';
import { isoTime } from '../../iso-time.ts';

/** The record's file name in the state dir. */
export const SERIAL_FILE = 'manifest-serial.json';

/** What was accepted last. */
export interface SerialRecord {
  /** The manifest's URL or the feed folder: a record of another source does not apply. */
  source: string;
  serial: number;
  /** sha256 of the manifest's bytes: the same serial with other content is a replay too. */
  sha256: string;
  /** When, as an ISO time; missing for a record kept in memory only. */
  acceptedAt?: string | undefined;
}

/** What the record needs of the Host's file system. */
export type SerialFs = Pick<HostFs, 'readFile' | 'writeFileAtomic'>;

/** The owner of the serial record. */
export interface ManifestSerials {
  /** Where the record is kept; undefined when it lives in memory only. */
  readonly path: string | undefined;
  /** The record for `source`, if one was accepted from it. */
  last(source: string): Promise<SerialRecord | undefined>;
  /**
   * Accepts a signed manifest of `source` with `serial` and digest `sha256`,
   * recording it when the serial is higher; MANIFEST_REPLAYED when it is
   * lower, or equal with another digest. `where` names the manifest in errors.
   */
  accept(source: string, serial: number, sha256: string, where: string): Promise<void>;
}

function isRecord(value: unknown): value is SerialRecord {
  const r = value as Partial<SerialRecord> | null;
  return typeof r === 'object' && r !== null && typeof r.source === 'string' && Number.isSafeInteger(r.serial) && typeof r.sha256 === 'string' && ['string', 'undefined'].includes(typeof r.acceptedAt);
}

/** "at <time>", or "in this run" for a record kept in memory. */
export function acceptedWhen(record: SerialRecord): string {
  return record.acceptedAt === undefined ? 'in this run' : `at ${record.acceptedAt}`;
}

/** Where the record is kept: a file through the Host, with its clock to stamp acceptances. */
export interface SerialFile {
  fs: SerialFs;
  path: string;
  now: () => number;
}

/**
 * The serial record in `file`, or in memory when there is none (a source
 * used without a state dir: replays are refused until the process ends).
 */
export function createManifestSerials(file?: SerialFile): ManifestSerials {
  let memory: SerialRecord | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  async function read(): Promise<SerialRecord | undefined> {
    if (file === undefined) return memory;
    const { fs, path } = file;
    let text: string;
    try {
      text = await fs.readFile(path);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    // Neither ignored (that would drop the protection) nor guessed at.
    if (!isRecord(parsed)) {
      throw new OutlastError('STATE_DIR_UNUSABLE', `${path} is not a manifest serial record; delete it to accept the feed's next signed manifest afresh`, { details: { path } });
    }
    return parsed;
  }

  async function write(record: Omit<SerialRecord, 'acceptedAt'>): Promise<void> {
    if (file === undefined) {
      memory = record;
      return;
    }
    const stamped: SerialRecord = { ...record, acceptedAt: isoTime(file.now()) };
    await file.fs.writeFileAtomic(file.path, `${JSON.stringify(stamped, null, 2)}\n`, 0o644);
  }

  /** Runs `job` after every earlier one, whatever they ended with. */
  function serialised<T>(job: () => Promise<T>): Promise<T> {
    const run = queue.then(job, job);
    queue = run.catch(() => undefined);
    return run;
  }

  return {
    path: file?.path,
    last: (source) => serialised(async () => {
      const record = await read();
      return record?.source === source ? record : undefined;
    }),
    accept: (source, serial, sha256, where) =>
      serialised(async () => {
        const found = await read();
        const record = found?.source === source ? found : undefined;
        if (record !== undefined && serial < record.serial) {
          throw new OutlastError(
            'MANIFEST_REPLAYED',
            `${where} has serial ${serial}, lower than serial ${record.serial} accepted ${acceptedWhen(record)}: an older manifest is being served (replayed), refusing it`,
            { details: { where, serial, accepted: record.serial, reason: 'older' } },
          );
        }
        if (record !== undefined && serial === record.serial) {
          if (sha256 === record.sha256) return;
          throw new OutlastError(
            'MANIFEST_REPLAYED',
            `${where} has serial ${serial}, as the manifest accepted ${acceptedWhen(record)}, but other content: a changed manifest needs a higher serial`,
            { details: { where, serial, accepted: record.serial, reason: 'serial-reused' } },
          );
        }
        await write({ source, serial, sha256 });
      }),
  };
}
