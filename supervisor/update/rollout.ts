/**
 * Staged rollout: a manifest version may carry
 * `"rollout": {"percent": 10, "salt": "2026-12"}`, and then only the devices
 * whose bucket is below the percent take it by themselves. A device's
 * bucket is
 *
 *     bucket = uint32_be(sha256(salt + ":" + deviceId)[0..4]) mod 100
 *
 * and it is in the rollout when `bucket < percent`. The bucket depends only
 * on the salt and the id, so raising the percent only ever adds devices, and
 * an operator can compute who is in from the device ids alone. A new salt
 * draws a new sample of the fleet.
 *
 * The device id is generated once into `<stateDir>/device-id` (0600), or set
 * with `updates.deviceId`.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import { nodeCrypto } from '../lazy-crypto.ts';
import type { HostFs } from '../host/host.ts';

/** A version's rollout, as the manifest carries it (other keys are kept and ignored, as everywhere in a manifest). */
export interface Rollout {
  percent: number;
  salt: string;
  [key: string]: unknown;
}

/** One thing wrong with a rollout: the key (none: the rollout itself) and what. */
export interface RolloutProblem {
  key: 'percent' | 'salt' | undefined;
  message: string;
}

/**
 * What is wrong with `raw` as a rollout ([] when it is one). Checked by
 * hand, not by a schema library: the update pipeline loads on first use
 * and stays, and the supervisor should not keep a validator for two fields.
 */
export function rolloutProblems(raw: unknown): RolloutProblem[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [{ key: undefined, message: 'must be an object {"percent", "salt"}' }];
  const { percent, salt } = raw as Record<string, unknown>;
  const problems: RolloutProblem[] = [];
  if (percent === undefined) problems.push({ key: 'percent', message: 'is required' });
  else if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100) problems.push({ key: 'percent', message: 'must be an integer from 0 to 100' });
  if (salt === undefined) problems.push({ key: 'salt', message: 'is required' });
  else if (typeof salt !== 'string' || salt === '') problems.push({ key: 'salt', message: 'must be a non-empty string' });
  return problems;
}

/** Where one device stands in one version's rollout (what `outlast check --json` shows). */
export interface RolloutVerdict {
  version: string;
  percent: number;
  salt: string;
  device: string;
  /** The device's bucket for this salt, 0..99. */
  bucket: number;
  /** bucket < percent. */
  included: boolean;
}

/** The device's bucket for `salt`, 0..99 (the formula in the header). */
export function rolloutBucket(salt: string, deviceId: string): number {
  return nodeCrypto().createHash('sha256').update(`${salt}:${deviceId}`).digest().readUInt32BE(0) % 100;
}

/** Whether, and why, `deviceId` is in `rollout` of `version`. */
export function rolloutVerdict(version: string, rollout: Rollout, deviceId: string): RolloutVerdict {
  const bucket = rolloutBucket(rollout.salt, deviceId);
  return { version, percent: rollout.percent, salt: rollout.salt, device: deviceId, bucket, included: bucket < rollout.percent };
}

/** A device id as config or the file holds it: printable, no spaces, bounded. */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** The device id file in a state dir. */
export function deviceIdPath(stateDir: string): string {
  return join(stateDir, 'device-id');
}

/**
 * This device's id: `configured` when set, else the one in the state dir,
 * generated there (0600, atomically) the first time. Asked once and kept.
 */
export class DeviceIdentity {
  readonly #fs: Pick<HostFs, 'readFile' | 'writeFileAtomic'>;
  readonly #path: string;
  readonly #configured: string | undefined;
  readonly #newId: () => string;
  #id: Promise<string> | undefined;

  constructor(fs: Pick<HostFs, 'readFile' | 'writeFileAtomic'>, stateDir: string, configured: string | undefined, newId: () => string) {
    this.#fs = fs;
    this.#path = deviceIdPath(stateDir);
    this.#configured = configured;
    this.#newId = newId;
  }

  /** The id (the first call may write the file). */
  id(): Promise<string> {
    if (this.#configured !== undefined) return Promise.resolve(this.#configured);
    this.#id ??= this.#load().catch((err: unknown) => {
      // Not kept: the next ask tries again (a disk that was full may not be).
      this.#id = undefined;
      throw err;
    });
    return this.#id;
  }

  async #load(): Promise<string> {
    let text: string | undefined;
    try {
      text = (await this.#fs.readFile(this.#path)).trim();
    } catch {
      text = undefined;
    }
    if (text !== undefined && text !== '') {
      if (!DEVICE_ID.test(text)) throw new OutlastError('STATE_DIR_UNUSABLE', `device id file ${this.#path} holds "${text.slice(0, 40)}", not a device id; delete it to generate a new one`);
      return text;
    }
    const id = this.#newId();
    await this.#fs.writeFileAtomic(this.#path, `${id}\n`, 0o600);
    return id;
  }
}

/**
 * The versions among `entries` whose rollout this device is not in, with
 * where it stands in each; the device id is only asked for when some
 * version carries a rollout.
 */
export async function heldBack(device: Pick<DeviceIdentity, 'id'>, entries: ReadonlyArray<{ version: string; rollout?: Rollout | undefined }>): Promise<Map<string, RolloutVerdict>> {
  const held = new Map<string, RolloutVerdict>();
  if (!entries.some((e) => e.rollout !== undefined)) return held;
  const id = await device.id();
  for (const { version, rollout } of entries) {
    if (rollout === undefined) continue;
    const verdict = rolloutVerdict(version, rollout, id);
    if (!verdict.included) held.set(version, verdict);
  }
  return held;
}
