// One scan of a service tree: every entry whose name does not start with '.' and that is a directory or a
// symlink to one (followed, as svscan does), with the real path it leads to. Entries that cannot be
// examined are reported as warnings, never fatal: one bad entry must not stop the supervisor.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../core/errors.js';
import { isServiceName, type ScanEntry } from '../core/scan.js';

export interface ScanResult {
  entries: ScanEntry[];
  warnings: string[];
}

/** Scans `dir`; throws only if `dir` itself cannot be read. */
export function scanTree(dir: string): ScanResult {
  const names = readdirSync(dir).sort();
  const entries: ScanEntry[] = [];
  const warnings: string[] = [];
  for (const name of names) {
    if (!isServiceName(name)) continue;
    const path = join(dir, name);
    try {
      if (!statSync(path).isDirectory()) continue;
      entries.push({ name, target: realpathSync(path) });
    } catch (e) {
      // A dangling symlink during a non-atomic repoint shows up here: the entry counts as missing.
      warnings.push(`unable to stat ${name}: ${describeError(e)}`);
    }
  }
  return { entries, warnings };
}
