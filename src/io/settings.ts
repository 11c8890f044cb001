// Per-service setting files read by svscan (the table is in upkeep-svscan(8) and docs/readme/svscan.md):
// s6's names where s6 has the setting (timeout-kill, timeout-finish, down-signal), upkeep's own otherwise
// (stderr-to-log, user). Everything here is read when it is needed, so editing a file takes effect at the
// next start of the service (stderr-to-log: when the service is added or retargeted).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyEnvdir } from '../core/envdir.js';
import { describeError } from '../core/errors.js';
import { readEnvdir } from './envdir.js';

/** The environment every run, finish and log/run starts with (as svscanboot's `env - PATH=...`). */
export const CLEAN_PATH = '/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin';

export function cleanEnv(): Record<string, string> {
  return { PATH: CLEAN_PATH };
}

/** The clean environment plus the service's `env/` directory (envdir rules), if there is one. */
export function serviceEnv(dir: string, warn: (text: string) => void): Record<string, string> {
  const envDir = join(dir, 'env');
  if (!existsSync(envDir)) return cleanEnv();
  try {
    return applyEnvdir(cleanEnv(), readEnvdir(envDir));
  } catch (e) {
    warn(`unable to read ${envDir}: ${describeError(e)}`);
    return cleanEnv();
  }
}

/** `stderr-to-log` exists: the service's stderr goes into its log pipe too. */
export function stderrToLog(dir: string): boolean {
  return existsSync(join(dir, 'stderr-to-log'));
}

/**
 * `user`: `NAME` (a user of /etc/passwd: its uid and primary gid) or `UID[:GID]` (numbers). Returns
 * undefined when the file is absent; throws an Error naming the problem when it cannot be used.
 */
export function serviceUser(dir: string): { uid: number; gid: number } | undefined {
  let text: string;
  const path = join(dir, 'user');
  if (!existsSync(path)) return undefined; // no thrown ENOENT on every start
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const word = text.split('\n')[0]!.trim();
  const num = /^(\d+)(?::(\d+))?$/.exec(word);
  if (num) return { uid: Number(num[1]), gid: Number(num[2] ?? num[1]) };
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === word && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`unknown user ${word}`);
}
