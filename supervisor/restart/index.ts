export { restartSelf, type RestartSelfOptions } from './embedded.ts';
