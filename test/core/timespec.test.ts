import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  civilFromDays, daysFromCivil, formatDuration, formatRfc3339, formatRfc3339Micros, parseJournalTime, parseTimeSpec,
  TimeSpecError, type LocalCalendar,
} from '../../src/core/timespec.js';

// A fixed-offset "local zone" (UTC+01:00), so the tests do not depend on the machine's TZ.
const OFF = 3600e6;
const plusOne: LocalCalendar = {
  fromLocal: (y, mo, d, h, mi, s) => Date.UTC(y, mo - 1, d, h, mi, s) * 1000 - OFF,
  startOfDay: (us, days) => {
    const local = us + OFF;
    return (Math.floor(local / 86400e6) + days) * 86400e6 - OFF;
  },
  subDays: (us, days) => us - days * 86400e6,
};
const NOW = Date.UTC(2026, 10, 22, 10, 17, 8) * 1000 + 279391; // 2026-11-22T10:17:08.279391Z
const utc = (s: string): number => Date.parse(s) * 1000;

describe('parseTimeSpec', () => {
  const table: [string, number][] = [
    ['now', NOW],
    ['today', utc('2026-11-21T23:00:00Z')],
    ['yesterday', utc('2026-11-20T23:00:00Z')],
    ['30s', NOW - 30e6],
    ['10m', NOW - 600e6],
    ['2h', NOW - 7200e6],
    ['3d', NOW - 3 * 86400e6],
    ['1h30m', NOW - 5400e6],
    ['2h ago', NOW - 7200e6],
    ['2026-11-22T10:17:08Z', utc('2026-11-22T10:17:08Z')],
    ['2026-11-22t10:17:08z', utc('2026-11-22T10:17:08Z')],
    ['2026-11-22 10:17:08Z', utc('2026-11-22T10:17:08Z')],
    ['2026-11-22T10:17:08.279391Z', utc('2026-11-22T10:17:08Z') + 279391],
    ['2026-11-22T10:17:08.5+02:00', utc('2026-11-22T08:17:08Z') + 500000],
    ['2026-11-22T10:17:08-05:30', utc('2026-11-22T15:47:08Z')],
    ['2024-02-29T00:00:00Z', utc('2024-02-29T00:00:00Z')],
    ['2026-11-22', utc('2026-11-21T23:00:00Z')],
    ['2026-11-22 10:17', utc('2026-11-22T09:17:00Z')],
    ['2026-11-22 10:17:08', utc('2026-11-22T09:17:08Z')],
    ['  now  ', NOW],
  ];
  for (const [text, want] of table) {
    it(`parses ${JSON.stringify(text)}`, () => expect(parseTimeSpec(text, NOW, plusOne)).toBe(want));
  }
  for (const bad of ['', 'tomorrow', '5x', '-3d', '2026-13-01', '2026-02-30', '2025-02-29T00:00:00Z', '2026-11-22T25:00:00Z',
    '2026-11-22T10:17:08+24:00', '2026-11-22 10', '10:17', 'now-1h', '3 d']) {
    it(`rejects ${JSON.stringify(bad)}`, () => expect(() => parseTimeSpec(bad, NOW, plusOne)).toThrow(TimeSpecError));
  }
  it('names docs/time.md in its error', () => {
    expect(() => parseTimeSpec('soon', NOW, plusOne)).toThrow(/docs\/time\.md/);
  });
});

describe('civil calendar', () => {
  it('round-trips days and agrees with Date.UTC', () => {
    fc.assert(
      // Date.UTC reads years 0..99 as 1900..1999: stay after year 327 (day -600 000).
      fc.property(fc.integer({ min: -600_000, max: 1_000_000 }), (z) => {
        const [y, m, d] = civilFromDays(z);
        expect(daysFromCivil(y, m, d)).toBe(z);
        expect(Date.UTC(y, m - 1, d) / 86400000).toBe(z);
      }),
      { seed: 20261122, numRuns: 2000 },
    );
  });
  it('formats and parses the journal time exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8_000_000_000_000_000 }), (us) => {
        const s = formatRfc3339Micros(us);
        expect(s).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        expect(parseJournalTime(s)).toBe(us);
        expect(s.slice(0, 19)).toBe(new Date(Math.floor(us / 1000)).toISOString().slice(0, 19));
      }),
      { seed: 20261122, numRuns: 2000 },
    );
  });
  it('formats to the second', () => {
    expect(formatRfc3339(NOW)).toBe('2026-11-22T10:17:08Z');
    expect(formatRfc3339Micros(NOW)).toBe('2026-11-22T10:17:08.279391Z');
  });
  it('rejects malformed journal times', () => {
    for (const s of ['2026-11-22T10:17:08', '2026-11-22 10:17:08Z', 'x']) expect(parseJournalTime(s)).toBeNaN();
  });
});

describe('formatDuration', () => {
  const table: [number, string][] = [[0, '0s'], [0.0004, '1ms'], [0.025, '25ms'], [0.96, '1s'], [3.2, '3.2s'], [45, '45s'], [725, '12m05s'], [10920, '3h02m'], [187200, '2d04h']];
  for (const [s, want] of table) it(`${s} -> ${want}`, () => expect(formatDuration(s)).toBe(want));
});
