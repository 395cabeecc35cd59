export { formatLive } from './format.ts';
export type { HeldConnection, HeldStream, LiveNet, LiveTarget, StreamState } from './live-net.ts';
export { nodeLiveNet } from './node-live-net.ts';
export { intFlag, planLive, type LiveFlags, type LivePlan } from './plan.ts';
export { runLive, type LiveReport } from './run-live.ts';
export { judgeStop, type Judgement, type LiveVerdict } from './verdict.ts';
