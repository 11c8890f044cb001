// daemontools' supervise/status record (18 bytes) and the svstat line, pure.
// Layout (supervise.c announce()): 12 bytes TAI64N of the last pid change, 4 bytes pid little-endian,
// 1 byte paused flag (only when a pid is running), 1 byte want: 'u', 'd' or 0 (once).
import { pack as packTai, unpack as unpackTai, TAI64_BASE, type Tai64n } from './tai64n.js';

export const STATUS_SIZE = 18;

export const WANT_UP = 0x75; // 'u'
export const WANT_DOWN = 0x64; // 'd'
export const WANT_NONE = 0x00; // after `svc -o`

/** One status record. `paused` and `want` keep the raw byte values, so foreign files round-trip. */
export interface Status {
  readonly stamp: Tai64n;
  readonly pid: number;
  readonly paused: number;
  readonly want: number;
}

/** 18 bytes, exactly as daemontools writes them. The paused byte is forced to 0 when no pid runs. */
export function packStatus(s: Status, out: Uint8Array = new Uint8Array(STATUS_SIZE)): Uint8Array {
  packTai(s.stamp, out, 0);
  const pid = s.pid >>> 0;
  out[12] = pid & 0xff;
  out[13] = (pid >>> 8) & 0xff;
  out[14] = (pid >>> 16) & 0xff;
  out[15] = (pid >>> 24) & 0xff;
  out[16] = s.pid !== 0 ? s.paused & 0xff : 0;
  out[17] = s.want & 0xff;
  return out;
}

/** Reads the first 18 bytes (longer files, e.g. runit's 20-byte status, are fine); null when shorter. */
export function unpackStatus(b: Uint8Array): Status | null {
  if (b.length < STATUS_SIZE) return null;
  const pid = (b[12]! | (b[13]! << 8) | (b[14]! << 16) | (b[15]! << 24)) >>> 0;
  return { stamp: unpackTai(b, 0), pid, paused: b[16]!, want: b[17]! };
}

/**
 * The text svstat prints after "DIR: " for a status record, daemontools-exact:
 * `up (pid P) S seconds[, normally down][, paused][, want down]` or
 * `down S seconds[, normally up][, want up]`. `nowUnixSec` is time() (whole seconds); S is never negative.
 */
export function formatSvstat(s: Status, normallyUp: boolean, nowUnixSec: bigint): string {
  const now = TAI64_BASE + 10n + nowUnixSec;
  const secs = now > s.stamp.sec ? now - s.stamp.sec : 0n;
  if (s.pid !== 0) {
    let line = `up (pid ${s.pid}) ${secs} seconds`;
    if (!normallyUp) line += ', normally down';
    if (s.paused !== 0) line += ', paused';
    if (s.want === WANT_DOWN) line += ', want down';
    return line;
  }
  let line = `down ${secs} seconds`;
  if (normallyUp) line += ', normally up';
  if (s.want === WANT_UP) line += ', want up';
  return line;
}
