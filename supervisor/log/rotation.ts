/**
 * The names of a rotated log file and the steps of one rotation, as pure
 * functions: `outlast.log` is the file being written, `outlast.log.1` the
 * newest rotated one, `outlast.log.<keep>` the oldest kept.
 */

/** One step of a rotation, on names inside the log dir. */
export type RotationStep = { op: 'rm'; name: string } | { op: 'rename'; from: string; to: string };

/** The name of the `index`-th rotated file (`outlast.log.2`); index 0 is the file itself. */
export function rotatedName(base: string, index: number): string {
  return index === 0 ? base : `${base}.${index}`;
}

/** The index of `name` as a rotated file of `base` (`outlast.log.3` gives 3), or undefined when it is not one. */
export function rotatedIndex(base: string, name: string): number | undefined {
  if (!name.startsWith(`${base}.`)) return undefined;
  const suffix = name.slice(base.length + 1);
  return /^[1-9]\d{0,8}$/.test(suffix) ? Number(suffix) : undefined;
}

/** The rotated files of `base` among `names`, newest (lowest index) first. */
export function rotatedFiles(base: string, names: readonly string[]): Array<{ name: string; index: number }> {
  return names
    .map((name) => ({ name, index: rotatedIndex(base, name) }))
    .filter((f): f is { name: string; index: number } => f.index !== undefined)
    .sort((a, b) => a.index - b.index);
}

/**
 * The steps that rotate `base` given the dir's entry `names`: files beyond
 * what will be kept are removed (a `keep` lowered since the last run too),
 * then each `.i` moves to `.i+1`, oldest first so nothing kept is
 * overwritten, and the file itself becomes `.1`. With `keep` 0 it is removed.
 */
export function rotationPlan(base: string, names: readonly string[], keep: number): RotationStep[] {
  const rotated = rotatedFiles(base, names);
  const steps: RotationStep[] = [];
  // `.keep` would be replaced by the rename of `.keep-1` anyway; removing it
  // first keeps every rename onto a free name.
  for (const { name, index } of rotated) if (index >= keep) steps.push({ op: 'rm', name });
  const present = new Set(rotated.map((f) => f.index));
  for (let index = keep - 1; index >= 1; index--) {
    if (present.has(index)) steps.push({ op: 'rename', from: rotatedName(base, index), to: rotatedName(base, index + 1) });
  }
  if (names.includes(base)) steps.push(keep === 0 ? { op: 'rm', name: base } : { op: 'rename', from: base, to: rotatedName(base, 1) });
  return steps;
}
