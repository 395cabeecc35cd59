/**
 * Pure path arithmetic for "does this stay inside the release?". Paths are
 * relative, `/`-separated, and resolved against a map of the symlinks the
 * release itself declares, because a link's real destination depends on the
 * links it passes through: with `a -> .` the target `a/..` is the parent of
 * the release, although it looks like the release root on paper.
 */
import { posix, win32 } from 'node:path';

/** Symlinks declared by a release: relative path of the link → its target as written. */
export type SymlinkMap = ReadonlyMap<string, string>;

/** The outcome of resolving a path inside the release root. */
export type Containment = { ok: true; parts: string[] } | { ok: false; reason: string };

/** Hops through symlinks before a resolution is called a loop (Linux's own limit). */
const MAX_HOPS = 40;

/** Whether `path` is absolute on any platform (`/x`, `\x`, `C:\x`, `C:x`). */
export function isAbsoluteAnywhere(path: string): boolean {
  return posix.isAbsolute(path) || win32.isAbsolute(path) || /^[A-Za-z]:/.test(path);
}

/** Splits a relative path into its components, dropping empty and `.` ones. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

/**
 * Resolves `relative` from the directory `from` (components below the root),
 * following every symlink of `links` met on the way, including the last
 * component. Fails when the walk climbs above the root, meets an absolute
 * link target, or loops.
 */
export function resolveInside(links: SymlinkMap, from: readonly string[], relative: string): Containment {
  if (isAbsoluteAnywhere(relative)) return { ok: false, reason: `absolute target "${relative}"` };
  const stack = [...from];
  const queue = splitPath(relative);
  let hops = 0;
  for (let part = queue.shift(); part !== undefined; part = queue.shift()) {
    if (part === '..') {
      if (stack.length === 0) return { ok: false, reason: 'resolves outside the release' };
      stack.pop();
      continue;
    }
    stack.push(part);
    const target = links.get(stack.join('/'));
    if (target === undefined) continue;
    if (++hops > MAX_HOPS) return { ok: false, reason: 'symlink loop' };
    if (isAbsoluteAnywhere(target)) return { ok: false, reason: `passes through a link to absolute "${target}"` };
    // The link is replaced by its target, read from the link's own directory.
    stack.pop();
    queue.unshift(...splitPath(target));
  }
  return { ok: true, parts: stack };
}

/**
 * Checks every symlink and hardlink of a release, and the directory of every
 * entry, against the root. Returns the first problem as `[path, reason]`.
 */
export function findEscape(
  links: SymlinkMap,
  hardlinks: ReadonlyMap<string, string>,
  paths: Iterable<string>,
): [string, string] | undefined {
  for (const [path, target] of links) {
    const result = resolveInside(links, splitPath(posix.dirname(path)), target);
    if (!result.ok) return [path, `symlink to "${target}" ${result.reason}`];
  }
  for (const [path, target] of hardlinks) {
    const result = resolveInside(links, [], target);
    if (!result.ok) return [path, `hardlink to "${target}" ${result.reason}`];
  }
  // A file written below a link lands wherever the link points.
  for (const path of paths) {
    const result = resolveInside(links, [], posix.dirname(path));
    if (!result.ok) return [path, `its directory ${result.reason}`];
  }
  return undefined;
}
