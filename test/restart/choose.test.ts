// The strategy chooser over the recorded platform snapshots and hand-made
// unit properties: the automatic table, the execve fallbacks, and forced
// strategies refused where the platform would kill them.
import { describe, expect, it } from 'vitest';
import { detectPlatform, type Platform, type SystemdUnitProperties } from '../../platform/index.ts';
import { parseConfig } from '../../supervisor/config/load.ts';
import { chooseStrategy } from '../../supervisor/restart/choose.ts';
import { loadSnapshot } from '../platform/fixtures.ts';

const platformOf = (fixture: string, changes: Partial<Platform> = {}): Platform => ({ ...detectPlatform(loadSnapshot(fixture)), ...changes });

const unit = (killMode: SystemdUnitProperties['killMode']): SystemdUnitProperties => ({ killMode, timeoutStop: { ok: true, us: 90_000_000 } });

describe('chooseStrategy: the automatic table', () => {
  it.each([
    ['docker-v1', 'container', 'reexec'],
    ['docker-v2', 'container', 'reexec'],
    ['podman', 'container', 'reexec'],
    ['kubernetes', 'container', 'reexec'],
    ['systemd-system-v1', 'systemd', 'reexec'],
    ['systemd-user-v2', 'systemd', 'reexec'],
    ['termux-android12-top-app', 'termux', 'detached'],
    ['termux-android14-uid-pid', 'termux', 'detached'],
    ['bare-shell', 'bare', 'reexec'],
  ])('%s (%s) → %s', (fixture, kind, strategy) => {
    const platform = platformOf(fixture, { execve: true });
    expect(platform.kind).toBe(kind);
    const choice = chooseStrategy(platform, undefined, 'auto', false);
    expect(choice.name).toBe(strategy);
    expect(choice.reason).toMatch(new RegExp(`^${kind}: `));
    expect(choice.refused).toBeUndefined();
  });

  it.each([
    ['systemd-system-v2', 'manager', /exit 75 .*systemd-run/],
    ['docker-v1', 'manager', /restart policy/],
    ['termux-android12-top-app', 'detached', /after the kill window/],
    ['bare-shell', 'detached', /setsid helper/],
  ])('without process.execve, %s falls back to %s, saying why', (fixture, strategy, why) => {
    const choice = chooseStrategy(platformOf(fixture, { execve: false, node: 'v20.11.0' }), undefined, 'auto', false);
    expect(choice.name).toBe(strategy);
    expect(choice.reason).toMatch(why);
    if (strategy === 'manager') expect(choice.reason).toContain('without process.execve (Node v20.11.0)');
  });
});

