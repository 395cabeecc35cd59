/**
 * The Service's small plumbing: the fan-out of its lifecycle events, and
 * the queue that serialises every operation which stops a child.
 */
import type { RestartResult, ServiceEvent, ServiceEventFields, ServiceEventType } from './types.ts';

/** Delivers each lifecycle event to every listener, synchronously, in subscription order. */
export class ServiceEventFanout {
  readonly #listeners = new Set<(event: ServiceEvent) => void>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Subscribes; returns the unsubscribe. */
  on(listener: (event: ServiceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends `type` with its fields, stamped with the wall clock. */
  emit<K extends ServiceEventType>(type: K, fields: ServiceEventFields[K]): void {
    // tsc does not narrow the spread of one mapped member back into the union.
    const event = { type, at: this.#now(), ...fields } as ServiceEvent;
    for (const listener of this.#listeners) listener(event);
  }

  /**
   * Settles once the child `pid` is ready, or with why not as soon as an
   * event comes while it is no longer the current child (it exited, was
   * stopped, or never got ready and was replaced).
   */
  untilReady(pid: number, isCurrent: () => boolean): Promise<RestartResult> {
    return new Promise((resolve) => {
      const off = this.on((event) => {
        if (event.type === 'ready' && event.pid === pid) {
          off();
          resolve({ ok: true, handoff: false });
        } else if (event.type !== 'ready' && !isCurrent()) {
          off();
          const reason = typeof event.description === 'string' ? event.description : typeof event.reason === 'string' ? event.reason : event.type;
          resolve({ ok: false, handoff: false, reason });
        }
      });
    });
  }
}

/** Runs operations one after another; a failed one does not block the next. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Queues `op`; settles as it does. */
  run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(op, op);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
