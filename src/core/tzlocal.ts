// Formatting TAI64N labels as local (or UTC) time, the way Debian's tai64nlocal prints them, pure.
// "YYYY-MM-DD HH:MM:SS.NNNNNNNNN": the year is djb's fmt_ulong(1900 + tm_year) (so a negative C-int year
// prints as a 64-bit unsigned number), the other fields are zero-padded to 2, the nanoseconds to at least 9
// digits (a value >= 10^9 is printed as is). RFC 3339 (an upkeep extra) is
// "YYYY-MM-DDTHH:MM:SS.NNNNNNNNN" followed by "Z" (UTC) or the offset "+01:00" (local time).
import { fromUnix, TAI64_BASE, toUnix, type Convention } from './tai64n.js';
import { localtime, newTm, UTC, type Tm, type Zone } from './tz.js';

export interface LocalFormat {
  /** Use UTC instead of the zone (`--utc`). */
  utc?: boolean;
  /** RFC 3339 with nanoseconds (`--rfc3339`). */
  rfc3339?: boolean;
  /** How labels map to UNIX time (default daemontools: TAI = UNIX + 10 s). */
  convention?: Convention;
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));
const U64 = 1n << 64n;

/** fmt_ulong(1900 + tm_year): the C int sum, printed as an unsigned long. */
function djbYear(year: number): string {
  const y = year | 0;
  return y >= 0 ? String(y) : (U64 + BigInt(y)).toString();
}

/** "+01:00", "-04:56:02" (seconds only when the offset has them), for RFC 3339 in local time. */
export function formatOffset(gmtoff: number): string {
  const sign = gmtoff < 0 ? '-' : '+';
  const a = Math.abs(gmtoff);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const s = a % 60;
  return `${sign}${pad2(h)}:${pad2(m)}${s ? ':' + pad2(s) : ''}`;
}

/** The part of the output before the nanoseconds ("2026-11-22 10:17:08."), and after them ("Z", "+01:00", ""). */
export function formatTm(tm: Tm, rfc3339: boolean, utc: boolean): { head: string; tail: string } {
  const sep = rfc3339 ? 'T' : ' ';
  const year = rfc3339 ? String(tm.year).padStart(4, '0') : djbYear(tm.year);
  const head = `${year}-${pad2(tm.mon)}-${pad2(tm.mday)}${sep}${pad2(tm.hour)}:${pad2(tm.min)}:${pad2(tm.sec)}.`;
  const tail = !rfc3339 ? '' : utc ? 'Z' : formatOffset(tm.gmtoff);
  return { head, tail };
}

/** fmt_uint0(n, 9): decimal, zero-padded to at least 9 digits. */
export function formatNanos(nano: number): string {
  const s = String(nano);
  return s.length >= 9 ? s : '000000000'.slice(s.length) + s;
}

/** The UNIX seconds tai64nlocal converts for a label's 64-bit seconds field, as a C time_t (int64). */
export function labelUnixSeconds(sec: bigint, conv: Convention = 'daemontools'): bigint {
  if (conv === 'daemontools') return BigInt.asIntN(64, sec - TAI64_BASE - 10n);
  return BigInt.asIntN(64, toUnix({ sec, nano: 0 }, 's6').sec);
}

/**
 * localtime() of a label's seconds field. In the s6 convention a label can name an inserted leap second,
 * which UNIX time cannot: it is shown as second 60 of the minute before, as s6-tai64nlocal shows it.
 */
function labelTm(zone: Zone, sec: bigint, conv: Convention | undefined, out: Tm): Tm | null {
  const unix = labelUnixSeconds(sec, conv);
  if (conv !== 's6' || fromUnix(unix, 0, 's6').sec === sec) return localtime(zone, unix, out);
  const tm = localtime(zone, unix - 1n, out);
  if (tm) tm.sec += 1;
  return tm;
}

/**
 * Converts one label (seconds field and nanoseconds) to text; null where Debian's tai64nlocal would
 * crash (localtime() fails: the year does not fit a C int).
 */
export function formatLabelTime(zone: Zone, sec: bigint, nano: number, fmt: LocalFormat = {}): string | null {
  const tm = labelTm(fmt.utc ? UTC : zone, sec, fmt.convention, newTm());
  if (tm === null) return null;
  const { head, tail } = formatTm(tm, fmt.rfc3339 === true, fmt.utc === true);
  return head + formatNanos(nano) + tail;
}

/**
 * RFC 3339 with nanoseconds for a label: "2026-11-22T10:17:08.279391500Z" in UTC (no zone given), or
 * with the zone's offset ("+01:00") in local time. null when the year does not fit a C int.
 */
export function toRfc3339(t: { sec: bigint; nano: number }, zone?: Zone, conv: Convention = 'daemontools'): string | null {
  return formatLabelTime(zone ?? UTC, t.sec, t.nano, { rfc3339: true, utc: zone === undefined, convention: conv });
}

const HEXVAL = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEXVAL[48 + i] = i;
for (let i = 0; i < 6; i++) HEXVAL[97 + i] = 10 + i;

/** Value of a lowercase hex digit byte, or -1 (tai64nlocal accepts 0-9 a-f only). */
export function hexValue(c: number): number {
  return HEXVAL[c]!;
}

/**
 * Per-second cache for the hot path: the 16 seconds digits of the last label and the bytes of its
 * formatted head/tail, so that a stream of labels pays only for the 8 nanosecond digits per line.
 */
export class LabelFormatter {
  private readonly key = new Uint8Array(16);
  private valid = false;
  private ok = false;
  head: Uint8Array = new Uint8Array(0);
  tail: Uint8Array = new Uint8Array(0);
  private readonly tm = newTm();

  constructor(
    private readonly zone: Zone,
    private readonly fmt: LocalFormat = {},
  ) {}

  /**
   * Prepares head/tail for the seconds digits at b[off..off+16) (lowercase hex, already checked).
   * Returns false where Debian's tai64nlocal would crash (the line is then passed through).
   */
  load(b: Uint8Array, off: number): boolean {
    const key = this.key;
    if (this.valid) {
      let same = true;
      for (let i = 15; i >= 0; i--) {
        if (key[i] !== b[off + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.ok;
    }
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < 8; i++) hi = hi * 16 + HEXVAL[b[off + i]!]!;
    for (let i = 8; i < 16; i++) lo = lo * 16 + HEXVAL[b[off + i]!]!;
    for (let i = 0; i < 16; i++) key[i] = b[off + i]!;
    this.valid = true;
    const sec = (BigInt(hi) << 32n) | BigInt(lo);
    const tm = labelTm(this.fmt.utc ? UTC : this.zone, sec, this.fmt.convention, this.tm);
    if (tm === null) return (this.ok = false);
    const { head, tail } = formatTm(tm, this.fmt.rfc3339 === true, this.fmt.utc === true);
    this.head = latin1(head);
    this.tail = latin1(tail);
    return (this.ok = true);
  }
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
