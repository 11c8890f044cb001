// A stored log line: its TAI64N label (when the writer used `t`), its message, and the four ways
// `upkeep tail` prints it (short, iso, raw, json). Pure: works on byte arrays, never on strings
// until a line is printed; the time zone is a parameter (a function the io layer supplies).
import { civilFromDays } from './calendar.js';
import { type Convention, taiOffset } from './tai64n.js';

/** Length of "@" + 24 hex + " ": the label prefix multilog `t`, svlogd -t and s6-log t write. */
export const LABEL_PREFIX = 26;

const HEXVAL = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEXVAL[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEXVAL[97 + i] = 10 + i;
  HEXVAL[65 + i] = 10 + i;
}

/**
 * A line's stamp as two exact Numbers, cheap to compare: `tai` = TAI seconds since 1970 (the label's
 * seconds field minus 2^62, its low 13 hex digits), `nano` = nanoseconds. Mutable, reused per line.
 */
export interface Stamp {
  tai: number;
  nano: number;
}

/** True when buf[start..end) starts with "@" + 24 hex digits + " " (or the line is exactly the label). */
export function hasLabel(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start < 25 || buf[start] !== 64) return false;
  if (end - start > 25 && buf[start + 25] !== 32) return false;
  for (let i = start + 1; i < start + 25; i++) if (HEXVAL[buf[i]!]! < 0) return false;
  // Top 3 digits of the seconds must be "400" (2^62 + a 52-bit count): anything else is not a real stamp.
  return buf[start + 1] === 52 && buf[start + 2] === 48 && buf[start + 3] === 48;
}

/** Reads the label at buf[start] (checked with hasLabel first) into `out`. */
export function readStamp(buf: Uint8Array, start: number, out: Stamp): void {
  let tai = 0;
  for (let i = start + 4; i < start + 17; i++) tai = tai * 16 + HEXVAL[buf[i]!]!;
  let nano = 0;
  for (let i = start + 17; i < start + 25; i++) nano = nano * 16 + HEXVAL[buf[i]!]!;
  out.tai = tai;
  out.nano = nano;
}

/**
 * hasLabel + readStamp in one pass (the reader's per-line hot path): true and `out` set when
 * buf[start..end) starts with a label, else false and `out` untouched.
 */
export function takeStamp(buf: Uint8Array, start: number, end: number, out: Stamp): boolean {
  if (end - start < 25 || buf[start] !== 64 || buf[start + 1] !== 52 || buf[start + 2] !== 48 || buf[start + 3] !== 48) return false;
  if (end - start > 25 && buf[start + 25] !== 32) return false;
  // Digits unrolled into small integers (int arithmetic; one floating-point step per field): ~25% less
  // than a digit loop in a double (-o raw merge, bench/tail.mjs).
  const H = HEXVAL;
  const t0 = H[buf[start + 4]!]!;
  const t1 = H[buf[start + 5]!]!;
  const t2 = H[buf[start + 6]!]!;
  const t3 = H[buf[start + 7]!]!;
  const t4 = H[buf[start + 8]!]!;
  const t5 = H[buf[start + 9]!]!;
  const t6 = H[buf[start + 10]!]!;
  const t7 = H[buf[start + 11]!]!;
  const t8 = H[buf[start + 12]!]!;
  const t9 = H[buf[start + 13]!]!;
  const t10 = H[buf[start + 14]!]!;
  const t11 = H[buf[start + 15]!]!;
  const t12 = H[buf[start + 16]!]!;
  const n0 = H[buf[start + 17]!]!;
  const n1 = H[buf[start + 18]!]!;
  const n2 = H[buf[start + 19]!]!;
  const n3 = H[buf[start + 20]!]!;
  const n4 = H[buf[start + 21]!]!;
  const n5 = H[buf[start + 22]!]!;
  const n6 = H[buf[start + 23]!]!;
  const n7 = H[buf[start + 24]!]!;
  if ((t0 | t1 | t2 | t3 | t4 | t5 | t6 | t7 | t8 | t9 | t10 | t11 | t12 | n0 | n1 | n2 | n3 | n4 | n5 | n6 | n7) < 0) return false;
  const hi = (t0 << 16) | (t1 << 12) | (t2 << 8) | (t3 << 4) | t4; // 5 digits: 20 bits
  const mid = (t5 << 12) | (t6 << 8) | (t7 << 4) | t8;
  const lo = (t9 << 12) | (t10 << 8) | (t11 << 4) | t12;
  out.tai = hi * 4294967296 + mid * 65536 + lo;
  out.nano = ((n0 << 12) | (n1 << 8) | (n2 << 4) | n3) * 65536 + ((n4 << 12) | (n5 << 8) | (n6 << 4) | n7);
  return true;
}

