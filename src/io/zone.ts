// The local time zone as glibc's tzset() finds it: TZ unset -> /etc/localtime; TZ="" -> "Universal";
// a leading ':' is dropped; a name is looked up under $TZDIR or /usr/share/zoneinfo, an absolute path used
// as is; if no valid TZif file is there, TZ is parsed as a POSIX TZ string (UTC when that fails). Parsing
// is pure (core/tz.ts); this module only reads the files.
import { readFileSync } from 'node:fs';
import { parsePosixTz, parseTzif, tzfileDefault, utcZone, type TzFile, type Zone } from '../core/tz.js';

const TZDEFAULT = '/etc/localtime';
const DEFAULT_TZDIR = '/usr/share/zoneinfo';

/** Where glibc looks (compiled in); a parameter only so that tests can point elsewhere. */
export interface ZonePaths {
  tzdefault: string;
  tzdir: string;
}
const SYSTEM: ZonePaths = { tzdefault: TZDEFAULT, tzdir: DEFAULT_TZDIR };

function readTzif(name: string, env: NodeJS.ProcessEnv, paths: ZonePaths): TzFile | null {
  const dir = env.TZDIR ? env.TZDIR : paths.tzdir;
  const path = name.startsWith('/') ? name : `${dir}/${name}`;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    return null; // missing, a directory, unreadable: glibc falls back to the POSIX syntax
  }
  return parseTzif(bytes);
}

/** The zone localtime() would use under this environment (default: the process's). */
export function loadZone(env: NodeJS.ProcessEnv = process.env, paths: ZonePaths = SYSTEM): Zone {
  let tz = env.TZ;
  if (tz === '') tz = 'Universal';
  if (tz !== undefined && tz.startsWith(':')) tz = tz.slice(1);
  if (tz === undefined) tz = paths.tzdefault;
  if (tz !== '') {
    const file = readTzif(tz, env, paths);
    if (file) return file;
  }
  if (tz === '' || tz === paths.tzdefault) return utcZone();
  const parsed = parsePosixTz(tz);
  const want = parsed.wantsDefaultRules;
  if (want) {
    const rules = readTzif('posixrules', env, paths);
    const adjusted = rules && tzfileDefault(rules, want.stdOff, want.dstOff);
    if (adjusted) return adjusted;
  }
  return parsed.zone;
}
