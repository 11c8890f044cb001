// The time grammar of `--since` / `--until` (shared by `upkeep report` and `upkeep tail`; documented in
// docs/time.md, the one place it is described). Pure: "now" and the local-zone calendar are parameters,
// so the parser never reads a clock or the process's time zone.
//
//   RFC 3339          2026-11-22T10:17:08Z, 2026-11-22T10:17:08.279391+01:00 (a space may replace the T)
//   local             2026-11-22, 2026-11-22 10:17, 2026-11-22 10:17:08 (the local zone)
//   relative (ago)    30s, 10m, 2h, 3d, and sums such as 1h30m; an optional trailing " ago"
//   words             now, today (local midnight), yesterday (the local midnight before)
//
// Times are UNIX microseconds (exact integers), like src/io/clock.ts.
import { civilFromDays, daysFromCivil } from './calendar.js';

/** The local zone's calendar, supplied by the caller (date-fns in src/io). All values are UNIX microseconds. */
export interface LocalCalendar {
  /** The instant of a local wall-clock time (month 1..12). */
  fromLocal(year: number, month: number, day: number, hour: number, minute: number, second: number): number;
  /** Local midnight of the day containing `micros`, moved by `days` calendar days (negative: earlier). */
  startOfDay(micros: number, days: number): number;
  /** `micros` minus `days` calendar days, keeping the local wall-clock time (DST-aware). */
  subDays(micros: number, days: number): number;
}

export class TimeSpecError extends Error {
  constructor(readonly text: string, reason: string) {
    super(`invalid time ${JSON.stringify(text)}: ${reason} (see docs/time.md)`);
    this.name = 'TimeSpecError';
  }
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ Tt](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const RELATIVE = /^(?:\d+(?:s|m|h|d))+(?: ago)?$/;
const UNIT_US: Record<string, number> = { s: 1e6, m: 60e6, h: 3600e6 };

/** Parses a time specification to UNIX microseconds. Throws TimeSpecError. */
export function parseTimeSpec(input: string, now: number, cal: LocalCalendar): number {
  const text = input.trim();
  if (text === '') throw new TimeSpecError(input, 'empty');
  if (text === 'now') return now;
  if (text === 'today') return cal.startOfDay(now, 0);
  if (text === 'yesterday') return cal.startOfDay(now, -1);
  let m = RFC3339.exec(text);
  if (m) {
    const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m![i]));
    checkFields(input, y!, mo!, d!, h!, mi!, s!);
    const frac = m[7] ? Math.floor(Number(m[7].padEnd(9, '0')) / 1000) : 0;
    let off = 0;
    if (!m[8]) {
      const oh = Number(m[10]);
      const om = Number(m[11]);
      if (oh > 23 || om > 59) throw new TimeSpecError(input, 'bad zone offset');
      off = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60e6;
    }
    return civilToMicros(y!, mo!, d!, h!, mi!, s!) + frac - off;
  }
  m = LOCAL.exec(text);
  if (m) {
    const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
    const h = m[4] ? Number(m[4]) : 0, mi = m[5] ? Number(m[5]) : 0, s = m[6] ? Number(m[6]) : 0;
    checkFields(input, y, mo, d, h, mi, s);
    return cal.fromLocal(y, mo, d, h, mi, s);
  }
  if (RELATIVE.test(text)) {
    let t = now;
    for (const part of text.replace(/ ago$/, '').matchAll(/(\d+)([smhd])/g)) {
      const n = Number(part[1]);
      if (!Number.isSafeInteger(n)) throw new TimeSpecError(input, 'number too large');
      if (part[2] === 'd') t = cal.subDays(t, n);
      else t -= n * UNIT_US[part[2]!]!;
    }
    return t;
  }
  throw new TimeSpecError(
    input,
    'expected RFC 3339, YYYY-MM-DD[ HH:MM[:SS]], a duration such as 30s, 10m, 2h, 3d, or now, today, yesterday',
  );
}

function checkFields(input: string, y: number, mo: number, d: number, h: number, mi: number, s: number): void {
  if (mo < 1 || mo > 12) throw new TimeSpecError(input, 'month out of range');
  if (d < 1 || d > daysInMonth(y, mo)) throw new TimeSpecError(input, 'day out of range');
  if (h > 23 || mi > 59 || s > 60) throw new TimeSpecError(input, 'time of day out of range');
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
}

export { civilFromDays, daysFromCivil };

/** UTC civil time -> UNIX microseconds. */
export function civilToMicros(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  return ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60e6 + s * 1e6;
}

const p2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** UNIX microseconds -> RFC 3339 UTC with microseconds: `2026-11-22T10:17:08.279391Z`. */
export function formatRfc3339Micros(micros: number): string {
  const sec = Math.floor(micros / 1e6);
  const us = micros - sec * 1e6;
  return `${formatUtc(sec * 1e6, 'T')}.${String(us).padStart(6, '0')}Z`;
}

/** UNIX microseconds -> RFC 3339 UTC to the second: `2026-11-22T10:17:08Z` (the report's JSON). */
export function formatRfc3339(micros: number): string {
  return `${formatUtc(micros, 'T')}Z`;
}

/** UNIX microseconds -> `2026-11-22 10:17:08` in UTC (the text report with --utc). */
export function formatUtc(micros: number, sep = ' '): string {
  const sec = Math.floor(micros / 1e6);
  const days = Math.floor(sec / 86400);
  let rem = sec - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const h = Math.floor(rem / 3600);
  rem -= h * 3600;
  const mi = Math.floor(rem / 60);
  return `${y}-${p2(mo)}-${p2(d)}${sep}${p2(h)}:${p2(mi)}:${p2(rem - mi * 60)}`;
}

const JOURNAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** The journal's own `time` field (RFC 3339 UTC, `Z`) -> UNIX microseconds; NaN when malformed. */
export function parseJournalTime(s: string): number {
  const m = JOURNAL_TIME.exec(s);
  if (!m) return NaN;
  const frac = m[7] ? Math.floor(Number(m[7].padEnd(9, '0')) / 1000) : 0;
  return civilToMicros(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + frac;
}

/** Seconds as a short human duration: `25ms`, `3.2s`, `45s`, `12m05s`, `3h02m`, `2d04h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  if (seconds > 0 && seconds < 0.95) return `${Math.max(1, Math.round(seconds * 1000))}ms`;
  if (seconds < 10) return `${Math.round(seconds * 10) / 10}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${p2(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${p2(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${p2(Math.floor((s % 86400) / 3600))}h`;
}
