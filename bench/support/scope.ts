/**
 * Owns what a bench run starts (peer daemons, their home dirs, temp dirs):
 * every teardown runs exactly once, at the end of the block that needed it
 * or, when the run fails or is interrupted, from `closeAll`.
 */

/** A teardown registered with a scope; `run` runs it now (once) and forgets it. */
export interface Deferred {
  run(): Promise<void>;
}

/** A set of pending teardowns. */
export class Scope {
  readonly #pending = new Set<() => Promise<void>>();

  /** Registers `teardown`; it runs once, at `run()` or at `closeAll()`, whichever comes first. */
  defer(teardown: () => void | Promise<void>): Deferred {
    let done: Promise<void> | undefined;
    const once = (): Promise<void> => {
      this.#pending.delete(once);
      done ??= Promise.resolve().then(teardown);
      return done;
    };
    this.#pending.add(once);
    return { run: once };
  }

  /** Runs every pending teardown, newest first; throws the first failure after trying them all. */
  async closeAll(): Promise<void> {
    const failures: unknown[] = [];
    for (const teardown of [...this.#pending].reverse()) {
      try {
        await teardown();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} teardown(s) failed`);
  }
}
