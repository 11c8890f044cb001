// The local zone's calendar for the time grammar (src/core/timespec.ts), by date-fns, and the local
// formatting of report times. The process's time zone (TZ) is read here, never in core.
// Subpath imports: the date-fns index loads every function it has (a few hundred ms of start-up).
import { format } from 'date-fns/format';
import { startOfDay } from 'date-fns/startOfDay';
import { addDays } from 'date-fns/addDays';
import { subDays } from 'date-fns/subDays';
import { parseTimeSpec, formatUtc, type LocalCalendar } from '../core/timespec.js';

const MS = 1000;

export const localCalendar: LocalCalendar = {
  fromLocal: (y, mo, d, h, mi, s) => new Date(y, mo - 1, d, h, mi, s).getTime() * MS,
  startOfDay: (us, days) => addDays(startOfDay(Math.floor(us / MS)), days).getTime() * MS,
  subDays: (us, days) => subDays(Math.floor(us / MS), days).getTime() * MS + (us % MS),
};

/** Parses a --since/--until value against the current time. */
export function parseTime(text: string, nowMicros: number): number {
  return parseTimeSpec(text, nowMicros, localCalendar);
}

/** `2026-11-22 11:17:08` in the local zone, or in UTC. */
export function timeFormatter(utc: boolean): (us: number) => string {
  if (utc) return (us) => formatUtc(us);
  return (us) => format(Math.floor(us / MS), 'yyyy-MM-dd HH:mm:ss');
}
