/**
 * A child's stdout and stderr through FIFOs in `<stateDir>/stdio/`, for
 * installs whose supervisor may re-execute itself and keep the child
 * (adopted.ts). A pipe's read end is close-on-exec and gone at an execve,
 * and a Node service writing to a pipe without a reader dies of EPIPE; the
 * child holds its FIFO read-write instead, so it is its own reader of last
 * resort (its writes buffer, then block, while no supervisor reads), and
 * each image of the supervisor opens the read side again by path.
 *
 * The FIFOs are made under a temporary name and renamed to `<pid>.out` and
 * `<pid>.err` once the pid is known: the descriptors are open by then, so
 * the rename cannot race the child, and the next image finds them by the
 * pid in child.json.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Host } from '../host/host.ts';

/** The FIFOs' folder. */
export function stdioDir(stateDir: string): string {
  return join(stateDir, 'stdio');
}

/** Where the FIFOs of child `pid` are. */
export function fifoPaths(dir: string, pid: number): { out: string; err: string } {
  return { out: join(dir, `${pid}.out`), err: join(dir, `${pid}.err`) };
}

/** One child's FIFOs, from before its spawn until they are removed. */
export interface ChildFifos {
  /** The descriptors the child is spawned with (ours are closed by `spawned`). */
  stdio: { stdout: number; stderr: number };
  out: Readable;
  err: Readable;
  /** After the spawn: closes our write copies and renames the FIFOs after `pid` (undefined: the spawn failed, they go). */
  spawned(pid: number | undefined): Promise<void>;
  /** Removes the FIFOs (once the child's output has ended), unless kept. */
  remove: () => Promise<void>;
  /** Keeps the FIFOs for the next image of this process: `remove` does nothing from now on. */
  keep: () => void;
}

/** The read sides and the removal of FIFOs, once the child runs: what an Attempt keeps. */
export type OpenFifos = Pick<ChildFifos, 'out' | 'err' | 'remove' | 'keep'> & { placed: Promise<void> };

function removal(host: Pick<Host, 'fs'>, paths: () => { out: string; err: string }): Pick<ChildFifos, 'remove' | 'keep'> {
  let kept = false;
  return {
    remove: async () => {
      if (kept) return;
      const { out, err } = paths();
      await Promise.all([host.fs.rm(out), host.fs.rm(err)]);
    },
    keep: () => void (kept = true),
  };
}

/** Makes and opens a fresh pair of FIFOs for the next child. */
export function openChildFifos(host: Pick<Host, 'fifos' | 'fs' | 'randomToken'>, dir: string): ChildFifos {
  const token = host.randomToken(6);
  let paths = { out: join(dir, `.new-${token}.out`), err: join(dir, `.new-${token}.err`) };
  const opened: Array<{ close(): void }> = [];
  try {
    host.fifos.make(paths.out);
    host.fifos.make(paths.err);
    // The read sides first: then the child's first line has a reader at once.
    const out = host.fifos.read(paths.out);
    const err = host.fifos.read(paths.err);
    const forOut = host.fifos.openForChild(paths.out);
    opened.push(forOut);
    const forErr = host.fifos.openForChild(paths.err);
    opened.push(forErr);
    const { remove, keep } = removal(host, () => paths);
    return {
      keep,
      stdio: { stdout: forOut.fd, stderr: forErr.fd },
      out,
      err,
      async spawned(pid) {
        for (const fd of opened) fd.close();
        if (pid === undefined) return remove();
        const next = fifoPaths(dir, pid);
        await host.fs.rename(paths.out, next.out);
        await host.fs.rename(paths.err, next.err);
        paths = next;
      },
      remove,
    };
  } catch (err) {
    for (const fd of opened) fd.close();
    throw err;
  }
}

/** Opens the read sides of an adopted child's FIFOs again; undefined when they are not there. */
export async function reopenChildFifos(host: Pick<Host, 'fifos' | 'fs'>, dir: string, pid: number): Promise<OpenFifos | undefined> {
  const paths = fifoPaths(dir, pid);
  const [out, err] = await Promise.all([host.fs.lstat(paths.out), host.fs.lstat(paths.err)]);
  if (out?.kind !== 'other' || err?.kind !== 'other') return undefined;
  return { out: host.fifos.read(paths.out), err: host.fifos.read(paths.err), placed: Promise.resolve(), ...removal(host, () => paths) };
}

/** Removes FIFOs no child owns any more (a crash between mkfifo and rename, an image that did not adopt). */
export async function pruneFifos(host: Pick<Host, 'fs'>, dir: string, keepPid: number | undefined): Promise<void> {
  const keep = keepPid === undefined ? [] : [`${keepPid}.out`, `${keepPid}.err`];
  for (const name of await host.fs.readdir(dir)) if (!keep.includes(name)) await host.fs.rm(join(dir, name)).catch(() => undefined);
}
