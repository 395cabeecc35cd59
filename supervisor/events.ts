/**
 * The supervisor's event bus: lifecycle and update progress, fanned out to
 * `/events` (server-sent events) and anything else that listens. Emitting
 * never throws and never waits on a slow listener.
 */

/** One event on the bus. */
export interface BusEvent {
  type: string;
  at: string;
  data: Record<string, unknown>;
}

/** A small synchronous fan-out. */
export class EventBus {
  readonly #listeners = new Set<(event: BusEvent) => void>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Sends `type` with `data` to every listener. */
  emit(type: string, data: Record<string, unknown>): void {
    const event: BusEvent = { type, at: new Date(this.#now()).toISOString(), data };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener (a closed SSE socket) must not stop the others.
      }
    }
  }

  /** Subscribes; returns the unsubscribe. */
  subscribe(listener: (event: BusEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
