/**
 * The Service's small plumbing: the fan-out of its lifecycle events, and
 * the queue that serialises every operation which stops a child.
 */
import type { ServiceEvent, ServiceEventFields, ServiceEventType } from './types.ts';

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
