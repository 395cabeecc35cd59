export { registerRun } from './run.ts';
export { registerRestart, registerStatus } from './status.ts';
export { registerUpdates } from './updates.ts';