/** Compares two stamps: negative, zero or positive. */
export function compareStamp(a: Stamp, b: Stamp): number {
  return a.tai - b.tai || a.nano - b.nano;
}

/** Parses "@" + 24 hex into a Stamp (null when it is not a label). */
export function parseStamp(label: string): Stamp | null {
  const b = new Uint8Array(25);
  for (let i = 0; i < 25 && i < label.length; i++) b[i] = label.charCodeAt(i) & 0xff;
  if (label.length !== 25 || !hasLabel(b, 0, 25)) return null;
  const s = { tai: 0, nano: 0 };
  readStamp(b, 0, s);
  return s;
}

/** "@" + 24 lowercase hex for a Stamp. */
export function formatStamp(s: Stamp): string {
  return '@400' + s.tai.toString(16).padStart(13, '0') + s.nano.toString(16).padStart(8, '0');
}

/** UNIX seconds of a stamp under a label convention (daemontools: TAI - 10; s6: leap seconds applied). */
export function stampUnix(s: Stamp, conv: Convention): number {
  if (conv === 'daemontools') return s.tai - 10;
  let unix = s.tai - 10;
  // true TAI: subtract the leap seconds; taiOffset is monotonic so two passes settle it.
  unix = s.tai - taiOffset(unix, 's6');
  unix = s.tai - taiOffset(unix, 's6');
  return unix;
}

/** The stamp of a UNIX instant (seconds, nanoseconds) under a convention. */
export function unixStamp(unixSec: number, nano: number, conv: Convention): Stamp {
  return { tai: unixSec + taiOffset(unixSec, conv), nano };
}

/** Days since 1970-01-01 -> [year, month 1-12, day]. */
export const civil = civilFromDays;

function p2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** "YYYY-MM-DD?HH:MM:SS" for UNIX seconds shifted by `offsetSec`, with `sep` between date and time. */
export function formatCivil(unixSec: number, offsetSec: number, sep: string): string {
  const t = unixSec + offsetSec;
  const days = Math.floor(t / 86400);
  const rem = t - days * 86400;
  const [y, m, d] = civil(days);
  const hh = Math.floor(rem / 3600);
  const mm = Math.floor((rem % 3600) / 60);
  const ss = rem % 60;
  return `${String(y).padStart(4, '0')}-${p2(m)}-${p2(d)}${sep}${p2(hh)}:${p2(mm)}:${p2(ss)}`;
}

/** RFC 3339 UTC with `digits` fraction digits (9 = nanoseconds, 6 = microseconds, 0 = none). */
export function rfc3339(unixSec: number, nano: number, digits = 9): string {
  const base = formatCivil(unixSec, 0, 'T');
  if (digits === 0) return base + 'Z';
  return base + '.' + String(nano).padStart(9, '0').slice(0, digits) + 'Z';
}

/** A numeric time-zone offset "+01:00" for RFC 3339 local times. */
export function formatOffset(offsetSec: number): string {
  const sign = offsetSec < 0 ? '-' : '+';
  const a = Math.abs(offsetSec);
  return `${sign}${p2(Math.floor(a / 3600))}:${p2(Math.floor((a % 3600) / 60))}`;
}

