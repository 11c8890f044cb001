import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSvstat, packStatus, unpackStatus, WANT_DOWN, WANT_NONE, WANT_UP, type Status } from '../../src/core/status.js';
import { TAI64_BASE } from '../../src/core/tai64n.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/ /g, ''), 'hex'));

describe('status record', () => {
  // Dumps observed with Debian's supervise (reference 3.3).
  it('unpacks a real daemontools dump (running, want up)', () => {
    const s = unpackStatus(bytes('40 00 00 00 6b 02 c4 25 11 c4 5c dc 43 77 00 00 00 75'))!;
    expect(s.pid).toBe(30531);
    expect(s.stamp.sec).toBe(0x400000006b02c425n);
    expect(s.stamp.nano).toBe(0x11c45cdc);
    expect(s.paused).toBe(0);
    expect(s.want).toBe(WANT_UP);
    expect(hex(packStatus(s))).toBe('40 00 00 00 6b 02 c4 25 11 c4 5c dc 43 77 00 00 00 75');
  });

  it('writes the pid little-endian and the want byte as u / d / 0', () => {
    const stamp = { sec: TAI64_BASE + 10n + 1_795_343_000n, nano: 123_456_500 };
    expect(hex(packStatus({ stamp, pid: 0x01020304, paused: 0, want: WANT_DOWN })).slice(36)).toBe('04 03 02 01 00 64');
    expect(hex(packStatus({ stamp, pid: 0, paused: 0, want: WANT_NONE })).slice(36)).toBe('00 00 00 00 00 00');
  });

  it('forces the paused byte to 0 when no pid runs (svc -p while down)', () => {
    const stamp = { sec: TAI64_BASE, nano: 500 };
    expect(packStatus({ stamp, pid: 0, paused: 1, want: WANT_DOWN })[16]).toBe(0);
    expect(packStatus({ stamp, pid: 7, paused: 1, want: WANT_DOWN })[16]).toBe(1);
  });

  it('rejects short records and reads the first 18 bytes of longer ones (runit 20-byte status)', () => {
    expect(unpackStatus(new Uint8Array(17))).toBeNull();
    const long = new Uint8Array(20);
    long[12] = 5;
    expect(unpackStatus(long)!.pid).toBe(5);
  });

  it('round-trips any record', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 0, max: 999_999_999 }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        (sec, nano, pid, paused, want) => {
          const s: Status = { stamp: { sec, nano }, pid, paused, want };
          const b = packStatus(s);
          expect(b.length).toBe(18);
          expect(unpackStatus(b)).toEqual(s);
        },
      ),
    );
  });
});

describe('svstat line', () => {
  const now = 1_795_343_000n;
  const at = (ago: bigint): { sec: bigint; nano: number } => ({ sec: TAI64_BASE + 10n + now - ago, nano: 500 });
  const cases: [string, Status, boolean, string][] = [
    ['running', { stamp: at(1n), pid: 30531, paused: 0, want: WANT_UP }, true, 'up (pid 30531) 1 seconds'],
    ['paused', { stamp: at(5n), pid: 30531, paused: 1, want: WANT_UP }, true, 'up (pid 30531) 5 seconds, paused'],
    ['down', { stamp: at(0n), pid: 0, paused: 0, want: WANT_DOWN }, true, 'down 0 seconds, normally up'],
    ['once', { stamp: at(2n), pid: 30650, paused: 0, want: WANT_NONE }, true, 'up (pid 30650) 2 seconds'],
    ['TERM ignored', { stamp: at(1n), pid: 1861, paused: 0, want: WANT_DOWN }, false, 'up (pid 1861) 1 seconds, normally down, want down'],
    ['want up', { stamp: at(5n), pid: 0, paused: 0, want: WANT_UP }, true, 'down 5 seconds, normally up, want up'],
    ['everything', { stamp: at(5n), pid: 123, paused: 1, want: WANT_DOWN }, false, 'up (pid 123) 5 seconds, normally down, paused, want down'],
    ['down file', { stamp: at(1n), pid: 0, paused: 0, want: WANT_DOWN }, false, 'down 1 seconds'],
    ['x byte prints nothing', { stamp: at(3n), pid: 0, paused: 0, want: 0x78 }, true, 'down 3 seconds, normally up'],
    ['future stamp', { stamp: at(-100n), pid: 0, paused: 0, want: WANT_UP }, false, 'down 0 seconds, want up'],
  ];
  for (const [name, s, normallyUp, line] of cases) {
    it(name, () => expect(formatSvstat(s, normallyUp, now)).toBe(line));
  }
});
