// glibc's local time, reimplemented: POSIX TZ strings, TZif v1/v2/v3 (built here byte by byte, and the
// zoneinfo copies in fixtures/tai64n/zoneinfo), and the outputs of Debian's tai64nlocal recorded in
// fixtures/tai64n/local-vectors.txt (make-local-vectors.mjs). Live comparisons are in test/e2e.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLabel } from '../../src/core/tai64n.js';
import { localtime, parsePosixTz, parseTzif, tzfileDefault, UTC, type Zone } from '../../src/core/tz.js';
import { formatLabelTime, formatOffset, toRfc3339 } from '../../src/core/tzlocal.js';
import { ROOT } from '../helpers/index.js';

// Property tests run with a fixed seed (deterministic runs); FC_SEED=<n> explores others.
const SEED = Number(process.env.FC_SEED ?? 20261122);

const FIX = join(ROOT, 'fixtures/tai64n');
const zoneFile = (name: string) => parseTzif(readFileSync(join(FIX, 'zoneinfo', name)))!;

/** The zone a TZ value names, resolved as io/zone.ts does but on the fixture files only. */
function fixtureZone(tz: string): Zone {
  if (tz.startsWith('zoneinfo/')) return zoneFile(tz.slice(9));
  return parsePosixTz(tz).zone;
}

// ---- a TZif writer, to build v1/v2/v3 files the system does not ship
interface TzifSpec {
  version: 0 | 2 | 3;
  transitions: number[];
  idx: number[];
  types: [offset: number, isdst: 0 | 1, abbr: number][];
  chars: string;
  leaps?: [number, number][];
  footer?: string;
}
function tzif(s: TzifSpec): Uint8Array {
  const block = (w: 4 | 8): number[] => {
    const out: number[] = [];
    const put = (v: number, n: number) => {
      let b = BigInt.asUintN(n * 8, BigInt(v));
      const bytes: number[] = [];
      for (let i = 0; i < n; i++, b >>= 8n) bytes.unshift(Number(b & 0xffn));
      out.push(...bytes);
    };
    const leaps = s.leaps ?? [];
    out.push(...Buffer.from('TZif'), s.version === 0 ? 0 : 48 + s.version, ...new Array(15).fill(0));
    for (const c of [0, 0, leaps.length, s.transitions.length, s.types.length, s.chars.length]) put(c, 4);
    for (const t of s.transitions) put(t, w);
    out.push(...s.idx);
    for (const [off, dst, abbr] of s.types) {
      put(off, 4);
      out.push(dst, abbr);
    }
    out.push(...Buffer.from(s.chars, 'latin1'));
    for (const [t, c] of leaps) {
      put(t, w);
      put(c, 4);
    }
    return out;
  };
  const bytes = block(4);
  if (s.version !== 0) bytes.push(...block(8), 10, ...Buffer.from(s.footer ?? ''), 10);
  return Uint8Array.from(bytes);
}

const tm = (z: Zone, t: number) => {
  const r = localtime(z, BigInt(t));
  return r && { ...r };
};
const iso = (z: Zone, t: number) => formatLabelTime(z, BigInt(t) + (1n << 62n) + 10n, 0, { rfc3339: true });