export type OutputFormat = 'short' | 'iso' | 'raw' | 'json';

export interface FormatOptions {
  format: OutputFormat;
  conv: Convention;
  host: string;
  /** Local time offset (seconds east of UTC) at a UNIX second: only `short` uses it. */
  zone: (unixSec: number) => number;
  /** ANSI colours in `short`. */
  color: boolean;
  /** Width of the service column in `short`. */
  serviceWidth: number;
}

const COLORS = ['\x1b[36m', '\x1b[32m', '\x1b[33m', '\x1b[35m', '\x1b[34m', '\x1b[91m', '\x1b[92m', '\x1b[96m'];
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** A service's colour: a stable hash of its name into 8 ANSI colours. */
export function serviceColor(service: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < service.length; i++) h = Math.imul(h ^ service.charCodeAt(i), 0x01000193) >>> 0;
  return COLORS[h % COLORS.length]!;
}

const utf8 = new TextDecoder('utf-8');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const enc = new TextEncoder();

/** Decodes bytes as UTF-8; `valid` is false when some bytes were replaced by U+FFFD. */
export function decodeUtf8(b: Uint8Array): { text: string; valid: boolean } {
  const text = utf8.decode(b);
  if (!text.includes('\ufffd')) return { text, valid: true };
  try {
    utf8Strict.decode(b);
    return { text, valid: true }; // a genuine U+FFFD in the input
  } catch {
    return { text, valid: false };
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (RFC 4648 with padding). */
export function base64(b: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  if (i < b.length) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8);
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < b.length ? B64[(n >> 6) & 63]! : '=') + '=';
  }
  return s;
}

/**
 * Formats lines. One instance per run: caches the time prefix per second (most lines share one), so a
 * line costs a slice, a decode (iso/short/json) and a concatenation.
 */
export class LineFormatter {
  private cacheSec = NaN;
  private cacheText = '';
  private readonly svcCache = new Map<string, string>();
  constructor(private readonly o: FormatOptions) {}

  /**
   * One output line (with "\n") as bytes. `line` is the stored line without its "\n"; `labelled`
   * says whether it starts with a label; `stamp` is its own (or, unlabelled, its inherited) stamp.
   */
  format(service: string, line: Uint8Array, labelled: boolean, stamp: Stamp, exact = labelled): Uint8Array {
    const o = this.o;
    if (o.format === 'raw') {
      const out = new Uint8Array(line.length + 1);
      out.set(line);
      out[line.length] = 10;
      return out;
    }
    const j = labelled ? null : parseJsonLog(line);
    const msg = j ? j.msg : labelled ? line.subarray(line.length > 25 ? LABEL_PREFIX : 25) : line;
    return this.formatMessage(service, msg, stamp, exact, j?.continued === true);
  }

  /** One output line for a message (short, iso, json; `continued` marks a later piece in json). */
  formatMessage(service: string, msg: Uint8Array, stamp: Stamp, exact: boolean, continued = false): Uint8Array {
    const o = this.o;
    const unix = stampUnix(stamp, o.conv);
    // (no stamp at all: a log written without `t`, before any labelled line: no time to borrow)
    const unknown = !exact && stamp.tai === 0 && stamp.nano === 0;
    if (o.format === 'json') return enc.encode(this.json(service, msg, exact, stamp, unix, continued, unknown) + '\n');
    const text = decodeUtf8(msg).text;
    if (o.format === 'iso') {
      return enc.encode(`${unknown ? '-' : rfc3339(unix, stamp.nano)} ${service} ${text}\n`);
    }
    if (unknown) {
      const svc = service.padEnd(o.serviceWidth);
      return enc.encode(o.color ? `${DIM}${'-'.padEnd(27)}${RESET} ${serviceColor(service)}${svc}${RESET} ${text}\n` : `${'-'.padEnd(27)} ${svc} ${text}\n`);
    }
    // short: local time to the microsecond, the service column, the message.
    if (unix !== this.cacheSec) {
      this.cacheSec = unix;
      this.cacheText = formatCivil(unix, o.zone(unix), ' ');
    }
    const time = `${this.cacheText}.${String(Math.floor(stamp.nano / 1000)).padStart(6, '0')}${exact ? '' : '~'}`;
    const svc = service.padEnd(o.serviceWidth);
    if (!o.color) return enc.encode(`${time} ${svc} ${text}\n`);
    let c = this.svcCache.get(service);
    if (c === undefined) this.svcCache.set(service, (c = serviceColor(service)));
    return enc.encode(`${DIM}${time}${RESET} ${c}${svc}${RESET} ${text}\n`);
  }

