// multilog's script: every argument is one action (daemontools multilog.c), compiled once into arrays so
// that the per-line loop does no parsing. Pure.
//   t (first argument only)  prefix lines with a TAI64N label      sSIZE  size for later logdirs
//   +pattern / -pattern      select / deselect                     nNUM   file count for later logdirs
//   e                        selected lines to stderr              !proc  processor for later logdirs
//   =file                    status file                           ./dir, /dir  logdir
// Anything else is silently ignored, exactly like the real multilog (there is no usage error).
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
      case '.':
      case '/':
        actions.push({ kind: 'logdir', index: logdirs.length });
        logdirs.push({ dir: arg, size, num, processor });
        break;
      default:
        break; // 't' (honoured only first, above) and anything unknown: ignored, as multilog does
    }
  }
  return { timestamp, actions, logdirs, statusFiles, trivial };
}
