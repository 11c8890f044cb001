// Reads an env/ directory with envdir's rules (core/envdir.ts): every entry not starting with '.'.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envdirValue } from '../core/envdir.js';

/** name -> value (or null: unset). Throws the fs error of the first unreadable entry (e.g. a subdirectory). */
export function readEnvdir(dir: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    out.set(name, envdirValue(readFileSync(join(dir, name))));
  }
  return out;
}