describe('chooseStrategy: a strategy forced in config', () => {
  const systemd = platformOf('systemd-system-v2', { execve: true });

  it.each(['control-group', 'mixed'] as const)('refuses detached under KillMode=%s, and keeps the automatic choice', (killMode) => {
    const choice = chooseStrategy(systemd, unit(killMode), 'detached', false);
    expect(choice.name).toBe('reexec');
    expect(choice.refused).toMatch(new RegExp(`^selfRestart.strategy=detached refused: KillMode=${killMode} kills every process left in the unit's cgroup .*setsid does not leave the cgroup; set selfRestart.force`));
    expect(choice.hazard?.code).toBe('KILLMODE_KILLS_STRATEGY');
  });

  it('refuses detached when the KillMode is unknown, since the default would kill it', () => {
    expect(chooseStrategy(systemd, undefined, 'watchdog', false).refused).toMatch(/KillMode is unknown, and systemd's default \(control-group\)/);
  });

  it.each(['process', 'none'] as const)('allows detached under KillMode=%s', (killMode) => {
    expect(chooseStrategy(systemd, unit(killMode), 'detached', false)).toEqual({ name: 'detached', reason: 'selfRestart.strategy=detached in config' });
  });

  it('uses a refused strategy when forced, and says what it overrode', () => {
    const choice = chooseStrategy(systemd, unit('control-group'), 'detached', true);
    expect(choice).toMatchObject({ name: 'detached', hazard: { code: 'KILLMODE_KILLS_STRATEGY' } });
    expect(choice.reason).toMatch(/^selfRestart.strategy=detached forced by selfRestart.force, although KillMode=control-group/);
    expect(choice.refused).toBeUndefined();
  });

  it('refuses detached in a container where we are PID 1', () => {
    const choice = chooseStrategy(platformOf('docker-v1', { execve: true }), undefined, 'detached', false);
    expect(choice).toMatchObject({ name: 'reexec', hazard: { code: 'PID1_EXIT_KILLS_NAMESPACE' } });
    expect(choice.refused).toMatch(/we are PID 1: when PID 1 exits the kernel SIGKILLs every process in the PID namespace/);
  });

  it('refuses detached behind an init that exits with its child (docker --init)', () => {
    const platform = platformOf('docker-v2', { execve: true });
    expect(platform.container).toMatchObject({ pid1: false, hasInit: true });
    expect(chooseStrategy(platform, undefined, 'detached', false).refused).toMatch(/exits with its child/);
  });

  it('refuses reexec on Termux, where Android kills an in-place execve', () => {
    const choice = chooseStrategy(platformOf('termux-android12-top-app', { execve: true }), undefined, 'reexec', false);
    expect(choice).toMatchObject({ name: 'detached', hazard: { code: 'ANDROID_KILLS_EXECVE' } });
  });

  it('refuses reexec without process.execve even when forced', () => {
    const choice = chooseStrategy(platformOf('bare-shell', { execve: false, node: 'v20.11.0' }), undefined, 'reexec', true);
    expect(choice.name).toBe('detached');
    expect(choice.refused).toBe('selfRestart.strategy=reexec refused: Node v20.11.0 has no process.execve (it arrived in Node 22.15), so the supervisor cannot re-exec in place');
  });

  it('refuses manager where no manager restarts us', () => {
    expect(chooseStrategy(platformOf('bare-shell', { execve: true }), undefined, 'manager', false)).toMatchObject({ name: 'reexec', hazard: { code: 'NOTHING_RESTARTS' } });
    expect(chooseStrategy(systemd, unit('mixed'), 'manager', false)).toEqual({ name: 'manager', reason: 'selfRestart.strategy=manager in config' });
  });

  it('says so when the configured strategy is what the platform calls for anyway', () => {
    expect(chooseStrategy(systemd, unit('mixed'), 'reexec', false).reason).toMatch(/^selfRestart.strategy=reexec, as the platform calls for/);
  });
});

describe('restart config', () => {
  it('defaults to auto, unforced, and names a bad strategy', () => {
    expect(parseConfig({ service: { command: ['x'] } }, '/srv', 'test').selfRestart).toMatchObject({ strategy: 'auto', force: false });
    expect(() => parseConfig({ service: { command: ['x'] }, restart: { strategy: 'fork' } }, '/srv', 'test')).toThrow(/"restart.strategy" .*\(got "fork"\)/);
    expect(() => parseConfig({ service: { command: ['x'] }, selfRestart: { strategy: 'fork' } }, '/srv', 'test')).toThrow(/"selfRestart.strategy" .*\(got "fork"\)/);
  });

  it('takes the old key "restart" as selfRestart, with a deprecation to warn about', () => {
    const config = parseConfig({ service: { command: ['x'] }, restart: { strategy: 'manager', retries: 2 } }, '/srv', 'test');
    expect(config.selfRestart).toMatchObject({ strategy: 'manager', retries: 2, force: false });
    expect(config).not.toHaveProperty('restart');
    expect(config.deprecations).toEqual([expect.stringMatching(/"restart" is deprecated: rename it to "selfRestart"/)]);
    expect(parseConfig({ service: { command: ['x'] }, selfRestart: { strategy: 'manager' } }, '/srv', 'test').deprecations).toBeUndefined();
  });

  it('refuses both spellings at once, naming both', () => {
    let err: unknown;
    try {
      parseConfig({ service: { command: ['x'] }, restart: { strategy: 'manager' }, selfRestart: { strategy: 'reexec' } }, '/srv', 'test');
    } catch (caught) {
      err = caught;
    }
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toMatch(/"restart" and "selfRestart" are both set/);
  });
});
