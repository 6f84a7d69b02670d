/** POSIX single-quoting: the result is one shell word that expands to exactly `value`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
