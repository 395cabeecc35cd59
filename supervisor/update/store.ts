/**
 * The one owner of "which release is current" in a running supervisor. The
 * links on disk (releases.ts) are the truth across processes; this object
 * keeps the version they name for the process, and every switch, restore
 * or settle goes through it, so the two can never disagree.
 */
import type { Host } from '../host/host.ts';
import { linkedVersion, pruneReleases, releasePaths, restoreLinks, switchCurrent, type ReleasePaths } from './releases.ts';

/** The release store of one state dir. */
export class ReleaseStore {
  readonly paths: ReleasePaths;
  readonly #host: Host;
  #current: string | undefined;

  constructor(host: Host, stateDir: string) {
    this.#host = host;
    this.paths = releasePaths(stateDir);
  }

  /** The version `current` points at (as of the last read or switch). */
  get current(): string | undefined {
    return this.#current;
  }

  /** Re-reads `current` from disk (after recovery settled it). */
  async refresh(): Promise<string | undefined> {
    this.#current = await linkedVersion(this.#host, this.paths.current);
    return this.#current;
  }

  /** The version `previous` points at. */
  previous(): Promise<string | undefined> {
    return linkedVersion(this.#host, this.paths.previous);
  }

  /**
   * Points `current` at `version`, keeping the old one as `previous`. Even
   * when it fails (an fsync after the rename), `current` here is what the
   * link on disk says, so an undo sees the truth.
   */
  async switchTo(version: string): Promise<void> {
    try {
      await switchCurrent(this.#host, this.paths, version);
    } finally {
      await this.refresh();
    }
  }

  /** Puts both links back as they were before a switch (and, like switchTo, reads back what the disk holds). */
  async restore(current: string, previous: string | null): Promise<void> {
    try {
      await restoreLinks(this.#host, this.paths, current, previous);
    } finally {
      await this.refresh();
    }
  }

  /** Keeps the `keep` newest releases (never `current` or `previous`); returns the removed versions. */
  prune(keep: number): Promise<string[]> {
    return pruneReleases(this.#host, this.paths, keep);
  }
}
