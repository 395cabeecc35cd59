/**
 * The shell helpers live once, in scripts/lib/common.sh, and are generated
 * into ctl.sh and watchdog-loop.sh: the copies must be current, a stale copy
 * must be caught, and each script must still run copied alone into an empty
 * dir (as onto a phone), under every POSIX shell installed.
 */
import { copyFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BEGIN, END, libraryBody, renderScript, SCRIPTS_DIR, staleScripts, TARGETS } from '../../scripts/gen-shell.ts';
import { baseEnv, CTL, runScript, shells, WATCHDOG } from '../fixtures/scripts/harness.ts';
import { cleanup, tempDir } from '../support/supervisor.ts';

afterEach(cleanup);

/** A copy of scripts/ (library and targets) to tamper with. */
function scriptsCopy(): string {
  const dir = join(tempDir('outlast-gen-'), 'scripts');
  cpSync(SCRIPTS_DIR, dir, { recursive: true });
  return dir;
}

describe('scripts/lib/common.sh is generated into each script', () => {
  it('every copy in the checkout is current', () => {
    expect(staleScripts().map((s) => s.path)).toEqual([]);
  });

  it.each(TARGETS)('%s carries the library body between its markers', (target) => {
    const script = readFileSync(join(SCRIPTS_DIR, target), 'utf8');
    const body = libraryBody(readFileSync(join(SCRIPTS_DIR, 'lib', 'common.sh'), 'utf8'));
    const inner = script.slice(script.indexOf(`${BEGIN}\n`) + BEGIN.length + 1, script.indexOf(`${END}\n`));
    expect(inner).toBe(body);
    expect(body).toContain('usage_error() {');
    expect(body).not.toContain('never sourced');
  });

  it('a hand edit inside a block is reported stale', () => {
    const dir = scriptsCopy();
    const path = join(dir, 'ctl.sh');
    writeFileSync(path, readFileSync(path, 'utf8').replace("say() { printf '%s\\n' \"$*\"; }", "say() { echo \"$*\"; }"));
    expect(staleScripts(dir).map((s) => s.path)).toEqual([path]);
  });

  it('a change to the library makes every copy stale, and regenerating fixes them', () => {
    const dir = scriptsCopy();
    const lib = join(dir, 'lib', 'common.sh');
    writeFileSync(lib, `${readFileSync(lib, 'utf8')}\nnoop() { :; }\n`);
    const stale = staleScripts(dir);
    expect(stale.map((s) => s.path)).toEqual(TARGETS.map((t) => join(dir, t)));
    for (const { path, expected } of stale) writeFileSync(path, expected);
    expect(staleScripts(dir)).toEqual([]);
  });

  it('refuses a script without its markers', () => {
    expect(() => renderScript('#!/bin/sh\nsay hi\n', 'say() { :; }\n', 'x.sh')).toThrow(/x\.sh: needs exactly one/);
    expect(() => renderScript(`${END}\n${BEGIN}\n`, '', 'x.sh')).toThrow(/needs exactly one/);
  });
});

describe.each(shells())('each script runs alone under $name', (shell) => {
  function alone(script: string): string {
    const dir = tempDir('outlast-alone-');
    const copy = join(dir, script === CTL ? 'ctl.sh' : 'watchdog-loop.sh');
    copyFileSync(script, copy);
    return copy;
  }

  it('ctl.sh: help, a usage error through the generated helpers, and status of nothing', async () => {
    const ctl = alone(CTL);
    const dir = join(ctl, '..');
    expect((await runScript(shell, ctl, ['--help'], baseEnv())).code).toBe(0);
    const bad = await runScript(shell, ctl, ['--pidfile', join(dir, 'svc.pid'), '--stop-timeout', 'soon', 'status'], baseEnv());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("ctl.sh: --stop-timeout must be a whole number of seconds, not 'soon'");
    const status = await runScript(shell, ctl, ['--pidfile', join(dir, 'svc.pid'), 'status'], baseEnv());
    expect(status.code, status.stderr).toBe(3);
  });

  it('watchdog-loop.sh: help and a usage error through the generated helpers', async () => {
    const watchdog = alone(WATCHDOG);
    expect((await runScript(shell, watchdog, ['--help'], baseEnv())).code).toBe(0);
    const bad = await runScript(shell, watchdog, ['--interval', '0', '--once'], baseEnv());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("watchdog-loop.sh: --interval must be a whole number above 0, not '0'");
  });
});
