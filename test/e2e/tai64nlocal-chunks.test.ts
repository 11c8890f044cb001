// tai64nlocal's line machine does not care where reads split the input (fast-check): any split of any
// input gives the output of the whole input in one read, and that output is Debian's line rule.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Converter } from '../../src/programs/tai64nlocal.js';
import { IN_BASE, IN_SIZE, Output } from '../../src/io/stdio-filter.js';
import { tmpdir } from '../helpers/index.js';

// Property tests run with a fixed seed (deterministic runs); FC_SEED=<n> explores others.
const SEED = Number(process.env.FC_SEED ?? 20261122);

let dir = '';
async function convert(input: Buffer, cuts: number[]): Promise<Buffer> {
  const file = join(dir, 'out');
  const fd = openSync(file, 'w');
  try {
    const out = new Output(fd);
    const conv = new Converter({ utc: true }, out);
    let prev = 0;
    for (const c of [...cuts.filter((x) => x > 0 && x < input.length).sort((a, b) => a - b), input.length]) {
      for (let off = prev; off < c; off += IN_SIZE) {
        const n = input.copy(out.buf, IN_BASE, off, Math.min(c, off + IN_SIZE));
        await conv.chunk(IN_BASE, IN_BASE + n);
      }
      prev = c;
    }
    conv.finish();
    out.flush();
  } finally {
    closeSync(fd);
  }
  return readFileSync(file);
}

const piece = fc.oneof(
  fc.constant('@400000006b02c12e10a72d0c'),
  fc.constant('@4000000037c219bf2ef02e94'),
  fc.constant('@3b9aca00'),
  fc.constant('@'),
  fc.constant('@ABCDEF'),
  fc.constant('\n'),
  fc.constant(' '),
  fc.constant('0123456789abcdef'),
  fc.string({ maxLength: 12 }),
);

describe('tai64nlocal line machine', () => {
  it('gives the same output however the input is split into reads', async () => {
    dir = tmpdir();
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.array(fc.nat(1000), { maxLength: 8 }), async (pieces, cuts) => {
        const input = Buffer.from(pieces.join(''), 'latin1');
        const whole = await convert(input, []);
        expect((await convert(input, cuts)).equals(whole)).toBe(true);
        expect((await convert(input, Array.from({ length: input.length }, (_, i) => i))).equals(whole)).toBe(true);
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it('converts 24-digit labels at line starts and leaves everything else alone', async () => {
    dir = tmpdir();
    const input = Buffer.from('@400000006b02c12e10a72d0c a\nx @400000006b02c12e10a72d0c\n@400000006b02c12e10a72d0cb\n@400000006b02c12e10a72d0c');
    expect((await convert(input, [3, 30, 60])).toString()).toBe(
      '2026-11-22 10:17:08.279391500 a\nx @400000006b02c12e10a72d0c\n@400000006b02c12e10a72d0cb\n',
    );
  });
});
