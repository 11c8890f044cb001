// daemontools' envdir rules for one file's contents, pure: an empty file removes the variable; otherwise
// the value is the first line, with trailing spaces and tabs removed and NUL bytes turned into newlines
// (a file holding just "\n" sets an empty value). Checked against Debian's envdir.

const UTF8 = new TextDecoder('utf-8');

/** The value a file sets, or null when the file removes the variable. */
export function envdirValue(content: Uint8Array): string | null {
  if (content.length === 0) return null;
  let end = content.indexOf(10);
  if (end < 0) end = content.length;
  while (end > 0 && (content[end - 1] === 32 || content[end - 1] === 9)) end--;
  return UTF8.decode(content.subarray(0, end)).replaceAll('\0', '\n');
}

/** Applies envdir entries (name -> value or null) to an environment, returning a new object. */
export function applyEnvdir(
  base: Readonly<Record<string, string>>,
  entries: ReadonlyMap<string, string | null>,
): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const [name, value] of entries) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  return env;
}
