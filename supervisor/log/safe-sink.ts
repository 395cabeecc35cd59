/**
 * A write target that can never kill the supervisor. A reader that goes away
 * (`outlast run ... | head -1`) turns our writes into EPIPE errors; Node
 * ignores SIGPIPE, but an unhandled 'error' event on stdout would still crash
 * the process. A broken sink drops further output and stays quiet.
 */
/** Where log lines and passed-through child output go. */
export interface Sink {
  write(chunk: string): void;
  /** True once the reader has gone away; later writes are dropped. */
  readonly broken: boolean;
}

/** Wraps process.stdout/stderr (or any stream) so that write errors are absorbed. */
export function safeSink(stream: NodeJS.WritableStream): Sink {
  let broken = false;
  stream.on('error', () => {
    // EPIPE, EIO after a terminal hang-up, ECONNRESET on a socket: all mean
    // "nobody is listening". Dropping output is the only safe reaction.
    broken = true;
  });
  return {
    write(chunk) {
      if (broken) return;
      try {
        stream.write(chunk);
      } catch {
        broken = true;
      }
    },
    get broken() {
      return broken;
    },
  };
}

/** A sink that writes to both `a` and `b` (stdout and a log file). */
export function teeSink(a: Sink, b: Sink): Sink {
  return {
    write(text) {
      a.write(text);
      b.write(text);
    },
    get broken() {
      return a.broken && b.broken;
    },
  };
}

/** A sink that remembers everything written, for tests and in-process capture. */
export function memorySink(): Sink & { readonly text: () => string } {
  const parts: string[] = [];
  return {
    write: (chunk) => void parts.push(chunk),
    broken: false,
    text: () => parts.join(''),
  };
}
