/**
 * What the supervisor holds open, and the order in which it lets go. There
 * are two ways out: before a self-restart the strategy needs what the
 * successor must find free (the API port, supervisor.json, the service
 * stopped), and at the end of `outlast run` everything goes.
 *
 * Each part registers as it is opened, so neither way out needs to know
 * which parts a failed start-up got as far as opening.
 */

/** Which way out a step belongs to. */
export type TeardownWhen = 'always' | 'before-restart' | 'at-exit';

/** How a self-restart lets go: `keepChild` when the next image (same pid, reexec) may adopt the child. */
export interface RestartWay {
  keepChild: boolean;
}

interface Step {
  when: TeardownWhen;
  run: (way: RestartWay) => unknown;
  done: boolean;
}

/** An ordered list of release steps; each runs at most once, in the order added. */
export class Teardown {
  readonly #steps: Step[] = [];

  /** Adds `run` to the way(s) out named by `when`. */
  add(when: TeardownWhen, run: (way: RestartWay) => unknown): void {
    this.#steps.push({ when, run, done: false });
  }

  /** Before a self-restart: everything but the `at-exit` steps. */
  beforeRestart(way: RestartWay = { keepChild: false }): Promise<void> {
    return this.#run('before-restart', way);
  }

  /** At the end: everything still held but the `before-restart` steps. */
  atExit(): Promise<void> {
    return this.#run('at-exit');
  }

  /** Runs every pending step for `way`; a failing step does not keep the later ones from running. */
  async #run(when: Exclude<TeardownWhen, 'always'>, way: RestartWay = { keepChild: false }): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.#steps) {
      if (step.done || (step.when !== 'always' && step.when !== when)) continue;
      step.done = true;
      try {
        await step.run(way);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
