export { gracefulShutdown, type ShutdownHandle } from './graceful-shutdown.ts';
export type { ConnectionCounts, DrainableServer } from './connections.ts';
export type { GracefulShutdownOptions, ShutdownHook, ShutdownLogger } from './options.ts';
export { NOTIFY_SOCKET_ENV } from '../notify/protocol.ts';
