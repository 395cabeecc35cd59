/**
 * The bare-Node floor as a peer: bench/support/floor.mjs (an HTTP server
 * and one child, the bench service, in one `node` process). Only idle cost
 * uses it: it restarts nothing and updates nothing.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, type ServiceSpec } from '../app.ts';
import { waitAnswer } from '../support/http.ts';
import { killLeftover, runsUnder, stopChild, whileRunning } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';
import type { Peer, RunningPeer } from './peer.ts';

/** The row name the target table looks for. */
export const FLOOR_NAME = 'floor: node, http server + 1 child';

export function floorPeer(): Peer {
  return {
    name: FLOOR_NAME,
    updateVia: 'none',
    unavailable: () => undefined,
    async setup(service: ServiceSpec, scope: Scope): Promise<RunningPeer> {
      const proc = spawn(process.execPath, [join(ROOT, 'bench/support/floor.mjs')], { cwd: service.appDir, env: { ...process.env, PORT: String(service.port) }, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const childPid = (): number | undefined => (/^\d+\n/.test(out) ? Number(out.trim()) : undefined);
      const teardown = scope.defer(async () => {
        const last = childPid();
        await stopChild(proc, 'SIGTERM', 5000);
        await killLeftover(last, runsUnder(service.appDir));
      });
      try {
        await whileRunning(proc, 'the floor', waitAnswer(service.port, (a) => a.version === service.version, `the floor's service ${service.version}`));
      } catch (err) {
        await teardown.run();
        throw err;
      }
      return {
        daemonPid: proc.pid!,
        update: () => Promise.reject(new Error('the floor does not update')),
        async servicePid() {
          const pid = childPid();
          if (pid === undefined) throw new Error('the floor has not reported its child');
          return pid;
        },
        commands: () => ({ status: { label: 'node -e 0', file: process.execPath, args: ['-e', '0'] } }),
        teardown: () => teardown.run(),
      };
    },
  };
}
