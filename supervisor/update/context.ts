/**
 * What every update job (apply, rollback, first install, check, the resume
 * of a self-update) works with. The Updater builds it once; each job is a
 * function over it, so no job keeps state of its own.
 */
import type { EventBus } from '../events.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { Service } from '../service/service.ts';
import type { BusyConfig } from './busy.ts';
import type { UpdatesConfig } from './config.ts';
import type { Operations } from './operation.ts';
import type { DeviceIdentity } from './rollout.ts';
import type { SelfUpdate } from './self-update.ts';
import type { UpdateSource } from './sources/source.ts';
import type { ReleaseStore } from './store.ts';

/** The shared parts of the update jobs. */
export interface UpdateContext {
  host: Host;
  stateDir: string;
  config: UpdatesConfig;
  busy: BusyConfig | undefined;
  source: UpdateSource;
  service: Service;
  logger: Logger;
  events: EventBus;
  /** The service's environment, for hooks. */
  env: Record<string, string>;
  store: ReleaseStore;
  ops: Operations;
  /** This device's id, for staged rollouts and outcome reports. */
  device: DeviceIdentity;
  /** Set when the releases hold the supervisor itself: restarts go through it. */
  self: SelfUpdate | undefined;
}