describe('POSIX TZ strings (glibc __tzset_parse_tz)', () => {
  it('parses std offset dst [offset] ,rule,rule with M, J and n rules and /time', () => {
    const ny = parsePosixTz('EST5EDT,M3.2.0,M11.1.0').zone.rules;
    expect([ny[0].name, ny[0].offset, ny[1].name, ny[1].offset]).toEqual(['EST', -18000, 'EDT', -14400]);
    expect([ny[0].type, ny[0].m, ny[0].n, ny[0].d, ny[0].secs]).toEqual([2, 3, 2, 0, 7200]);
    expect([ny[1].m, ny[1].n, ny[1].d]).toEqual([11, 1, 0]);
    const cet = parsePosixTz('CET-1CEST,M3.5.0,M10.5.0/3').zone.rules;
    expect([cet[0].offset, cet[1].offset, cet[1].secs]).toEqual([3600, 7200, 10800]);
    const j = parsePosixTz('XXX3YYY,J60/25,300/-3').zone.rules;
    expect([j[0].type, j[0].d, j[0].secs, j[1].type, j[1].d, j[1].secs]).toEqual([1, 60, 90000, 0, 300, -10800]);
  });

  it('parses <quoted> names, hh:mm:ss offsets, v3 negative and > 24 h rule times', () => {
    expect(parsePosixTz('<+0330>-3:30').zone.rules.map((r) => [r.name, r.offset])).toEqual([
      ['+0330', 12600],
      ['+0330', 12600],
    ]);
    expect(parsePosixTz('JST-9').zone.rules[0].offset).toBe(32400);
    expect(parsePosixTz('<-03>3<-02>,M3.5.0/-2,M10.5.0/-1').zone.rules.map((r) => r.secs)).toEqual([-7200, -3600]);
    expect(parsePosixTz('EST5EDT,M3.2.0/-1,M11.1.0/167:59:59').zone.rules[1].secs).toBe(167 * 3600 + 59 * 60 + 59);
    expect(parsePosixTz('AAA-1:2:3').zone.rules[0].offset).toBe(3723);
    expect(parsePosixTz('AAA99').zone.rules[0].offset).toBe(-24 * 3600); // hours clamp at 24
  });

  it('is UTC when nothing can be parsed, as glibc', () => {
    for (const bad of ['', 'XYZ', 'Europe', '/etc/passwd', '12', 'AB3', '<AB>3'])
      expect(parsePosixTz(bad).zone.rules.map((r) => r.offset), bad).toEqual([0, 0]);
  });

  it('asks for posixrules when a DST name has no rule, else falls back to the US rules', () => {
    const p = parsePosixTz('AAA3BBB');
    expect(p.wantsDefaultRules).toEqual({ stdName: 'AAA', dstName: 'BBB', stdOff: -10800, dstOff: -7200 });
    expect(p.zone.rules.map((r) => [r.m, r.n, r.d])).toEqual([
      [3, 2, 0],
      [11, 1, 0],
    ]);
    expect(parsePosixTz('EST5EDT,M3.2.0,M11.1.0').wantsDefaultRules).toBeNull();
  });

  it('computes DST switches, south and north, with glibc quirks for years <= 1970', () => {
    const z = parsePosixTz('EST5EDT,M3.2.0,M11.1.0').zone;
    // 2026-03-08 02:00 EST = 07:00 UTC
    expect(tm(z, Date.UTC(2026, 2, 8, 6, 59, 59) / 1000)!.gmtoff).toBe(-18000);
    expect(tm(z, Date.UTC(2026, 2, 8, 7, 0, 0) / 1000)!.gmtoff).toBe(-14400);
    // 2026-11-01 02:00 EDT = 06:00 UTC
    expect(tm(z, Date.UTC(2026, 10, 1, 5, 59, 59) / 1000)!.isdst).toBe(true);
    expect(tm(z, Date.UTC(2026, 10, 1, 6, 0, 0) / 1000)!.isdst).toBe(false);
    const south = parsePosixTz('AAA-10:30BBB-11,M10.1.0,M4.1.0/3').zone;
    expect(tm(south, Date.UTC(2026, 0, 15) / 1000)!.gmtoff).toBe(39600);
    expect(tm(south, Date.UTC(2026, 6, 15) / 1000)!.gmtoff).toBe(37800);
    // glibc counts the switches of a year <= 1970 from 1970-01-01, so a TZ string gives no DST before
    // 1970 (Debian's tai64nlocal: 1969-07-01 12:00 UTC is 07:00, 1970-07-01 12:00 UTC is 08:00).
    expect(tm(z, Date.UTC(1960, 6, 1, 12) / 1000)!.hour).toBe(7);
    expect(tm(z, Date.UTC(1969, 6, 1, 12) / 1000)!.hour).toBe(7);
    expect(tm(z, Date.UTC(1970, 6, 1, 12) / 1000)!.hour).toBe(8);
    expect(tm(z, Date.UTC(1971, 6, 1, 12) / 1000)!.hour).toBe(8);
  });
});

