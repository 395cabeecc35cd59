/**
 * Python source as the audit reads it: string contents and comments blanked
 * (so a docstring that mentions serve_forever is not a server), and physical
 * lines joined into logical lines by brackets and backslashes, each with its
 * indent, so blocks can be told apart without a full parser.
 */

/** One logical line: the joined, blanked text and where its pieces start. */
export interface PyLine {
  /** 1-based line of the first physical line. */
  line: number;
  /** Indent width of the first physical line, tabs to multiples of 8. */
  indent: number;
  /** The logical line, trimmed, physical lines joined by one space. */
  text: string;
  /** Offset in `text` where each physical line starts, with its line number. */
  starts: Array<{ offset: number; line: number }>;
}

/** Replaces string contents and comments with spaces, keeping quotes, newlines and offsets. */
export function blankPython(source: string): string {
  const out = source.split('');
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    if (char === '#') {
      while (i < source.length && source[i] !== '\n') out[i++] = ' ';
    } else if (char === '"' || char === "'") {
      const triple = source.startsWith(char.repeat(3), i);
      const quote = triple ? char.repeat(3) : char;
      i += quote.length;
      while (i < source.length && !source.startsWith(quote, i)) {
        // A one-line string that never closes ends at the newline, so one bad
        // line cannot blank the rest of the file.
        if (!triple && source[i] === '\n') break;
        const width = source[i] === '\\' && i + 1 < source.length ? 2 : 1;
        for (let k = 0; k < width; k += 1, i += 1) if (source[i] !== '\n') out[i] = ' ';
      }
      i += source.startsWith(quote, i) ? quote.length : 0;
    } else {
      i += 1;
    }
  }
  return out.join('');
}

function indentOf(raw: string): number {
  let width = 0;
  for (const char of raw) {
    if (char === ' ') width += 1;
    else if (char === '\t') width = (Math.floor(width / 8) + 1) * 8;
    else break;
  }
  return width;
}

/** The logical lines of a Python file, blank ones dropped. */
export function pythonLines(source: string): PyLine[] {
  const lines: PyLine[] = [];
  let current: PyLine | undefined;
  let depth = 0;
  blankPython(source).split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (current === undefined) {
      if (trimmed === '') return;
      current = { line: index + 1, indent: indentOf(raw), text: '', starts: [] };
    } else {
      current.text += ' ';
    }
    current.starts.push({ offset: current.text.length, line: index + 1 });
    const continued = trimmed.endsWith('\\');
    current.text += continued ? trimmed.slice(0, -1) : trimmed;
    for (const char of trimmed) {
      if ('([{'.includes(char)) depth += 1;
      else if (')]}'.includes(char)) depth = Math.max(0, depth - 1);
    }
    if (depth === 0 && !continued) {
      lines.push(current);
      current = undefined;
    }
  });
  if (current !== undefined) lines.push(current);
  return lines;
}

/** The physical line of `offset` in a logical line's text. */
export function lineAt(line: PyLine, offset: number): number {
  return line.starts.findLast((start) => start.offset <= offset)?.line ?? line.line;
}
