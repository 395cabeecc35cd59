/**
 * runit from Debian: `runsv` on a service dir of our own in a temp dir (no
 * runsvdir, no /etc/service), controlled with `sv`. Updates are
 * `sv restart` (TERM, then up again once the process is gone).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setVersion, type ServiceSpec } from '../app.ts';
import { waitAnswer } from '../support/http.ts';
import { killLeftover, run, runsUnder, stopChild, whileRunning, type Command } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';
import type { Peer, RunningPeer } from './peer.ts';

/** A shell word in single quotes. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** runsv + sv; `bins` undefined when runit is not installed. */
export function runitPeer(bins: { runsv: string; sv: string } | undefined): Peer {
  return {
    name: 'runit',
    updateVia: 'sv restart',
    unavailable: () => (bins === undefined ? 'runit: not installed (apt-get install runit)' : undefined),
    async setup(service: ServiceSpec, scope: Scope): Promise<RunningPeer> {
      const { runsv, sv } = bins!;
      const home = mkdtempSync(join(tmpdir(), 'outlast-bench-runit-'));
      const dir = join(home, 'svc');
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'run'),
        `#!/bin/sh\ncd ${quote(service.appDir)} || exit 1\nPORT=${service.port} exec ${quote(process.execPath)} server.js 2>&1\n`,
      );
      chmodSync(join(dir, 'run'), 0o755);
      const ctl = (...args: string[]): Command => ({ file: sv, args: [...args, dir] });
      const pidFile = join(dir, 'supervise/pid');
      const servicePid = (): number | undefined => {
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
        return pid > 0 ? pid : undefined;
      };
      const proc = spawn(runsv, [dir], { stdio: 'ignore' });
      const teardown = scope.defer(async () => {
        const last = servicePid();
        // Down first (TERM + CONT, waits for the exit), then `exit` ends runsv itself.
        await run(ctl('-w', '10', 'force-stop'), 20_000).catch(() => undefined);
        await run(ctl('exit'), 10_000).catch(() => undefined);
        await stopChild(proc, 'SIGTERM', 5000);
        await killLeftover(last, runsUnder(service.appDir));
        rmSync(home, { recursive: true, force: true });
      });
      try {
        await whileRunning(proc, 'runsv', waitAnswer(service.port, (a) => a.version === service.version, `runsv's service ${service.version}`));
      } catch (err) {
        await teardown.run();
        throw err;
      }
      return {
        daemonPid: proc.pid!,
        async update(version) {
          setVersion(service.appDir, version);
          await run(ctl('-w', '30', 'restart'));
        },
        async servicePid() {
          const pid = servicePid();
          if (pid === undefined) throw new Error(`no pid in ${pidFile}`);
          return pid;
        },
        commands: () => ({ status: { ...ctl('status'), label: 'sv status' } }),
        teardown: () => teardown.run(),
      };
    },
  };
}
