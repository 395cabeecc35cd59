/**
 * Line-safe pass-through of a child's stdout/stderr. Chunks from a pipe split
 * lines at arbitrary points; writing them as they come would interleave half
 * lines of stdout and stderr (and of our own logs). We forward whole lines only.
 */
import type { Readable } from 'node:stream';
import type { Sink } from '../log/safe-sink.ts';

/** A line longer than this is forwarded in pieces rather than buffered without bound. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Forwards `stream` to `sink` line by line. The returned promise settles when
 * the stream ends; an unterminated last line is flushed with a newline.
 * Reading never stops, even when the sink is broken, so the child is never
 * blocked or killed by SIGPIPE because our own reader went away.
 */
export function forwardLines(stream: Readable, sink: Sink): Promise<void> {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lastNewline = pending.lastIndexOf('\n');
    if (lastNewline >= 0) {
      sink.write(pending.slice(0, lastNewline + 1));
      pending = pending.slice(lastNewline + 1);
    }
    if (pending.length > MAX_LINE_BYTES) {
      sink.write(`${pending}\n`);
      pending = '';
    }
  });
  return new Promise((resolve) => {
    const finish = (): void => {
      if (pending.length > 0) sink.write(`${pending}\n`);
      pending = '';
      resolve();
    };
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  });
}
