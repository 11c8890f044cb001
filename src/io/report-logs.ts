// Crash context from a service's log directory (multilog layout: `@<tai64n>.s`/`.u` archives, then
// `current`), read line by line in order and handed to the pure ContextCollector.
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { ContextCollector } from '../core/report-context.js';
import type { ExitInfo } from '../core/report.js';

/** The log files of a multilog-style directory, oldest first; [] when there is no such directory. */
export function logFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  // (%gzip archives, @<stamp>.s.gz, too; a .gz next to its original is the same archive)
  const have = new Set(names);
  const old = names.filter((n) => /^@[0-9a-f]{24}\.[su](\.gz)?$/.test(n) && !(n.endsWith('.gz') && have.has(n.slice(0, -3)))).sort();
  if (names.includes('current')) old.push('current');
  return old.map((n) => join(dir, n));
}

/** Fills `exits[].context` from the log directory `dir` (`n` lines each). Returns the files read. */
export async function collectContext(dir: string, exits: ExitInfo[], n: number): Promise<string[]> {
  const files = logFiles(dir);
  if (files.length === 0 || exits.length === 0) return files;
  const sorted = exits.slice().sort((a, b) => a.at - b.at);
  const c = new ContextCollector(sorted, n);
  // (an archive compressed since it was listed is read from its .gz)
  for (const f of files) await eachLine(!existsSync(f) && existsSync(f + '.gz') ? f + '.gz' : f, (l) => c.line(l));
  c.finish();
  return files;
}

function eachLine(path: string, fn: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let carry: Buffer | null = null;
    const file = createReadStream(path, { highWaterMark: 1 << 16 });
    const s = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
    if (s !== file) file.on('error', () => resolve());
    s.on('data', (c: string | Buffer) => {
      const chunk = c as Buffer;
      let buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      let pos = 0;
      for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, pos)) {
        fn(buf.toString('utf8', pos, nl));
        pos = nl + 1;
      }
      carry = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
      buf = chunk;
    });
    s.on('end', () => {
      if (carry) fn(carry.toString('utf8'));
      resolve();
    });
    s.on('error', () => resolve()); // a file rotated away meanwhile: the context is best effort
  });
}
