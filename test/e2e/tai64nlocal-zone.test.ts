// How io/zone.ts finds the zone (glibc's tzset rules), on the fixture zone files: TZ unset, empty, ':'
// prefixed, a name under TZDIR, an absolute path, a directory, a TZ string, posixrules present or not.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localtime, type Zone } from '../../src/core/tz.js';
import { loadZone } from '../../src/io/zone.js';
import { ROOT, tmpdir } from '../helpers/index.js';

const FIX = join(ROOT, 'fixtures/tai64n/zoneinfo');
const JULY = BigInt(Date.UTC(2026, 6, 1) / 1000);
const JAN = BigInt(Date.UTC(2026, 0, 1) / 1000);
const offsets = (z: Zone) => [localtime(z, JAN)!.gmtoff, localtime(z, JULY)!.gmtoff];

describe('loadZone', () => {
  const dir = () => {
    const d = tmpdir();
    cpSync(FIX, join(d, 'zoneinfo'), { recursive: true });
    mkdirSync(join(d, 'zoneinfo/Europe'));
    cpSync(join(FIX, 'Berlin'), join(d, 'zoneinfo/Europe/Berlin'));
    cpSync(join(FIX, 'right-UTC'), join(d, 'zoneinfo/Universal'));
    return { tzdir: join(d, 'zoneinfo'), tzdefault: join(d, 'zoneinfo/Lord_Howe') };
  };

  it('TZ unset: the default file (/etc/localtime); missing: UTC', () => {
    const p = dir();
    expect(offsets(loadZone({}, p))).toEqual([39600, 37800]);
    expect(offsets(loadZone({}, { ...p, tzdefault: join(p.tzdir, 'none') }))).toEqual([0, 0]);
  });

  it('TZ names a file under TZDIR (or the built-in directory), with or without a leading colon', () => {
    const p = dir();
    for (const tz of ['Europe/Berlin', ':Europe/Berlin', 'Berlin']) expect(offsets(loadZone({ TZ: tz }, p)), tz).toEqual([3600, 7200]);
    expect(offsets(loadZone({ TZ: 'New_York', TZDIR: FIX }, { ...p, tzdir: '/nonexistent' }))).toEqual([-18000, -14400]);
    expect(offsets(loadZone({ TZ: join(FIX, 'New_York') }, p))).toEqual([-18000, -14400]);
    expect(offsets(loadZone({ TZ: ':' + join(FIX, 'New_York') }, p))).toEqual([-18000, -14400]);
  });

  it('TZ empty is "Universal"; a directory, a missing file or garbage is read as a TZ string', () => {
    const p = dir();
    expect(loadZone({ TZ: '' }, p).kind).toBe('tzfile'); // our Universal is right/UTC: it has leap seconds
    expect((loadZone({ TZ: '' }, p) as { leaps: unknown[] }).leaps.length).toBe(27);
    expect(offsets(loadZone({ TZ: 'Europe' }, p))).toEqual([0, 0]);
    expect(offsets(loadZone({ TZ: ':' }, p))).toEqual([0, 0]);
    expect(offsets(loadZone({ TZ: 'garbage!' }, p))).toEqual([0, 0]);
    expect(offsets(loadZone({ TZ: 'JST-9' }, p))).toEqual([32400, 32400]);
    expect(offsets(loadZone({ TZ: 'CET-1CEST,M3.5.0,M10.5.0/3' }, p))).toEqual([3600, 7200]);
  });

  it('a DST name without rules uses posixrules when there is one, else the US rules', () => {
    const p = dir();
    const noRules = loadZone({ TZ: 'AAA3BBB' }, p);
    expect(noRules.kind).toBe('posix');
    expect(offsets(noRules)).toEqual([-10800, -7200]);
    cpSync(join(FIX, 'New_York'), join(p.tzdir, 'posixrules'));
    const withRules = loadZone({ TZ: 'AAA3BBB' }, p);
    expect(withRules.kind).toBe('tzfile');
    expect(offsets(withRules)).toEqual([-10800, -7200]);
  });
});
