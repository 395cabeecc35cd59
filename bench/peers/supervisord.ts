/**
 * supervisord from Debian, run in the foreground (`-n`) with its own config,
 * socket, pid file and logs in a temp dir, so it never meets the machine's
 * own supervisord. Updates are `supervisorctl restart`: supervisord has no
 * reload of a program that keeps serving.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setVersion, type ServiceSpec } from '../app.ts';
import { waitAnswer } from '../support/http.ts';
import { killLeftover, run, runsUnder, stopChild, whileRunning, type Command } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';
import type { Peer, RunningPeer } from './peer.ts';

/** The supervisord.conf of one bench daemon in `home`. */
function conf(home: string, service: ServiceSpec): string {
  return [
    '[unix_http_server]',
    `file=${join(home, 'supervisor.sock')}`,
    '[supervisord]',
    'nodaemon=true',
    ...(process.getuid?.() === 0 ? ['user=root'] : []),
    `logfile=${join(home, 'supervisord.log')}`,
    `pidfile=${join(home, 'supervisord.pid')}`,
    `childlogdir=${home}`,
    '[rpcinterface:supervisor]',
    'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    '[supervisorctl]',
    `serverurl=unix://${join(home, 'supervisor.sock')}`,
    '[program:svc]',
    `command=${process.execPath} server.js`,
    `directory=${service.appDir}`,
    `environment=PORT="${service.port}"`,
    'autorestart=true',
    'stopsignal=TERM',
    'redirect_stderr=true',
    `stdout_logfile=${join(home, 'svc.log')}`,
    '',
  ].join('\n');
}

/** supervisord; `bins` undefined when it is not installed. */
export function supervisordPeer(bins: { supervisord: string; supervisorctl: string } | undefined): Peer {
  return {
    name: 'supervisord',
    updateVia: 'supervisorctl restart',
    unavailable: () => (bins === undefined ? 'supervisord: not installed (apt-get install supervisor)' : undefined),
    async setup(service: ServiceSpec, scope: Scope): Promise<RunningPeer> {
      const { supervisord, supervisorctl } = bins!;
      const home = mkdtempSync(join(tmpdir(), 'outlast-bench-supervisord-'));
      const confPath = join(home, 'supervisord.conf');
      writeFileSync(confPath, conf(home, service));
      const ctl = (...args: string[]): Command => ({ file: supervisorctl, args: ['-c', confPath, ...args] });
      const servicePid = async (): Promise<number> => Number((await run(ctl('pid', 'svc'))).stdout.trim());
      const logFd = openSync(join(home, 'supervisord.out'), 'a');
      const proc = spawn(supervisord, ['-n', '-c', confPath], { stdio: ['ignore', logFd, logFd] });
      closeSync(logFd);
      const teardown = scope.defer(async () => {
        const last = await servicePid().catch(() => undefined);
        // SIGTERM: supervisord stops its programs (stopsignal, stopwaitsecs), then exits.
        await stopChild(proc, 'SIGTERM', 15_000);
        await killLeftover(last || undefined, runsUnder(service.appDir));
        rmSync(home, { recursive: true, force: true });
      });
      try {
        const log = (): string => readFileSync(join(home, 'supervisord.out'), 'utf8');
        await whileRunning(proc, 'supervisord', waitAnswer(service.port, (a) => a.version === service.version, `supervisord's service ${service.version}`), log);
      } catch (err) {
        await teardown.run();
        throw err;
      }
      return {
        daemonPid: proc.pid!,
        async update(version) {
          setVersion(service.appDir, version);
          await run(ctl('restart', 'svc'));
        },
        servicePid,
        commands: () => ({ version: { label: 'supervisord --version', file: supervisord, args: ['--version'] }, status: { ...ctl('status'), label: 'supervisorctl status' } }),
        teardown: () => teardown.run(),
      };
    },
  };
}
