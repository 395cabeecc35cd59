/**
 * The `selfRestart` part of the config schema: how the supervisor restarts
 * itself. (How the service child is respawned is `service.restart`.)
 */
import { z } from 'zod';
import { duration } from '../config/duration.ts';

/** The ways the supervisor can restart itself; see ../../README.md, "Platforms". */
export const STRATEGY_NAMES = ['reexec', 'detached', 'watchdog', 'manager'] as const;

/** A restart strategy. */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** What config may ask for: a strategy, or `auto` to follow the platform. */
export type RequestedStrategy = 'auto' | StrategyName;

/** `selfRestart` (formerly `restart`): the strategy for the supervisor's own restarts. */
export const selfRestartSchema = z.strictObject({
  strategy: z.enum(['auto', ...STRATEGY_NAMES]).default('auto'),
  /** Use the configured strategy even where the platform would kill it. */
  force: z.boolean().default(false),
  /**
   * detached: how long the helper waits after the old process is gone before
   * starting the new one. Defaults to 15000 on Termux (Android's kill window
   * in the field), 1000 elsewhere.
   */
  delayMs: duration().optional(),
  /** detached: starts retried (with backoff) when the new process dies. */
  retries: z.number().int().min(1).default(3),
});
