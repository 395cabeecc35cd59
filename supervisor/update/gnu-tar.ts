/**
 * GNU tar on the Host: found once on PATH (findGnuTar), and run as an
 * {@link Untar} that extracts plain tar from stdin into a folder. Only the
 * program and its exit; what tar may write is decided by extract-gnu.ts,
 * which checks every entry before tar reads it. Kept apart from that
 * module (and its tar parser) so that staging can ask whether there is a
 * GNU tar without loading the extraction: that runs in a child process
 * (sources/apart.ts).
 */
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { diskError, OutlastError } from '../errors.ts';
import type { ChildExit, Host, HostFs } from '../host/host.ts';

/** A tar that extracts plain tar read from stdin into a directory. */
export interface Untar {
  /** What runs, for messages ("GNU tar 1.34"). */
  readonly name: string;
  /** The GNU tar program found, which another process can run as it is (gnuTarOf) without probing again. */
  readonly program?: GnuTarProgram;
  start(dir: string): UntarRun;
}

/** A GNU tar found on PATH: its full path, and its name for messages. */
export interface GnuTarProgram {
  file: string;
  name: string;
}

/** One running extraction. */
export interface UntarRun {
  /** Resolves once tar has taken the chunk (backpressure), or at once when tar is gone. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends tar's input and waits for it; rejects with tar's complaint when it failed. */
  end(): Promise<void>;
  /** Kills tar (after a refusal); idempotent. */
  stop(): void;
}

/** The oldest GNU tar trusted here: delayed dangerous links and --no-overwrite-dir are much older. */
const MIN_VERSION = [1, 26];

/**
 * GNU tar's flags: extract from stdin into `dir`, owners and setuid/setgid
 * bits never taken from the archive, and a directory already there (the
 * fresh folder itself) kept as it is.
 */
function tarArgs(dir: string): string[] {
  return ['-x', '-f', '-', '-C', dir, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir', '--warning=no-timestamp', '--warning=no-unknown-keyword'];
}

function exitText(exit: ChildExit, stderr: string): string {
  const how = exit.kind === 'exited' ? `exit code ${exit.code}` : exit.kind === 'signaled' ? `signal ${exit.signal}` : exit.message;
  const said = stderr.trim().split('\n').slice(0, 3).join('; ');
  return said === '' ? how : `${how}: ${said}`;
}

/** What GNU tar says (strerror's words) for the disk errnos that are the machine's, not the archive's. */
const TAR_DISK_ERRORS: ReadonlyArray<[string, string]> = [
  ['No space left on device', 'ENOSPC'],
  ['Disk quota exceeded', 'EDQUOT'],
  ['Read-only file system', 'EROFS'],
];

/** NO_SPACE or READ_ONLY when tar's complaint is a full or read-only disk. */
function diskErrorIn(stderr: string): OutlastError | undefined {
  const errno = TAR_DISK_ERRORS.find(([words]) => stderr.includes(words))?.[1];
  return errno === undefined ? undefined : diskError({ code: errno, syscall: 'write' });
}

/** An {@link Untar} over the program `file` (a GNU tar). */
export function gnuTar(host: Pick<Host, 'spawn' | 'kill'>, file: string, env: Record<string, string>, name: string): Untar {
  return {
    name,
    program: { file, name },
    start(dir) {
      const child = host.spawn(file, tarArgs(dir), { cwd: dir, env, detached: false, stdio: 'pipe', stdin: 'pipe' });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => void (stderr.length < 4096 && (stderr += d.toString())));
      child.stdout?.resume();
      const input = child.stdin as Writable;
      // tar stops reading at the archive's end marker and may exit before the
      // input ends (zeros after it: a bomb's padding). The rest is still read
      // and checked here, for the size limit; its end() tells how tar did.
      let gone = false;
      input.on('error', () => (gone = true));
      const exited = child.exited.then((exit) => {
        gone = true;
        return exit;
      });
      return {
        async write(chunk) {
          if (gone || input.write(chunk)) return;
          await new Promise<void>((resolve) => {
            input.once('drain', resolve);
            void exited.then(() => resolve());
          });
        },
        async end() {
          input.end();
          const exit = await exited;
          if (exit.kind !== 'exited' || exit.code !== 0) {
            // The disk's fault, not the archive's: the same codes as a write of ours would get.
            const disk = diskErrorIn(stderr);
            if (disk !== undefined) throw disk;
            throw new OutlastError('ARCHIVE_INVALID', `release tarball could not be extracted by ${name} (${exitText(exit, stderr)})`, { details: { reason: 'tar-failed' } });
          }
        },
        stop() {
          input.destroy();
          if (child.pid !== undefined) host.kill(child.pid, 'SIGKILL');
        },
      };
    },
  };
}

/** The environment tar runs in: the Host's PATH, and LC_ALL=C (its complaints in English, as diskErrorIn reads them). */
function tarEnv(host: Pick<Host, 'env'>): { PATH: string; LC_ALL: string } {
  return { PATH: host.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
}

/** The {@link Untar} of a program another process found (findGnuTar's `program`). */
export function gnuTarOf(host: Pick<Host, 'spawn' | 'kill' | 'env'>, program: GnuTarProgram): Untar {
  return gnuTar(host, program.file, tarEnv(host), program.name);
}

const probes = new WeakMap<object, Promise<Untar | undefined>>();

/**
 * The GNU tar on the Host's PATH, or undefined (busybox or BSD tar, none at
 * all, or one too old): extraction then takes the Node path. Asked once per
 * Host; a failed probe is never an error.
 */
export function findGnuTar(host: Pick<Host, 'spawn' | 'kill' | 'env'> & { fs: Pick<HostFs, 'exists'> }): Promise<Untar | undefined> {
  const known = probes.get(host);
  if (known !== undefined) return known;
  const probe = (async () => {
    const env = tarEnv(host);
    // Looked up on PATH through the Host's files first: only a tar that is
    // there is ever run, by its full path.
    let file: string | undefined;
    for (const dir of env.PATH.split(':').filter((d) => d.startsWith('/'))) {
      if (await host.fs.exists(join(dir, 'tar'))) {
        file = join(dir, 'tar');
        break;
      }
    }
    if (file === undefined) return undefined;
    const child = host.spawn(file, ['--version'], { cwd: '/', env, detached: false, stdio: 'pipe' });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.resume();
    const exit = await child.exited;
    const match = /^tar \(GNU tar\) (\d+)\.(\d+)/.exec(out);
    if (exit.kind !== 'exited' || exit.code !== 0 || match === null) return undefined;
    const [major, minor] = [Number(match[1]), Number(match[2])];
    if (major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!)) return undefined;
    return gnuTar(host, file, env, `GNU tar ${major}.${minor}`);
  })().catch(() => undefined);
  probes.set(host, probe);
  return probe;
}
