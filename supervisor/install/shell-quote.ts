/**
 * Quoting for the POSIX sh scripts the installers write.
 */

/** `value` as one sh word: bare when it is plainly safe, else single-quoted. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
