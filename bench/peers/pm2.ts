/**
 * PM2, from npm into the bench's own prefix (bench/.peers), with its own
 * PM2_HOME in a temp dir so it never touches a PM2 the machine already runs.
 * Fork mode runs one process; cluster mode runs 2 instances behind PM2's
 * cluster master, and `pm2 reload` then replaces them one at a time.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setVersion, type ServiceSpec } from '../app.ts';
import { waitAnswer } from '../support/http.ts';
import { hasEnv, killLeftover, run, runsUnder, type Command } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';
import type { Peer, RunningPeer } from './peer.ts';

/** PM2 in `mode`; `bin` is pm2's bin/pm2 script, undefined when PM2 is not installed. */
export function pm2Peer(bin: string | undefined, mode: 'fork' | 'cluster'): Peer {
  return {
    name: mode === 'fork' ? 'pm2 (fork)' : 'pm2 (cluster ×2)',
    updateVia: 'pm2 reload',
    unavailable: () => (bin === undefined ? 'pm2: not installed (npm install --prefix bench/.peers pm2 failed)' : undefined),
    async setup(service: ServiceSpec, scope: Scope): Promise<RunningPeer> {
      const home = mkdtempSync(join(tmpdir(), 'outlast-bench-pm2-'));
      // PM2 runs `node` from PATH for its daemon's children: make it this Node.
      const env = { ...process.env, PM2_HOME: home, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
      const pm2 = (...args: string[]): Command => ({ file: process.execPath, args: [bin!, ...args], env });
      const daemonPid = (): number | undefined => {
        const file = join(home, 'pm2.pid');
        return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
      };
      const servicePids = async (): Promise<number[]> => {
        const list = JSON.parse((await run(pm2('jlist'))).stdout) as Array<{ pid: number }>;
        return list.map((p) => p.pid).filter((pid) => pid > 0);
      };
      const teardown = scope.defer(async () => {
        const daemon = daemonPid();
        if (daemon !== undefined) {
          const services = await servicePids().catch(() => []);
          await run(pm2('kill'), 30_000).catch(() => undefined);
          for (const pid of services) await killLeftover(pid, runsUnder(service.appDir));
          await killLeftover(daemon, hasEnv('PM2_HOME', home));
        }
        rmSync(home, { recursive: true, force: true });
      });
      try {
        const ecosystem = join(home, 'ecosystem.json');
        writeFileSync(
          ecosystem,
          JSON.stringify({
            apps: [
              {
                name: 'svc',
                script: 'server.js',
                cwd: service.appDir,
                exec_mode: mode,
                instances: mode === 'fork' ? 1 : 2,
                interpreter: process.execPath,
                env: { PORT: String(service.port) },
                // PM2 stops with SIGINT by default; every peer here stops
                // with SIGTERM, which is what the bench app drains on.
                kill_signal: 'SIGTERM',
                autorestart: true,
              },
            ],
          }),
        );
        await run(pm2('start', ecosystem));
        await waitAnswer(service.port, (a) => a.version === service.version, `pm2's service ${service.version}`);
      } catch (err) {
        await teardown.run();
        throw err;
      }
      return {
        daemonPid: daemonPid()!,
        async update(version) {
          setVersion(service.appDir, version);
          await run(pm2('reload', 'svc'));
        },
        async servicePid() {
          const [pid] = await servicePids();
          if (pid === undefined) throw new Error('pm2 jlist shows no running service');
          return pid;
        },
        commands: () => ({ version: { ...pm2('--version'), label: 'pm2 --version' }, status: { ...pm2('status'), label: 'pm2 status' } }),
        teardown: () => teardown.run(),
      };
    },
  };
}
