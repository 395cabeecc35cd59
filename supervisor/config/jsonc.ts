/**
 * Config files may carry comments (JSONC, as `outlast init` writes them and
 * editors understand): `//` line and `/* *\/` block comments are blanked out
 * before JSON.parse. Blanked with spaces, not removed, so the positions in a
 * JSON.parse error still point at the right place.
 */

/** `text` with every comment outside a string replaced by spaces (newlines kept). */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '"') {
      // A string, escapes included, is copied as it is: "http://x" holds no comment.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}
