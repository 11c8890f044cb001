// TAI64N labels: known vectors (fixtures/tai64n/vectors.txt) and property tests for every round trip.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatLabel,
  fromUnix,
  LabelWriter,
  LEAP_SECONDS,
  pack,
  parseLabel,
  TAI64_BASE,
  taiOffset,
  toUnix,
  unpack,
  type Convention,
} from '../../src/core/tai64n.js';
import { ROOT } from '../helpers/index.js';

// Property tests run with a fixed seed (deterministic runs); FC_SEED=<n> explores others.
const SEED = Number(process.env.FC_SEED ?? 20261122);

const vectors = readFileSync(join(ROOT, 'fixtures/tai64n/vectors.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [label, conv, unix, nano] = l.split('\t');
    return { label: label!, conv: conv as Convention, unix: BigInt(unix!), nano: Number(nano) };
  });

const convention = fc.constantFrom<Convention>('daemontools', 's6');
// UNIX seconds from year ~ -290000 to +290000: what a label can carry and a Number can count exactly.
const unixSec = fc.bigInt({ min: -(1n << 43n), max: 1n << 43n });
const nano = fc.integer({ min: 0, max: 999_999_999 });

describe('TAI64N vectors', () => {
  it('has the vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(10));
  for (const v of vectors) {
    it(`${v.label} is UNIX ${v.unix}.${v.nano} (${v.conv})`, () => {
      expect(formatLabel(fromUnix(v.unix, v.nano, v.conv))).toBe(v.label);
      const t = parseLabel(v.label)!;
      expect(toUnix(t, v.conv)).toEqual({ sec: v.unix, nano: v.nano });
      expect(formatLabel(unpack(pack(t)))).toBe(v.label);
    });
  }

  it('knows daemontools documentation example and UNIX 0', () => {
    expect(toUnix(parseLabel('@4000000037c219bf2ef02e94')!)).toEqual({ sec: 935467445n, nano: 787492500 });
    expect(parseLabel('@4000000037c219bf2ef02e94')!.sec - TAI64_BASE).toBe(935467455n);
    expect(formatLabel(fromUnix(0n, 0))).toBe('@400000000000000a00000000');
  });

  it('puts s6 labels 27 s ahead of daemontools labels since 2017', () => {
    const t = 1_795_342_628n;
    expect(fromUnix(t, 0, 's6').sec - fromUnix(t, 0, 'daemontools').sec).toBe(27n);
    expect(taiOffset(Number(t), 's6')).toBe(37);
    expect(taiOffset(0, 's6')).toBe(10);
    expect(LEAP_SECONDS).toHaveLength(27);
  });

  it('packs into 12 big-endian bytes', () => {
    const b = pack(parseLabel('@4000000037c219bf2ef02e94')!);
    expect(Buffer.from(b).toString('hex')).toBe('4000000037c219bf2ef02e94');
  });

  it('rejects what is not "@" + 24 hex digits', () => {
    for (const s of ['', '@', '@400000000000000a0000000', '@400000000000000a000000000', '400000000000000a00000000x', '@400000000000000a0000000g'])
      expect(parseLabel(s)).toBeNull();
    expect(parseLabel('@4000000037C219BF2EF02E94')).toEqual(parseLabel('@4000000037c219bf2ef02e94'));
  });
});

describe('TAI64N round trips (fast-check)', () => {
  it('UNIX -> label -> UNIX, both conventions, nanoseconds exact', () => {
    fc.assert(
      fc.property(unixSec, nano, convention, (u, n, c) => {
        const label = formatLabel(fromUnix(u, n, c));
        expect(label).toMatch(/^@[0-9a-f]{24}$/);
        expect(toUnix(parseLabel(label)!, c)).toEqual({ sec: u, nano: n });
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('label <-> 12 bytes <-> label for any 96-bit value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 0xffffffff }), (sec, n) => {
        const t = { sec, nano: n };
        const label = formatLabel(t);
        expect(parseLabel(label)).toEqual(t);
        const bytes = pack(t);
        expect(bytes).toHaveLength(12);
        expect(unpack(bytes)).toEqual(t);
        expect(Buffer.from(bytes).toString('hex')).toBe(label.slice(1));
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('orders labels as it orders times (s6 included, across leap seconds)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 31n }), fc.bigInt({ min: 0n, max: 2n ** 31n }), convention, (a, b, c) => {
        const la = formatLabel(fromUnix(a, 0, c));
        const lb = formatLabel(fromUnix(b, 0, c));
        expect(Math.sign(la.localeCompare(lb))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it('LabelWriter writes what formatLabel does, nanoseconds = usec * 1000 + 500', () => {
    const w = { daemontools: new LabelWriter('daemontools'), s6: new LabelWriter('s6') };
    const buf = new Uint8Array(30);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 52 }), convention, (micros, c) => {
        w[c].write(buf, 2, micros);
        const sec = BigInt(Math.floor(micros / 1e6));
        const expected = formatLabel(fromUnix(sec, (micros % 1e6) * 1000 + 500, c));
        expect(Buffer.from(buf.subarray(2, 27)).toString('latin1')).toBe(expected);
      }),
      { numRuns: 3000, seed: SEED },
    );
  });
});