describe('TZif files (glibc __tzfile_read / __tzfile_compute)', () => {
  const spec: TzifSpec = {
    version: 2,
    transitions: [1000, 2000],
    idx: [1, 0],
    types: [
      [3600, 0, 0],
      [7200, 1, 4],
    ],
    chars: 'AAA\0BBB\0',
    footer: 'CCC-3',
  };

  it('reads v1 (4-byte times, no footer)', () => {
    const z = parseTzif(tzif({ ...spec, version: 0 }))!;
    expect(z.transitions).toEqual([1000, 2000]);
    expect(z.footer).toBeNull();
    expect(tm(z, 999)!.gmtoff).toBe(3600); // before the first: the first non-DST type
    expect(tm(z, 1000)!.gmtoff).toBe(7200);
    expect(tm(z, 1999)!.gmtoff).toBe(7200);
    expect(tm(z, 5000)!.gmtoff).toBe(3600); // after the last, no footer: the last type
  });

  it('reads v2/v3 (8-byte times) and uses the footer beyond the last transition', () => {
    for (const version of [2, 3] as const) {
      const z = parseTzif(tzif({ ...spec, version, transitions: [-(2 ** 40), 2000] }))!;
      expect(z.transitions[0]).toBe(-(2 ** 40));
      expect(z.footerText).toBe('CCC-3');
      expect(tm(z, 1999)!.gmtoff).toBe(7200);
      expect(tm(z, 2000)!.gmtoff).toBe(10800);
    }
    const v3 = parseTzif(tzif({ ...spec, version: 3, footer: '<-03>3<-02>,M3.5.0/-2,M10.5.0/-1' }))!;
    // 2026-03-28 22:00 local (-03) = 2026-03-29 01:00 UTC: DST begins at "-2:00" on the last Sunday
    expect(tm(v3, Date.UTC(2026, 2, 29, 0, 59, 59) / 1000)!.gmtoff).toBe(-10800);
    expect(tm(v3, Date.UTC(2026, 2, 29, 1, 0, 0) / 1000)!.gmtoff).toBe(-7200);
  });

  it('rejects what glibc rejects (then TZ is read as a POSIX string)', () => {
    const good = tzif(spec);
    expect(parseTzif(good)).not.toBeNull();
    expect(parseTzif(good.subarray(0, 40))).toBeNull(); // short header
    expect(parseTzif(Uint8Array.from([...Buffer.from('TZiX'), ...good.subarray(4)]))).toBeNull();
    expect(parseTzif(tzif({ ...spec, idx: [1, 5] }))).toBeNull(); // type index out of range
    expect(parseTzif(tzif({ ...spec, types: [[3600, 2, 0], [7200, 1, 4]] }))).toBeNull(); // isdst not 0/1
    expect(parseTzif(good.subarray(0, good.length - 8))).toBeNull(); // truncated v2 data
    expect(parseTzif(Buffer.from('root:x:0:0:root:/root:/bin/bash\n'))).toBeNull();
  });

  it('applies leap seconds (right/UTC) and shows 23:59:60', () => {
    const right = zoneFile('right-UTC');
    expect(right.leaps.length).toBe(27);
    // In right/ zones time_t counts leap seconds: 2017-01-01 00:00:00 UTC is 1483228800 + 26.
    const at = 1483228800 + 26;
    expect(iso(right, at - 1)).toBe('2016-12-31T23:59:59.000000000+00:00');
    expect(iso(right, at)).toBe('2016-12-31T23:59:60.000000000+00:00');
    expect(iso(right, at + 1)).toBe('2017-01-01T00:00:00.000000000+00:00');
  });

  it('shifts posixrules to the user offsets as Debian glibc 2.36 does', () => {
    const ny = zoneFile('New_York');
    const z = tzfileDefault(ny, -10800, -7200)!;
    expect(z.types.map((t) => t.offset)).toEqual([-10800, -7200]);
    // 1990: DST started 07:00 UTC in New York; under AAA3BBB glibc starts it at 09:00 and ends it unshifted.
    expect(tm(z, Date.UTC(1990, 3, 1, 8, 59) / 1000)!.isdst).toBe(false);
    expect(tm(z, Date.UTC(1990, 3, 1, 9, 0) / 1000)!.isdst).toBe(true);
    expect(tm(z, Date.UTC(1990, 9, 28, 5, 59) / 1000)!.isdst).toBe(true);
    expect(tm(z, Date.UTC(1990, 9, 28, 6, 0) / 1000)!.isdst).toBe(false);
  });
});