  /** The JSON object of a line (no newline). */
  json(service: string, msg: Uint8Array, exact: boolean, stamp: Stamp, unix: number, continued = false, unknown = false): string {
    const { text, valid } = decodeUtf8(msg);
    let s = unknown ? '{"time":null,"tai64n":null,' : `{"time":"${rfc3339(unix, stamp.nano)}","tai64n":"${formatStamp(stamp)}",`;
    if (!exact) s += '"time_estimated":true,';
    if (continued) s += '"continued":true,';
    s += `"host":${JSON.stringify(this.o.host)},"service":${JSON.stringify(service)},"message":${JSON.stringify(text)}`;
    if (!valid) s += `,"message_base64":"${base64(msg)}"`;
    return s + '}';
  }
}

/**
 * The message part of a stored line: without its label and the space after it; for a `%json` line
 * (an unlabelled line that parseJsonLog accepts) the bytes of its "message" (exact, from
 * "message_base64", when it has one).
 */
export function messageOf(line: Uint8Array, labelled: boolean): Uint8Array {
  if (labelled) return line.subarray(line.length > 25 ? LABEL_PREFIX : 25);
  return parseJsonLog(line)?.msg ?? line;
}

const JSON_PREFIX = [123, 34, 116, 105, 109, 101, 34, 58, 34]; // {"time":"

/**
 * True when buf[s..e) starts like a `%json` log line ({"time":"...): the cheap per-line test. Lines are
 * recognised one by one (a directory may switch between %json and %text), never by directory.
 */
export function isJsonLogLine(buf: Uint8Array, s: number, e: number): boolean {
  if (e - s < 40) return false;
  for (let i = 0; i < JSON_PREFIX.length; i++) if (buf[s + i] !== JSON_PREFIX[i]) return false;
  return true;
}

/** A `%json` line's content: the message bytes, and whether it is a later piece of a split line, or a header. */
export interface JsonLog {
  msg: Uint8Array;
  continued: boolean;
  header: boolean;
}

/**
 * Parses a `%json` line (src/core/logfile-format.ts jsonLogLine/headerJsonLine): an object starting with
 * "time", with string "tai64n" and "message". Null for anything else (the line is then plain text).
 */
export function parseJsonLog(line: Uint8Array): JsonLog | null {
  if (!isJsonLogLine(line, 0, line.length)) return null;
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(line));
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const o = v as { tai64n?: unknown; message?: unknown; message_base64?: unknown; continued?: unknown; upkeep_header?: unknown };
  if (typeof o.tai64n !== 'string' || typeof o.message !== 'string') return null;
  const exact = typeof o.message_base64 === 'string' ? unbase64(o.message_base64) : null;
  return { msg: exact ?? enc.encode(o.message), continued: o.continued === true, header: o.upkeep_header === true };
}

const B64VAL = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64VAL['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/** Standard base64 (padding optional) to bytes; null when it is not base64. */
export function unbase64(t: string): Uint8Array | null {
  const s = t.replace(/=+$/, '');
  if (s.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const v = B64VAL[s.charCodeAt(i) & 0xff]!;
    if (v < 0 || s.charCodeAt(i) > 255) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** FNV-1a 32-bit of bytes, as 8 hex digits: identifies a line in a cursor. */
export function lineHash(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
