/**
 * Platform detection: a snapshot of the machine, pure probes over it, and the
 * systemd unit properties the restart strategies decide from.
 */
export type {
  AndroidCgroup,
  ContainerFacts,
  ContainerRuntime,
  Finding,
  Platform,
  PlatformKind,
  SystemdFacts,
  TermuxFacts,
} from './platform.ts';
export type { AncestorProcess, BuildProp, PlatformSnapshot, ProcStatus } from './snapshot.ts';
export { currentSelf, nodeSnapshotIo, readPlatformSnapshot } from './snapshot-reader.ts';
export type { SelfFacts, SnapshotIo } from './snapshot-reader.ts';
export { detectPlatform } from './detect.ts';
export { readPlatform, readPlatformOf } from './read-platform.ts';
export { probeContainer } from './probes/container.ts';
export { probeSystemd, unitFromCgroupPath } from './probes/systemd.ts';
export type { CgroupUnit } from './probes/systemd.ts';
export { probeTermux } from './probes/termux.ts';
export { parseSystemdDuration } from './systemd-duration.ts';
export type { SystemdDuration, SystemdDurationResult } from './systemd-duration.ts';
export { parseSystemdProperties, readSystemdProperties } from './systemd-properties.ts';
export type { ParsedProperties, ReadPropertiesOptions, SystemdUnitProperties } from './systemd-properties.ts';
export { hostRunner } from './systemctl-runner.ts';
export type { CommandOutcome, CommandRunner, RunnerHost, SystemctlOutcome, SystemctlRunner } from './systemctl-runner.ts';