interface Vector {
  tz: string;
  label: string;
  out: string;
}
let vectorCache: Vector[] | undefined;
function readVectors(): Vector[] {
  return (vectorCache ??= readFileSync(join(FIX, 'local-vectors.txt'), 'latin1')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [tz, label, out] = l.split('\t');
      return { tz: tz!, label: label!, out: out! };
    }));
}

describe("Debian tai64nlocal's outputs (recorded vectors)", () => {
  const byTz = new Map<string, Vector[]>();
  for (const v of readVectors()) byTz.set(v.tz, [...(byTz.get(v.tz) ?? []), v]);
  it('has vectors for every kind of zone', () => expect(byTz.size).toBeGreaterThanOrEqual(14));
  for (const [tz, vs] of byTz) {
    it(`TZ=${tz || '(empty)'}: ${vs.length} labels byte-identical`, () => {
      const zone = tz === '' ? UTC : fixtureZone(tz);
      const wrong = vs.filter((v) => {
        const t = parseLabel(v.label)!;
        return formatLabelTime(zone, t.sec, t.nano) !== v.out;
      });
      expect(wrong.slice(0, 5)).toEqual([]);
    });
  }
});

describe('the calendar and RFC 3339', () => {
  it('agrees with Date for UTC and fixed offsets over +-270000 years (fast-check)', () => {
    const plus0330 = parsePosixTz('<+0330>-3:30').zone;
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15 / 1000 + 20000, max: 8.64e15 / 1000 - 20000 }), (t) => {
        const d = new Date(t * 1000);
        const u = tm(UTC, t)!;
        expect([u.year, u.mon, u.mday, u.hour, u.min, u.sec]).toEqual([
          d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(),
        ]);
        const l = tm(plus0330, t)!;
        const e = new Date((t + 12600) * 1000);
        expect([l.year, l.mon, l.mday, l.hour, l.min]).toEqual([
          e.getUTCFullYear(), e.getUTCMonth() + 1, e.getUTCDate(), e.getUTCHours(), e.getUTCMinutes(),
        ]);
      }),
      { numRuns: 3000, seed: SEED },
    );
  });

  it('returns null where glibc localtime fails (year beyond a C int)', () => {
    expect(localtime(UTC, 67768036191676799n)).not.toBeNull(); // 2147485547-12-31 23:59:59
    expect(localtime(UTC, 67768036191676800n)).toBeNull();
    expect(localtime(UTC, -67768040609740800n)!.year).toBe(-2147481748);
    expect(localtime(UTC, -67768040609740801n)).toBeNull();
    // ... and like tai64nlocal, the year is printed as fmt_ulong(1900 + tm_year) in C int arithmetic.
    expect(formatLabelTime(UTC, (1n << 62n) + 10n + 67768036191676799n, 0)).toBe('18446744071562069867-12-31 23:59:59.000000000');
    expect(localtime(UTC, -(2n ** 62n))).toBeNull();
  });

  it('prints RFC 3339 with nanoseconds, Z in UTC and the offset in local time', () => {
    const t = parseLabel('@400000006b02c12e10a72d0c')!;
    expect(toRfc3339(t)).toBe('2026-11-22T10:17:08.279391500Z');
    expect(toRfc3339(t, zoneFile('Berlin'))).toBe('2026-11-22T11:17:08.279391500+01:00');
    expect(toRfc3339(t, parsePosixTz('<+0330>-3:30').zone)).toBe('2026-11-22T13:47:08.279391500+03:30');
    expect(toRfc3339({ sec: parseLabel('@40000000386d438a00000000')!.sec + 22n, nano: 5 }, undefined, 's6')).toBe(
      '2000-01-01T00:00:00.000000005Z',
    );
    expect(formatOffset(-17762)).toBe('-04:56:02');
  });
});
