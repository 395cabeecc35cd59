/**
 * What the unit file says about how outlast is started: its ExecStart, where
 * the file is, and whether systemd runs an older copy of it. `doctor` compares
 * this with the outlast that actually runs, to spot a stale unit file.
 */
import type { CommandRunner } from '../../platform/systemctl-runner.ts';

/** The unit file's facts, or why they could not be read. */
export type UnitFile =
  | {
      ok: true;
      /** Empty for a transient unit (systemd-run), which has no file. */
      fragmentPath: string;
      /** The argv of the first ExecStart= command; empty when there is none. */
      execStart: string[];
      /** The file changed on disk since systemd loaded it (`daemon-reload` pending). */
      needDaemonReload: boolean;
    }
  | { ok: false; reason: string };

/** Parses `systemctl show -p FragmentPath,ExecStart,NeedDaemonReload` output. */
export function parseUnitFile(stdout: string): UnitFile {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !values.has(line.slice(0, eq))) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  if (!values.has('NeedDaemonReload')) return { ok: false, reason: 'no NeedDaemonReload in the output of systemctl show' };
  return {
    ok: true,
    fragmentPath: values.get('FragmentPath') ?? '',
    execStart: execStartArgv(values.get('ExecStart') ?? ''),
    needDaemonReload: values.get('NeedDaemonReload') === 'yes',
  };
}

/**
 * The argv in systemctl's rendering of an ExecStart= entry:
 * `{ path=/usr/bin/node ; argv[]=/usr/bin/node /opt/x/bin/outlast.js run ; ignore_errors=no ; … }`.
 * systemctl joins argv with spaces and no quoting, so an argument with a space
 * in it comes back split; the paths outlast generates are compared whole.
 */
export function execStartArgv(value: string): string[] {
  const match = /argv\[\]=(.*?) ; ignore_errors=/.exec(value);
  return match?.[1]?.split(' ').filter((word) => word !== '') ?? [];
}

/** Reads the unit file's facts with `systemctl show`, within timeoutMs. Never rejects. */
export async function readUnitFile(unit: string, scope: 'system' | 'user', run: CommandRunner, timeoutMs = 700): Promise<UnitFile> {
  const args = [...(scope === 'user' ? ['--user'] : []), 'show', unit, '-p', 'FragmentPath,ExecStart,NeedDaemonReload'];
  const outcome = await run(args, timeoutMs);
  if (outcome.kind === 'timed-out') return { ok: false, reason: `systemctl show did not answer within ${timeoutMs} ms` };
  if (outcome.kind === 'failed') return { ok: false, reason: `systemctl could not run: ${outcome.message}` };
  if (outcome.exitCode !== 0) return { ok: false, reason: `systemctl show exited with ${outcome.exitCode}: ${outcome.stderr.trim()}` };
  return parseUnitFile(outcome.stdout);
}
