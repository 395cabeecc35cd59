/**
 * Launches a command as "the main process" of a cgroup, inside it from its
 * first instruction.
 *
 * Moving a pid in after spawn() returns would race: the command could fork a
 * helper before the move, and that helper would escape the group (and the
 * kill window the test is about). So a tiny sh writes its own pid to
 * cgroup.procs and then execs the command: same pid, already in the group.
 * (Should the test process die, the group's guard kills it: see cgroup.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Cgroup } from './cgroup.ts';
import type { Command, ExitRecord } from './proc.ts';

/** What the wrapper prints, and its exit code, when it cannot enter the group. */
const ENTRY_FAILED = 'outlast-harness: cannot enter cgroup';
const ENTRY_FAILED_CODE = 121;
const ENTER_THEN_EXEC = `echo $$ > "$1" || { echo "${ENTRY_FAILED} $1" >&2; exit ${ENTRY_FAILED_CODE}; }; shift; exec "$@"`;

/** A main process running in its cgroup. */
export interface MainProcess {
  pid: number;
  proc: ChildProcess;
  /** Settles when the main process has exited (it is our child, so its exit status is exact). */
  exited: Promise<ExitRecord>;
}

/**
 * Starts `command` inside `group` and resolves once it is there (or has
 * already exited from there). `onOutput` gets its stdout and stderr.
 */
export async function launchInCgroup(group: Cgroup, command: Command, onOutput: (chunk: string) => void): Promise<MainProcess> {
  if (command.argv.length === 0) throw new Error('launchInCgroup: empty argv');
  const proc = spawn('sh', ['-c', ENTER_THEN_EXEC, 'outlast-enter-cgroup', group.procsFile, ...command.argv], {
    cwd: command.cwd,
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (d: Buffer): void => {
    output += d.toString();
    onOutput(d.toString());
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`cannot launch ${command.argv.join(' ')}: ${(await spawnError).message}`);
  let exit: ExitRecord | undefined;
  // 'exit', not 'close': a detached grandchild may hold the pipes open for as long as it lives.
  const exited = new Promise<ExitRecord>((resolve) =>
    proc.once('exit', (code, signal) => resolve((exit = { pid, code, signal, at: Date.now() }))),
  );
  const deadline = Date.now() + 10_000;
  while (exit === undefined && !group.procs().includes(pid)) {
    if (Date.now() > deadline) {
      // Outside the group, nothing else would ever reap it: kill it here.
      proc.kill('SIGKILL');
      throw new Error(`${command.argv.join(' ')} (pid ${pid}) did not reach ${group.path} within 10 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (exit?.code === ENTRY_FAILED_CODE) {
    // The wrapper's message may still be in the pipe when 'exit' fires.
    await Promise.race([new Promise((resolve) => proc.once('close', resolve)), new Promise((resolve) => setTimeout(resolve, 1000))]);
    if (output.includes(ENTRY_FAILED)) throw new Error(`${command.argv.join(' ')} never ran: ${output.trim()}`);
  }
  return { pid, proc, exited };
}
