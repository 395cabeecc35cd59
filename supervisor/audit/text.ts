/**
 * Helpers for the text scans (Python, Go) that read code with its strings
 * and comments blanked.
 */

/** The arguments of the call whose `(` is at `open`, split at top-level commas and trimmed. */
export function callArgs(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < text.length; i += 1) {
    const char = text[i] ?? '';
    if ('([{'.includes(char)) depth += 1;
    else if (')]}'.includes(char)) depth -= 1;
    if ((depth === 1 && char === ',') || depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
    if (depth === 0) break;
  }
  return args.filter((arg) => arg !== '');
}

/** The 1-based line of `offset` in `text`. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line += 1;
  return line;
}
