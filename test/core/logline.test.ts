// Stored lines: labels, stamps, times and the four output formats, against Node's own Date and Buffer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LineFormatter, base64, civil, decodeUtf8, formatStamp, hasLabel, parseStamp, readStamp, rfc3339, stampUnix, takeStamp, unixStamp,
} from '../../src/core/logline.js';
import { formatLabel, fromUnix } from '../../src/core/tai64n.js';

const b = (s: string | number[]): Uint8Array => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Uint8Array.from(s));

describe('labels and stamps', () => {
  it('recognises "@" + 24 hex + space, or a bare label, and nothing else', () => {
    const l = '@400000006b02c12e10a72d0c';
    expect(hasLabel(b(`${l} x`), 0, 27)).toBe(true);
    expect(hasLabel(b(l), 0, 25)).toBe(true);
    expect(hasLabel(b(`${l}x`), 0, 26)).toBe(false);
    expect(hasLabel(b(`@400000006b02c12e10a72d0g x`), 0, 27)).toBe(false);
    expect(hasLabel(b(`@500000006b02c12e10a72d0c x`), 0, 27)).toBe(false);
    expect(hasLabel(b('hello world, this is not a label'), 0, 32)).toBe(false);
  });

  it('reads the same instant tai64n.ts formats, for any time (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 999_999_999 }), (sec, nano) => {
        const label = formatLabel(fromUnix(BigInt(sec), nano));
        const s = { tai: 0, nano: 0 };
        readStamp(b(label), 0, s);
        expect(s).toEqual({ tai: sec + 10, nano });
        expect(formatStamp(s)).toBe(label);
        expect(parseStamp(label)).toEqual(s);
        expect(stampUnix(s, 'daemontools')).toBe(sec);
      }),
    );
  });

  it('converts s6 (true TAI) stamps: 27 s ahead today, round trip', () => {
    const now = 1795342628;
    const s = unixStamp(now, 5, 's6');
    expect(s.tai - unixStamp(now, 5, 'daemontools').tai).toBe(27);
    expect(stampUnix(s, 's6')).toBe(now);
  });
});

describe('civil time', () => {
  it('matches Date for any day (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e6, max: 1e7 }), (days) => {
        const d = new Date(days * 86400e3);
        expect(civil(days)).toEqual([d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]);
      }),
    );
  });

  it('formats RFC 3339 UTC with nanoseconds or microseconds', () => {
    expect(rfc3339(1795342628, 279391500)).toBe('2026-11-22T10:17:08.279391500Z');
    expect(rfc3339(1795342628, 279391500, 6)).toBe('2026-11-22T10:17:08.279391Z');
    expect(rfc3339(0, 0, 0)).toBe('1970-01-01T00:00:00Z');
  });
});

describe('bytes', () => {
  it('base64 equals Buffer\'s (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
      expect(base64(a)).toBe(Buffer.from(a).toString('base64'));
    }));
  });

  it('tells invalid UTF-8 from a genuine U+FFFD', () => {
    expect(decodeUtf8(b([0x61, 0xff, 0x62]))).toEqual({ text: 'a\ufffdb', valid: false });
    expect(decodeUtf8(Buffer.from('a\ufffdb'))).toEqual({ text: 'a\ufffdb', valid: true });
    expect(decodeUtf8(Buffer.from('héllo'))).toEqual({ text: 'héllo', valid: true });
  });
});

describe('output formats', () => {
  const opts = { conv: 'daemontools' as const, host: 'h1', zone: () => 3600, color: false, serviceWidth: 5 };
  const line = b('@400000006b02c12e10a72d0c hello');
  const st = { tai: 0x6b02c12e, nano: 0x10a72d0c };
  const text = (f: LineFormatter, l = line, lab = true): string => Buffer.from(f.format('web', l, lab, st)).toString('latin1');

  it('raw is the stored line', () => {
    expect(text(new LineFormatter({ ...opts, format: 'raw' }))).toBe('@400000006b02c12e10a72d0c hello\n');
  });
  it('iso is RFC 3339 UTC with nanoseconds, service, message', () => {
    expect(text(new LineFormatter({ ...opts, format: 'iso' }))).toBe('2026-11-22T10:17:08.279391500Z web hello\n');
  });
  it('short is local time to the microsecond, padded service, message; "~" marks an inherited time', () => {
    const f = new LineFormatter({ ...opts, format: 'short' });
    expect(text(f)).toBe('2026-11-22 11:17:08.279391 web   hello\n');
    expect(text(f, b('no label'), false)).toBe('2026-11-22 11:17:08.279391~ web   no label\n');
  });
  it('json has time, tai64n, host, service, message; bad bytes also as base64', () => {
    const f = new LineFormatter({ ...opts, format: 'json' });
    expect(JSON.parse(text(f))).toEqual({
      time: '2026-11-22T10:17:08.279391500Z', tai64n: '@400000006b02c12e10a72d0c', host: 'h1', service: 'web', message: 'hello',
    });
    const bad = Uint8Array.from([...line.subarray(0, 26), 0x61, 0xc3, 0x28, 0x22]);
    const o = JSON.parse(Buffer.from(f.format('web', bad, true, st)).toString());
    expect(o.message).toBe('a\ufffd("');
    expect(Buffer.from(o.message_base64, 'base64')).toEqual(Buffer.from([0x61, 0xc3, 0x28, 0x22]));
    const un = JSON.parse(Buffer.from(f.format('web', b('plain'), false, st)).toString());
    expect(un.time_estimated).toBe(true);
    expect(un.message).toBe('plain');
  });
});

describe('takeStamp', () => {
  // takeStamp is the unrolled hot-path form of hasLabel + readStamp: the same lines, the same stamps.
  it('agrees with hasLabel + readStamp on any bytes near a label (property)', () => {
    const ch = fc.constantFrom(...'0123456789abcdefABCDEFgz@4 \n'.split(''));
    const text = fc.oneof(
      fc.tuple(fc.array(ch, { minLength: 21, maxLength: 21 }), fc.array(ch, { maxLength: 4 })).map(([d, rest]) => `@400${d.join('')}${rest.join('')}`),
      fc.array(ch, { maxLength: 30 }).map((c) => c.join('')),
      fc.tuple(fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }), fc.integer({ min: 0, max: 0xffffffff })).map(
        ([t, n]) => `@400${t.toString(16).padStart(13, '0')}${n.toString(16).padStart(8, '0')} x`,
      ),
    );
    fc.assert(
      fc.property(text, fc.nat(3), (t, pad) => {
        const b = Buffer.from(' '.repeat(pad) + t, 'latin1');
        const got = { tai: -1, nano: -1 };
        const ok = takeStamp(b, pad, b.length, got);
        expect(ok).toBe(hasLabel(b, pad, b.length));
        if (ok) {
          const want = { tai: 0, nano: 0 };
          readStamp(b, pad, want);
          expect(got).toEqual(want);
        } else expect(got).toEqual({ tai: -1, nano: -1 });
      }),
      { numRuns: 2000 },
    );
  });
});
