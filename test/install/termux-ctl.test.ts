// The Termux install's ctl script, run for real by dash against a stand-in
// `sv` and a real /health: the scripts/ctl.sh status codes the watchdog loop
// reads, `--unless-stopped`, and runsvdir brought back after Android killed it.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import { installInput } from '../../supervisor/install/input.ts';
import { generateTermux } from '../../supervisor/install/termux.ts';
import { freePort } from '../support/net.ts';

let dir: string;
let prefix: string;
let ctl: string;
let server: Server;
let health = 200;

// A stand-in for runit's sv: logs its arguments; `status` prints $dir/sv-status,
// or fails as sv does when runsv is not running, until start-services.sh ran.
const SV = (root: string): string => `#!/bin/sh
echo "$*" >> ${root}/sv.log
[ "$1" = status ] || exit 0
if [ -f ${root}/sv-status ]; then cat ${root}/sv-status; exit 0; fi
if [ -f ${root}/runsvdir-started ]; then echo "run: $2: (pid 99) 1s"; exit 0; fi
echo "warning: $2: unable to open supervise/ok: file does not exist"
exit 1
`;

function run(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn('dash', [ctl, ...args], { env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH ?? ''}` } });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

const svCalls = (): string[] => (existsSync(join(dir, 'sv.log')) ? readFileSync(join(dir, 'sv.log'), 'utf8').trim().split('\n') : []);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outlast-termux-ctl-'));
  prefix = join(dir, 'usr');
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'sv'), SV(dir));
  chmodSync(join(dir, 'bin', 'sv'), 0o755);
  mkdirSync(join(prefix, 'etc', 'profile.d'), { recursive: true });
  writeFileSync(join(prefix, 'etc', 'profile.d', 'start-services.sh'), `touch ${dir}/runsvdir-started\n`);
  const port = await freePort();
  server = createServer((req, res) => res.writeHead(req.url === '/health' ? health : 404).end());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const config = parseConfig({ name: 'app', api: { port }, service: { command: ['x'], stopTimeoutMs: 5000 } }, '/srv/app', 'test');
  const input = installInput(config, { node: '/usr/bin/node', entry: '/opt/outlast/bin/outlast.js', configPath: '/srv/app/outlast.json', path: undefined, user: false, version: '1.2.3' });
  const file = generateTermux(input, prefix).files.find((f) => f.path === 'service/app/ctl')!;
  ctl = join(dir, 'ctl');
  writeFileSync(ctl, file.content);
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  health = 200;
  for (const file of ['sv.log', 'sv-status', 'runsvdir-started']) rmSync(join(dir, file), { force: true });
});

describe('the Termux ctl script', () => {
  it('status: 0 running and healthy, 1 running but unhealthy, 3 not running', async () => {
    writeFileSync(join(dir, 'sv-status'), `run: ${prefix}/var/service/app: (pid 4242) 120s; run: log: (pid 4243) 120s\n`);
    expect((await run('status')).code).toBe(0);
    health = 503;
    expect((await run('status')).code).toBe(1);
    writeFileSync(join(dir, 'sv-status'), `down: ${prefix}/var/service/app: 3s, normally up\n`);
    expect((await run('status')).code).toBe(3);
    expect(svCalls()).toEqual(Array(3).fill(`status ${prefix}/var/service/app`));
  });

  it('start --unless-stopped leaves a service someone stopped with `sv down` alone', async () => {
    writeFileSync(join(dir, 'sv-status'), `down: ${prefix}/var/service/app: 5s, normally up\n`);
    const result = await run('start', '--unless-stopped');
    expect(result).toEqual({ code: 0, out: 'stopped on purpose (sv down): not starting\n' });
    expect(svCalls().some((call) => call.startsWith('up '))).toBe(false);
  });

  it('start brings runsvdir back first when Android killed it, then sv up', async () => {
    expect((await run('start', '--unless-stopped')).code).toBe(0);
    expect(existsSync(join(dir, 'runsvdir-started'))).toBe(true);
    expect(svCalls().at(-1)).toBe(`up ${prefix}/var/service/app`);
  });

  it('restart and stop wait the stop budget + 30 s', async () => {
    writeFileSync(join(dir, 'sv-status'), `run: ${prefix}/var/service/app: (pid 4242) 1s\n`);
    expect((await run('restart')).code).toBe(0);
    expect((await run('stop')).code).toBe(0);
    expect(svCalls().slice(-2)).toEqual([`-w 35 restart ${prefix}/var/service/app`, `-w 35 force-stop ${prefix}/var/service/app`]);
  });

  it('refuses an unknown command with 2, as ctl.sh does', async () => {
    expect(await run('logs')).toEqual({ code: 2, out: 'usage: ctl start|stop|restart|status\n' });
  });
});
