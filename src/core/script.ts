// multilog's script: every argument is one action (daemontools multilog.c), compiled once into arrays so
// that the per-line loop does no parsing. Pure.
//   t (first argument only)  prefix lines with a TAI64N label      sSIZE  size for later logdirs
//   +pattern / -pattern      select / deselect                     nNUM   file count for later logdirs
//   e                        selected lines to stderr              !proc  processor for later logdirs
//   =file                    status file                           ./dir, /dir  logdir
// Anything else is silently ignored, exactly like the real multilog (there is no usage error).
//
// upkeep directives (opt-in, for collectors that read files; docs/collectors.md). They start with `%`,
// which is no multilog action (t s n ! + - e = . /) and no s6-log directive, so a script that uses none
// behaves exactly like multilog's; and like s, n and !, each applies to the log directories that follow:
//   %header / %noheader          a unique first line in each new `current` (fingerprinting collectors)
//   %rotate=DURATION             rotate a non-empty `current` this long after its first line (N, Ns, Nm,
//                                Nh, Nd; at least 1 s; 0 turns it off), also when no input arrives
//   %total=SIZE                  cap on the total size of archives (N, Nk, NM, NG; 0 off), on top of `n`
//   %json / %text                JSON lines (time, tai64n, message, message_base64) / multilog's lines
//   %gzip / %nogzip              compress archives in the background to `@<label>.s.gz` / `.u.gz`
// An unknown `%` directive is ignored too, but listed in Script.unknown so that the program can warn.
import { compilePattern, type Matcher } from './match.js';

export const DEFAULT_SIZE = 99999;
export const MIN_SIZE = 4096;
export const MAX_SIZE = 16777215;
export const DEFAULT_NUM = 10;
export const MIN_NUM = 2;
/** Bytes of (timestamp +) line that patterns, `e` and `=` see. */
export const LINE_MAX = 1000;
/** `e` shows at most this many bytes, then "...". */
export const STDERR_MAX = 200;
/** `=file` receives exactly this many bytes per selected line. */
export const STATUS_SIZE = 1001;
/** "@" + 24 hex + " " */
export const STAMP_LEN = 26;

export interface LogdirSpec {
  /** The argument as given (used in messages). */
  readonly dir: string;
  readonly size: number;
  readonly num: number;
  /** Shell command, or null for none. */
  readonly processor: string | null;
  /** upkeep directives in force for this directory; absent when the script uses none (multilog's behaviour). */
  readonly extras?: LogdirExtras;
}

/** What the `%` directives ask of one log directory. */
export interface LogdirExtras {
  readonly header: boolean;
  /** Rotate a non-empty `current` this many seconds after its first line; 0: never by time. */
  readonly rotateSec: number;
  /** Cap on the bytes of all archives together; 0: none. */
  readonly totalBytes: number;
  readonly json: boolean;
  readonly gzip: boolean;
  /** The script starts with `t`: each line the directory receives begins with its label. */
  readonly labelled: boolean;
}

const NO_EXTRAS: Omit<LogdirExtras, 'labelled'> = { header: false, rotateSec: 0, totalBytes: 0, json: false, gzip: false };

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, k: 1024, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "N" + optional unit from `units`; null when malformed. */
function scanAmount(v: string, units: string): number | null {
  const m = /^([0-9]{1,15})([a-zA-Z]?)$/.exec(v);
  if (!m || (m[2] !== '' && !units.includes(m[2]!))) return null;
  return Number(m[1]) * UNITS[m[2]!]!;
}

/**
 * Applies one `%` directive to `cur`; returns the new settings, or null when the directive is unknown or
 * its value malformed.
 */
export function applyDirective(cur: Omit<LogdirExtras, 'labelled'>, arg: string): Omit<LogdirExtras, 'labelled'> | null {
  const eq = arg.indexOf('=');
  const key = eq < 0 ? arg.slice(1) : arg.slice(1, eq);
  const val = eq < 0 ? null : arg.slice(eq + 1);
  if (val === null) {
    switch (key) {
      case 'header':
      case 'noheader':
        return { ...cur, header: key === 'header' };
      case 'json':
      case 'text':
        return { ...cur, json: key === 'json' };
      case 'gzip':
      case 'nogzip':
        return { ...cur, gzip: key === 'gzip' };
      default:
        return null;
    }
  }
  if (key === 'rotate') {
    const n = scanAmount(val, 'smhd');
    return n === null ? null : { ...cur, rotateSec: n };
  }
  if (key === 'total') {
    const n = scanAmount(val, 'kKMG');
    return n === null ? null : { ...cur, totalBytes: n };
  }
  return null;
}

