/**
 * The supervisor's event bus: lifecycle and update progress, fanned out to
 * `/events` (server-sent events) and anything else that listens. Emitting
 * never throws and never waits on a slow listener.
 *
 * Every event name and its payload are in {@link BusEvents}: tsc checks each
 * emit, and `/events` clients can read the map as the list of what they get.
 */
import type { ServiceEventFields, ServiceEventType } from './service/types.ts';
import type { AutoCheck } from './update/auto.ts';
import type { Operation } from './update/journal.ts';
import { isoTime } from './iso-time.ts';

/** `service_<type>`: a Service lifecycle event, its fields, and `at` as an ISO time. */
type ServiceBusEvents = { [K in ServiceEventType as `service_${K}`]: ServiceEventFields[K] & { at: string } };

/** Every event on the bus, by name, with its payload. */
export interface BusEvents extends ServiceBusEvents {
  /** The supervisor begins to stop (the first stop signal). */
  service_shutdown: { drainMs: number; reason: string; planned: boolean; signal: NodeJS.Signals };
  /** An update or rollback entered a phase; `phase: 'done'` once it ended, with its error if any. */
  update: { id: string; state: Operation['state']; phase: Operation['phase']; from: string | null; to: string; error?: Operation['error'] | null };
  /** Download progress of an update's fetch. */
  update_progress: { id: string; phase: 'fetch'; done: number; total: number | null };
  /** A scheduled check (`updates.auto`): what it found, what came of it, when the next one is due. */
  update_check: AutoCheck;
}

/** The name of a bus event. */
export type BusEventName = keyof BusEvents;

/** One event on the bus, as listeners receive it. */
export type BusEvent = { [K in BusEventName]: { type: K; at: string; data: BusEvents[K] } }[BusEventName];

/** A small synchronous fan-out. */
export class EventBus {
  readonly #listeners = new Set<(event: BusEvent) => void>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Sends `type` with `data` to every listener. */
  emit<K extends BusEventName>(type: K, data: BusEvents[K]): void {
    // tsc does not narrow a generic member back into the union; `type` and `data` agree by the signature.
    const event = { type, at: isoTime(this.#now()), data } as BusEvent;
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
