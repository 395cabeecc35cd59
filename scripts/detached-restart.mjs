#!/usr/bin/env node
// detached-restart.mjs: the helper of outlast's "detached" restart strategy.
//
// The old supervisor starts it in its own session (setsid), stdio to
// /dev/null. It:
//   1. confirms it runs (writes <state-dir>/restart-helper.json), so the old
//      process may exit;
//   2. waits until the old pid is gone (pid AND start time, so a recycled pid
//      is not mistaken for it);
//   3. waits --delay-ms more: the platform's kill window (Android SIGKILLs
//      processes that appear in the app's cgroup for a while after the exit);
//   4. runs `ctl.sh start -- <command>`;
//   5. checks that a NEW supervisor pid becomes healthy (supervisor.json and
//      its /health), and retries with backoff, up to --retries times.
// Every step is logged with a timestamp to --log.
//
// It is plain JavaScript with no imports beyond Node's, and it starts no
// process of its own until the delay is over: inside the kill window, any new
// process (even a `sleep`) would be killed, so all waiting happens in here.
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const options = { delayMs: 15000, retries: 3, readyTimeoutMs: 60000, log: '/dev/null' };
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const command = dash < 0 ? [] : argv.slice(dash + 1);
const own = dash < 0 ? argv : argv.slice(0, dash);
for (let i = 0; i < own.length; i += 2) {
  const [key, value] = [own[i], own[i + 1]];
  if (value === undefined) usage(`missing value for ${key}`);
  if (key === '--old-pid') options.oldPid = Number(value);
  else if (key === '--old-start') options.oldStart = value;
  else if (key === '--delay-ms') options.delayMs = Number(value);
  else if (key === '--retries') options.retries = Number(value);
  else if (key === '--state-dir') options.stateDir = value;
  else if (key === '--ctl') options.ctl = value;
  else if (key === '--log') options.log = value;
  else if (key === '--ready-timeout-ms') options.readyTimeoutMs = Number(value);
  else usage(`unknown option ${key}`);
}
if (!Number.isInteger(options.oldPid) || !options.stateDir || !options.ctl || command.length === 0) usage('missing --old-pid, --state-dir, --ctl or the command');

function usage(problem) {
  process.stderr.write(`detached-restart.mjs: ${problem}\nusage: detached-restart.mjs --old-pid PID --state-dir DIR --ctl CTL [--old-start T] [--delay-ms MS] [--retries N] [--log FILE] -- COMMAND...\n`);
  process.exit(2);
}

const armed = join(options.stateDir, 'restart-helper.json');
const say = (text) => {
  try {
    appendFileSync(options.log, `${new Date().toISOString()} detached-restart[${process.pid}]: ${text}\n`);
  } catch {
    // A log we cannot write must not stop the restart.
  }
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid, start) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return false;
  }
  return start === undefined || start === '' || startTime(pid) === start;
}

async function healthy(url) {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function readPid(path) {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function runCtl() {
  const args = [options.ctl, 'start', '--pidfile', join(options.stateDir, 'supervisor.pid'), '--log', join(options.stateDir, 'logs', 'supervisor.log'), '--', ...command];
  return new Promise((resolve) => {
    const child = spawn('sh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', (err) => resolve({ code: 127, out: err.message }));
    child.once('exit', (code) => resolve({ code, out: out.trim() }));
  });
}

async function main() {
  process.on('SIGHUP', () => say('ignoring SIGHUP'));
  writeFileSync(armed, `${JSON.stringify({ pid: process.pid, armedAt: new Date().toISOString() })}\n`);
  say(`armed: waiting for pid ${options.oldPid} to exit`);
  const giveUpAt = Date.now() + 10 * 60_000;
  while (alive(options.oldPid, options.oldStart)) {
    if (Date.now() > giveUpAt) return fail(`pid ${options.oldPid} still alive after 10 min`);
    await sleep(20);
  }
  say(`pid ${options.oldPid} is gone; waiting ${options.delayMs} ms (the kill window)`);
  await sleep(options.delayMs);
  let backoff = 1000;
  for (let attempt = 1; attempt <= options.retries; attempt++) {
    const ctl = await runCtl();
    say(`attempt ${attempt}: ctl.sh start exited ${ctl.code}: ${ctl.out}`);
    const deadline = Date.now() + options.readyTimeoutMs;
    while (Date.now() < deadline) {
      const info = readJson(join(options.stateDir, 'supervisor.json'));
      if (info !== undefined && info.pid !== options.oldPid && alive(info.pid) && (await healthy(`${info.apiUrl}/health`))) {
        say(`new supervisor pid ${info.pid} is healthy (${info.apiUrl})`);
        rmSync(armed, { force: true });
        return;
      }
      const started = readPid(join(options.stateDir, 'supervisor.pid'));
      if (started !== undefined && !alive(started)) {
        say(`new supervisor pid ${started} died before it was healthy`);
        break;
      }
      await sleep(100);
    }
    if (attempt < options.retries) {
      say(`retrying in ${backoff} ms`);
      await sleep(backoff);
      backoff *= 2;
    }
  }
  fail(`gave up after ${options.retries} attempt(s)`);
}

function fail(text) {
  say(text);
  rmSync(armed, { force: true });
  process.exitCode = 1;
}

main().catch((err) => fail(`helper failed: ${err.stack ?? err}`));
