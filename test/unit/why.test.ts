import { describe, expect, it } from 'vitest';
import type { Marker, MarkerKind } from '../../supervisor/forensics/markers.ts';
import { explain } from '../../supervisor/forensics/why.ts';

let clock = 1_000_000;
function m(kind: MarkerKind, pid: number, fields: Record<string, unknown> = {}): Marker {
  clock += 100;
  return { kind, pid, atMs: clock, at: new Date(clock).toISOString(), ...fields };
}
const dead = (): boolean => false;
const aliveOnly = (...pids: number[]) => (pid: number): boolean => pids.includes(pid);

describe('explain', () => {
  it('reports a clean restart with its downtime', () => {
    const markers = [m('ready', 10), m('pre-restart', 10, { strategy: 'reexec' }), m('first-line', 10), m('ready', 10)];
    const verdict = explain(markers, aliveOnly(10));
    expect(verdict).toMatchObject({ code: 'clean-restart', downtimeMs: 200 });
    expect(verdict.evidence.map((e) => e.kind)).toEqual(['pre-restart', 'first-line', 'ready']);
  });

  it('places a death before the first line in the exec/loader window', () => {
    expect(explain([m('pre-restart', 10, { strategy: 'reexec' })], dead).code).toBe('died-in-exec-window');
    expect(explain([m('pre-restart', 10, { strategy: 'detached' })], dead).code).toBe('died-in-exec-window');
  });

  it('says a detached restart is still under way while the old process lives', () => {
    expect(explain([m('pre-restart', 10, { strategy: 'detached' })], aliveOnly(10)).code).toBe('restart-in-progress');
  });

  it('places a death after the first line but before ready in runtime start-up', () => {
    const verdict = explain([m('pre-restart', 10, { strategy: 'detached' }), m('first-line', 11)], dead);
    expect(verdict.code).toBe('died-in-startup');
    expect(verdict.summary).toMatch(/killed untrappably/);
    const signalled = explain([m('pre-restart', 10), m('first-line', 11), m('signal', 11, { signal: 'SIGTERM' })], dead);
    expect(signalled.summary).toMatch(/after signal SIGTERM/);
  });

  it('calls a run that became ready and then vanished without a marker a death after init', () => {
    const verdict = explain([m('pre-restart', 10), m('first-line', 11), m('ready', 11)], dead);
    expect(verdict.code).toBe('died-after-init');
  });

  it('calls a run with neither exit nor signal marker killed untrappably', () => {
    expect(explain([m('first-line', 12), m('ready', 12)], dead).code).toBe('killed-untrappably');
  });

  it('reports an orderly stop with its signal', () => {
    const verdict = explain([m('first-line', 12), m('ready', 12), m('signal', 12, { signal: 'SIGTERM' }), m('exit', 12, { code: 0 })], dead);
    expect(verdict).toMatchObject({ code: 'stopped' });
    expect(verdict.summary).toMatch(/received SIGTERM/);
  });

  it('says a planned stop was planned, even when its SIGTERM marker came first', () => {
    const verdict = explain([m('ready', 12), m('signal', 12, { signal: 'SIGTERM' }), m('planned-stop', 12, { reason: 'deploy' }), m('exit', 12, { code: 0 })], dead);
    expect(verdict).toMatchObject({ code: 'stopped' });
    expect(verdict.summary).toMatch(/stopped as planned \(deploy\)/);
    expect(verdict.evidence.map((e) => e.kind)).toEqual(['ready', 'planned-stop']);
  });

  it('has nothing to say without markers, and says a live run is running', () => {
    expect(explain([], dead).code).toBe('no-history');
    expect(explain([m('ready', 12)], aliveOnly(12)).code).toBe('running');
  });
});
