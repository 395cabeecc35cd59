export { registerRun } from './run.ts';
export { registerRestart, registerStatus } from './status.ts';