export type Action =
  | { readonly kind: 'select'; readonly pattern: string; readonly test: Matcher }
  | { readonly kind: 'deselect'; readonly pattern: string; readonly test: Matcher }
  | { readonly kind: 'stderr' }
  | { readonly kind: 'status'; readonly file: string; readonly index: number }
  | { readonly kind: 'logdir'; readonly index: number };

export interface Script {
  readonly timestamp: boolean;
  readonly actions: readonly Action[];
  readonly logdirs: readonly LogdirSpec[];
  /** `=file` names in script order (index = Action.index). */
  readonly statusFiles: readonly string[];
  /** True when every line goes to every logdir and nothing else (no +, -, e, =): the fast path. */
  readonly trivial: boolean;
  /** `%` directives that were not understood (ignored); absent when there is none. */
  readonly unknown?: readonly string[];
}

const U64 = 1n << 64n;

/**
 * djb scan_ulong: leading decimal digits, stopping at the first non-digit; no digits is 0. The value wraps
 * modulo 2^64 as C's unsigned long does.
 */
export function scanUlong(s: string): bigint {
  let v = 0n;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    v = (v * 10n + BigInt(c)) % U64;
  }
  return v;
}

/** `sSIZE` clamped to [4096, 16777215]. */
export function parseSize(arg: string): number {
  const v = scanUlong(arg);
  if (v < BigInt(MIN_SIZE)) return MIN_SIZE;
  if (v > BigInt(MAX_SIZE)) return MAX_SIZE;
  return Number(v);
}

/** `nNUM`, at least 2. Values beyond 2^53 only ever compare as "more files than exist". */
export function parseNum(arg: string): number {
  const v = scanUlong(arg);
  if (v < BigInt(MIN_NUM)) return MIN_NUM;
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** Argument bytes: Node gives us argv as UTF-8 strings. */
function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function parseScript(args: readonly string[]): Script {
  const timestamp = args.length > 0 && args[0]!.charCodeAt(0) === 116; // 't'
  const actions: Action[] = [];
  const logdirs: LogdirSpec[] = [];
  const statusFiles: string[] = [];
  let size = DEFAULT_SIZE;
  let num = DEFAULT_NUM;
  let processor: string | null = null;
  let trivial = true;
  let extras: Omit<LogdirExtras, 'labelled'> | null = null;
  const unknown: string[] = [];
  for (const arg of args) {
    switch (arg[0]) {
      case '+':
      case '-': {
        const pattern = arg.slice(1);
        const test = compilePattern(bytes(pattern));
        actions.push(arg[0] === '+' ? { kind: 'select', pattern, test } : { kind: 'deselect', pattern, test });
        trivial = false;
        break;
      }
      case 'e':
        actions.push({ kind: 'stderr' });
        trivial = false;
        break;
      case '=':
        actions.push({ kind: 'status', file: arg.slice(1), index: statusFiles.length });
        statusFiles.push(arg.slice(1));
        trivial = false;
        break;
      case 's':
        size = parseSize(arg.slice(1));
        break;
      case 'n':
        num = parseNum(arg.slice(1));
        break;
      case '!':
        processor = arg.slice(1);
        break;
      case '%': {
        const next = applyDirective(extras ?? NO_EXTRAS, arg);
        if (next === null) unknown.push(arg);
        else extras = next;
        break;
      }
      case '.':
      case '/':
        actions.push({ kind: 'logdir', index: logdirs.length });
        logdirs.push(extras === null ? { dir: arg, size, num, processor } : { dir: arg, size, num, processor, extras: { ...extras, labelled: timestamp } });
        break;
      default:
        break; // 't' (honoured only first, above) and anything unknown: ignored, as multilog does
    }
  }
  const script: Script = { timestamp, actions, logdirs, statusFiles, trivial };
  return unknown.length > 0 ? { ...script, unknown } : script;
}
