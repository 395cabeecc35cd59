export { registerAudit } from './audit.ts';
export { registerDoctor } from './doctor.ts';
export { registerInstall } from './install.ts';
export { registerRelease } from './release.ts';
export { registerRun } from './run.ts';
export { registerRestart, registerStatus } from './status.ts';
export { registerStop } from './stop.ts';
export { registerUpdates } from './updates.ts';
export { registerWhy } from './why.ts';
