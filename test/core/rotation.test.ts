// The pure rotation rules: write steps (the cut rule), retention victims (multilog's counting quirks),
// and the start-up recovery plan for every combination of current / processed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fullAfterWrite, recoveryPlan, retentionVictim, writeStep } from '../../src/core/rotation.js';

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Drives writeStep/fullAfterWrite over a stream as LogDir.write does, in flushes of the given sizes. */
function simulate(data: Buffer, size: number, flushes: number[]): Buffer[] {
  const files: Buffer[] = [];
  let cur: Buffer[] = [];
  let bytes = 0;
  const rotate = (): void => {
    files.push(Buffer.concat(cur));
    cur = [];
    bytes = 0;
  };
  let off = 0;
  let k = 0;
  while (off < data.length) {
    const to = Math.min(data.length, off + flushes[k++ % flushes.length]!);
    while (off < to) {
      if (bytes >= size) rotate();
      const n = writeStep(bytes, size, data, off, to);
      cur.push(data.subarray(off, off + n));
      bytes += n;
      off += n;
      if (fullAfterWrite(bytes, size, data[off - 1]!)) rotate();
    }
  }
  files.push(Buffer.concat(cur)); // current
  return files;
}

describe('rotation rule', () => {
  it('a long stretch without newline is cut at exactly s (s4096, 9000 L)', () => {
    const files = simulate(Buffer.alloc(9000, 'L'), 4096, [9000]);
    expect(files.map((f) => f.length)).toEqual([4096, 4096, 808]);
  });

  it('property: no file exceeds s; a file ends at a newline with >= s-2000 bytes, or is exactly s; nothing lost', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 4096, max: 12000 }),
        fc.array(fc.integer({ min: 1, max: 300000 }), { minLength: 1, maxLength: 5 }),
        (lens, size, flushes) => {
          const data = Buffer.concat(lens.map((n, i) => Buffer.concat([Buffer.alloc(n, 97 + (i % 26)), enc('\n')])));
          const files = simulate(data, size, flushes);
          expect(Buffer.concat(files).equals(data)).toBe(true);
          for (const f of files.slice(0, -1)) {
            expect(f.length).toBeLessThanOrEqual(size);
            if (f.length < size) {
              expect(f[f.length - 1]).toBe(10);
              expect(f.length).toBeGreaterThanOrEqual(size - 2000);
            }
          }
          expect(files[files.length - 1]!.length).toBeLessThanOrEqual(size);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('retentionVictim', () => {
  const names = (...n: string[]): Buffer[] => n.map(enc);
  const A = '@400000006b000000000000aa';
  const B = '@400000006b000000000000bb';
  const C = '@400000006b000000000000cc';

  it('keeps num-1 old files: deletes the smallest name while count >= num', () => {
    expect(retentionVictim(names('current', `${B}.s`, `${A}.s`, `${C}.s`), 3)).toBe(2);
    expect(retentionVictim(names('current', `${B}.s`, `${C}.s`), 3)).toBe(-1);
  });

  it('counts foreign @ names of 25+ bytes, ignores shorter ones', () => {
    expect(retentionVictim(names(`${B}.s`, '@0000000000000000000000000junk', '@short'), 2)).toBe(1);
    expect(retentionVictim(names(`${B}.s`, '@short', '@x'), 2)).toBe(-1);
  });

  it('names at or after @z are never the oldest while smaller ones exist', () => {
    const z = '@zzzzzzzzzzzzzzzzzzzzzzzzz';
    expect(retentionVictim(names(z, `${C}.s`), 2)).toBe(1);
    // only @z... names: multilog falls back to the "@z" prefix
    expect(retentionVictim(names(z, z + 'y'), 2)).toBe(0);
    // a name past @z that does not start with @z: the real one loops forever, we stop
    expect(retentionVictim(names('@{{{{{{{{{{{{{{{{{{{{{{{{{{', '@{{{{{{{{{{{{{{{{{{{{{{{{{x'), 2)).toBe(-1);
  });

  it('compares the first 25 bytes: .s and .u twins share a prefix', () => {
    expect(retentionVictim(names(`${A}.u`, `${A}.s`, `${B}.s`), 3)).toBe(0);
  });
});

describe('recoveryPlan', () => {
  it('a cleanly closed current is reopened and nothing else touched', () => {
    expect(recoveryPlan({ exists: true, userExec: true }, true)).toBeNull();
  });
  it.each([
    [{ exists: true, userExec: false }, false],
    [{ exists: false, userExec: false }, false],
    [{ exists: true, userExec: false }, true],
    [{ exists: false, userExec: false }, true],
  ])('unclean %j, processed complete=%s', (cur, processed) => {
    const ops = recoveryPlan(cur, processed)!.map((s) => ('file' in s ? `${s.op} ${s.file}${'code' in s ? '.' + s.code : ''}` : s.op));
    expect(ops).toEqual([
      'unlink state',
      'unlink newstate',
      ...(processed ? ['unlink previous', 'finish processed.s'] : ['unlink processed', 'finish previous.u']),
      'finish current.u',
      'create-state',
      'create-current',
    ]);
  });
});
