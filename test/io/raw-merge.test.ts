// The -o raw fast path (io/raw-merge.ts) against the general pass (Engine.pass), on the same files:
// the same bytes in the same order, for any mix of equal labels, unlabelled lines, label-only lines,
// JSON lines stamped by their "tai64n" field, empty files, a missing final newline, --since/--until,
// lines longer than the fast path's buffers and more lines than it scans ahead.
import fc from 'fast-check';
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Stamp } from '../../src/core/logline.js';
import { type DirReader, Engine, type Target, lineFilter } from '../../src/io/logdir-read.js';
import { RawMerge } from '../../src/io/raw-merge.js';
import { tmpdir } from '../helpers/index.js';

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');
const label = (sec: number, nano: number, upper = false): string => {
  const l = `@4000${hex(0x69000000 + sec, 12)}${hex(nano, 8)}`;
  return upper ? l.toUpperCase() : l;
};

// A stamp from a small range, so that equal stamps across and within sources are common.
const stampArb = fc.record({ sec: fc.integer({ min: 0, max: 5 }), nano: fc.constantFrom(0, 500, 1000) });
const lineArb = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(stampArb, fc.string({ maxLength: 12 })).map(([s, m]) => `${label(s.sec, s.nano)} ${m.replace(/\n/g, ' ')}`) },
  { weight: 1, arbitrary: stampArb.map((s) => label(s.sec, s.nano, true) + ' upper') },
  { weight: 1, arbitrary: stampArb.map((s) => label(s.sec, s.nano)) }, // the label alone
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }).map((m) => m.replace(/\n/g, ' ')) }, // no label
  { weight: 1, arbitrary: stampArb.map((s) => `@4000${hex(s.sec, 12)}zzzzzzzz not a label`) },
  { weight: 1, arbitrary: stampArb.map((s) => `{"time":"2026-01-01T00:00:00Z","tai64n":"${label(s.sec, s.nano)}","msg":"j"}`) },
  // a label with one byte changed (the kernel checks 8 digits at a time: every position, every byte)
  {
    weight: 2,
    arbitrary: fc
      .tuple(stampArb, fc.integer({ min: 0, max: 25 }), fc.integer({ min: 1, max: 255 }).filter((b) => b !== 10))
      .map(([s, at, b]) => {
        const l = `${label(s.sec, s.nano)} m`;
        return l.slice(0, at) + String.fromCharCode(b) + l.slice(at + 1);
      }),
  },
);
const fileArb = fc.record({ lines: fc.array(lineArb, { maxLength: 12 }), finalNewline: fc.boolean() });
const dirArb = fc.record({ archives: fc.array(fileArb, { maxLength: 3 }), current: fc.option(fileArb, { nil: undefined }) });
const boundArb = fc.option(stampArb.map((s): Stamp => ({ tai: 0x69000000 + s.sec, nano: s.nano })), { nil: null });

type DirSpec = { archives: { lines: string[]; finalNewline: boolean }[]; current?: { lines: string[]; finalNewline: boolean } };

function writeDirs(root: string, dirs: DirSpec[]): Target[] {
  rmSync(root, { recursive: true, force: true });
  return dirs.map((d, i) => {
    const dir = join(root, `s${i}`);
    mkdirSync(dir, { recursive: true });
    const text = (f: { lines: string[]; finalNewline: boolean }): string => f.lines.join('\n') + (f.finalNewline && f.lines.length > 0 ? '\n' : '');
    // archive names in increasing order, stamped within the lines' range (so --since skips some by name)
    d.archives.forEach((f, k) => writeFileSync(join(dir, `${label(k * 2, 0)}.s`), text(f)));
    if (d.current) writeFileSync(join(dir, 'current'), text(d.current));
    return { dir, service: `s${i}` };
  });
}

async function general(targets: Target[], since: Stamp | null, until: Stamp | null): Promise<Buffer> {
  const e = new Engine(targets, lineFilter({ since, until, re: null }), false, () => {}, !!(since || until));
  e.start(null, null, since, until);
  const out: Buffer[] = [];
  const emit = (r: DirReader): void => void out.push(Buffer.from(r.buf.subarray(r.ls, r.le)), Buffer.from('\n'));
  await e.pass(emit, () => false, async () => {});
  e.close();
  return Buffer.concat(out);
}

/** The fast path's bytes; `kernel` false: its JavaScript merge; `ran`: whether the kernel started / ended it. */
async function fast(targets: Target[], since: Stamp | null, until: Stamp | null, kernel = true): Promise<Buffer & { ran?: [boolean, boolean] }> {
  const e = new Engine(targets, lineFilter({ since, until, re: null }), false, () => {}, !!(since || until));
  e.start(null, null, since, until);
  const out: Buffer[] = [];
  const m = new RawMerge(e.readers, { since, until, write: async (d) => void out.push(Buffer.from(d)), stopped: () => false, kernel });
  const first = m.kernel;
  await m.pass();
  await m.drain();
  e.close();
  return Object.assign(Buffer.concat(out), { ran: [first, m.kernel] as [boolean, boolean] });
}

/**
 * The general pass and the fast path over the same directories, pass after pass (as -f runs them):
 * `both()` runs one pass of each; `want()`/`got()` are all they printed so far.
 */
function passPairs(targets: Target[], kernel = true) {
  const g = new Engine(targets, lineFilter({ since: null, until: null, re: null }), false, () => {}, false);
  const f = new Engine(targets, lineFilter({ since: null, until: null, re: null }), false, () => {}, false);
  g.start(null, null, null, null);
  f.start(null, null, null, null);
  const gotG: Buffer[] = [];
  const gotF: Buffer[] = [];
  const emit = (r: DirReader): void => void gotG.push(Buffer.from(r.buf.subarray(r.ls, r.le)), Buffer.from('\n'));
  const m = new RawMerge(f.readers, { since: null, until: null, write: async (d) => void gotF.push(Buffer.from(d)), stopped: () => false, kernel });
  return {
    m,
    both: async (): Promise<void> => {
      await g.pass(emit, () => false, async () => {});
      await m.pass();
    },
    want: (): string => Buffer.concat(gotG).toString('latin1'),
    got: (): string => Buffer.concat(gotF).toString('latin1'),
    close: (): void => {
      g.close();
      f.close();
    },
  };
}

describe('raw-merge', () => {
  it('gives the same bytes as the general pass (property)', async () => {
    const root = join(tmpdir(), 'p');
    await fc.assert(
      fc.asyncProperty(fc.array(dirArb, { minLength: 1, maxLength: 6 }), boundArb, boundArb, async (dirs, since, until) => {
        const targets = writeDirs(root, dirs);
        const want = await general(targets, since, until);
        const got = await fast(targets, since, until);
        expect(got.ran).toEqual([true, true]); // (the WebAssembly kernel, from start to end)
        expect(got.toString('latin1')).toEqual(want.toString('latin1'));
        expect((await fast(targets, since, until, false)).toString('latin1')).toEqual(want.toString('latin1'));
      }),
      { numRuns: 150 },
    );
  });

  it('one source, or one source at a time, over many regions and batches, with and without --since/--until', async () => {
    // (with one source every run ends where its region does: the batch must be flushed there too)
    const many = (tag: string, from: number): string[] => Array.from({ length: 40_000 }, (_, i) => `${label(from + Math.floor(i / 997), i)} ${tag} line ${i}`);
    const targets = writeDirs(join(tmpdir(), 'one'), [
      { archives: [{ lines: many('a', 0), finalNewline: true }], current: { lines: many('a', 50), finalNewline: true } },
      { archives: [], current: { lines: many('b', 200), finalNewline: true } },
    ]);
    for (const [ts, since, until] of [
      [targets.slice(0, 1), null, null],
      [targets.slice(0, 1), { tai: 0x69000000 + 20, nano: 0 }, null],
      [targets, null, { tai: 0x69000000 + 230, nano: 5 }],
      [targets, { tai: 0x69000000 + 10, nano: 0 }, { tai: 0x69000000 + 235, nano: 0 }],
    ] as [Target[], Stamp | null, Stamp | null][]) {
      const want = await general(ts, since, until);
      const got = await fast(ts, since, until);
      expect(got.ran).toEqual([true, true]);
      expect(want.length).toBeGreaterThan(2 * 262_144); // (more than two output regions)
      expect(got.equals(want)).toBe(true);
    }
  });

  it('a source that went out alone (no merge) hands the stamp of its last line to an unlabelled next one', async () => {
    const targets = writeDirs(join(tmpdir(), 'alone'), [
      { archives: [], current: { lines: [`${label(1, 0)} a0`, `${label(5, 0)} a1`], finalNewline: true } },
      { archives: [], current: { lines: [], finalNewline: false } },
    ]);
    const p = passPairs(targets);
    await p.both();
    appendFileSync(join(targets[0]!.dir, 'current'), 'a2 unlabelled\n'); // stamped 5, as a1
    appendFileSync(join(targets[1]!.dir, 'current'), `${label(3, 0)} b0\n`);
    await p.both();
    expect(p.m.kernel).toBe(true);
    expect(p.got()).toBe(p.want());
    expect(p.got().split('\n').slice(2, 4)).toEqual([`${label(3, 0)} b0`, 'a2 unlabelled']);
    p.close();
  });

  it.each([true, false])('a warning about removed files names the last line given (kernel %s)', async (kernel) => {
    const dir = join(tmpdir(), 'w');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'current'), `${label(5, 10)} a1\n${label(7, 10)} a2\n`);
    const warns: string[] = [];
    const e = new Engine([{ dir, service: 'w' }], lineFilter({ since: null, until: null, re: null }), false, (t) => warns.push(t), false);
    e.start(null, null, null, null);
    const m = new RawMerge(e.readers, { since: null, until: null, write: async () => {}, stopped: () => false, kernel });
    await m.pass();
    // two rotations, and the first archive removed before it was read
    renameSync(join(dir, 'current'), join(dir, `${label(8, 0)}.s`));
    writeFileSync(join(dir, 'current'), `${label(9, 10)} b1\n`);
    renameSync(join(dir, 'current'), join(dir, `${label(10, 0)}.s`));
    rmSync(join(dir, `${label(8, 0)}.s`));
    writeFileSync(join(dir, 'current'), '');
    e.readers[0]!.refresh();
    expect(warns.join('\n')).toContain(`lines written after ${label(7, 10)} and before the oldest remaining file may be missing`);
    e.close();
  });

  it('a source that ran out before the kernel handed the pass over stays out of that pass', async () => {
    // A: lines, then one longer than a region (the hand-over); C: lines between A's, so that batches fill
    // and are written before it; B runs out at once, and gets a line while the first batch is written:
    // that line comes with the next pass, as in the general pass
    const root = join(tmpdir(), 'handover');
    const a = [...Array.from({ length: 200 }, (_, i) => `${label(2, 2 * i)} a-${i}`), `${label(3, 0)} ${'x'.repeat(300_000)}`, `${label(4, 0)} a-end`];
    const c = Array.from({ length: 200 }, (_, i) => `${label(2, 2 * i + 1)} c-${i}`);
    const targets = writeDirs(root, [
      { archives: [], current: { lines: a, finalNewline: true } },
      { archives: [], current: { lines: [`${label(1, 5)} b0`], finalNewline: true } },
      { archives: [], current: { lines: c, finalNewline: true } },
    ]);
    const e = new Engine(targets, lineFilter({ since: null, until: null, re: null }), false, () => {}, false);
    e.start(null, null, null, null);
    const passes: string[][] = [[], []];
    let n = 0;
    let late = false;
    const m = new RawMerge(e.readers, {
      since: null,
      until: null,
      write: async (d) => {
        passes[n]!.push(d.toString('latin1'));
        if (!late) appendFileSync(join(targets[1]!.dir, 'current'), `${label(2, 7)} b-late\n`);
        late = true;
      },
      stopped: () => false,
    });
    expect(m.kernel).toBe(true);
    await m.pass();
    expect(m.kernel).toBe(false); // (handed over)
    n = 1;
    await m.pass();
    const first = passes[0]!.join('').split('\n').slice(0, -1).map((l) => l.slice(26, 33));
    expect(first).toEqual(['b0', ...Array.from({ length: 200 }, (_, i) => [`a-${i}`, `c-${i}`]).flat(), 'x'.repeat(7), 'a-end']);
    expect(passes[1]!.join('')).toBe(`${label(2, 7)} b-late\n`);
    e.close();
  });

  it('stamps past 2^32 seconds (the kernel holds them in two 32-bit halves), with --since/--until there', async () => {
    const big = (sec: number, nano: number, m: string): string => `@4000${hex(sec, 12)}${hex(nano, 8)} ${m}`;
    const t = 2 ** 32;
    const targets = writeDirs(join(tmpdir(), 'big-tai'), [
      { archives: [], current: { lines: [big(t - 1, 5, 'a1'), big(t, 0, 'a2'), big(t + 1, 7, 'a3'), big(3 * t + 2, 0, 'a4')], finalNewline: true } },
      { archives: [], current: { lines: [big(t - 1, 9, 'b1'), big(t, 0, 'b2'), big(2 * t, 1, 'b3')], finalNewline: true } },
    ]);
    for (const [since, until] of [
      [null, null],
      [{ tai: t, nano: 0 }, null],
      [{ tai: t - 1, nano: 6 }, { tai: 2 * t, nano: 1 }],
      [null, { tai: t, nano: 0 }],
    ] as [Stamp | null, Stamp | null][]) {
      const want = await general(targets, since, until);
      const got = await fast(targets, since, until);
      expect(got.ran).toEqual([true, true]);
      expect(got.toString()).toBe(want.toString());
      expect(want.length).toBeGreaterThan(0);
    }
  });

  it('lines longer than its 128 KiB buffers, and more lines than it scans ahead at once', async () => {
    const root = join(tmpdir(), 'big');
    const long = (n: number, c: string): string => c.repeat(n);
    const a = [label(0, 0) + ' ' + long(300_000, 'a'), label(1, 0) + ' short', label(3, 0) + ' ' + long(1_000_000, 'b'), 'unlabelled ' + long(140_000, 'c')];
    const b = Array.from({ length: 5000 }, (_, i) => `${label(Math.floor(i / 1000), i % 1000)} b${i}`);
    const c = Array.from({ length: 3000 }, (_, i) => `${label(2, i * 3)} c${i}`);
    const targets = writeDirs(root, [
      { archives: [{ lines: a, finalNewline: false }], current: { lines: b, finalNewline: true } },
      { archives: [], current: { lines: c, finalNewline: true } },
      { archives: [{ lines: b, finalNewline: true }], current: { lines: a, finalNewline: true } },
    ]);
    for (const [since, until] of [
      [null, null],
      [{ tai: 0x69000001, nano: 0 }, null],
      [null, { tai: 0x69000002, nano: 1500 }],
    ] as [Stamp | null, Stamp | null][]) {
      const want = await general(targets, since, until);
      const got = await fast(targets, since, until);
      expect(got.length).toBe(want.length);
      expect(got.equals(want)).toBe(true);
    }
    expect((await fast(targets, null, null)).length).toBeGreaterThan(2 * 1_440_000);
    // the kernel hands over to the JavaScript merge in the middle of a pass, at a line longer than its
    // region, and the output goes on from there
    const mid = writeDirs(join(tmpdir(), 'mid'), [
      { archives: [{ lines: c, finalNewline: true }], current: { lines: [...a, ...c], finalNewline: true } },
      { archives: [], current: { lines: b, finalNewline: true } },
    ]);
    const want = await general(mid, null, null);
    const got = await fast(mid, null, null);
    expect(got.ran).toEqual([true, false]);
    expect(got.equals(want)).toBe(true);
    expect((await fast(mid, null, null, false)).equals(want)).toBe(true);
  });

  it.each([true, false])('pass after pass (-f), with bytes appended in between, partial lines included: the same as the general pass (property; kernel %s)', async (kernel) => {
    const root = join(tmpdir(), 'f');
    // (which directory, its lines, where the last is cut, and lines for the next directory at once: a pass
    // then has two sources to merge, one of which may go on from a pass where it was alone)
    const appendArb = fc.array(fc.tuple(fc.nat(3), fc.array(lineArb, { maxLength: 5 }), fc.nat(40), fc.array(lineArb, { maxLength: 3 })), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(fc.array(dirArb, { minLength: 1, maxLength: 4 }), appendArb, async (dirs, appends) => {
        const targets = writeDirs(root, dirs.map((d) => ({ ...d, current: d.current ?? { lines: [], finalNewline: false } })));
        const p = passPairs(targets, kernel);
        expect(p.m.kernel).toBe(kernel);
        const both = async (): Promise<void> => {
          await p.both();
          expect(p.got()).toEqual(p.want());
        };
        await both();
        for (const [which, lines, cut, other] of appends) {
          // a few lines, the last one possibly cut short (its rest comes with the next append)
          const text = lines.map((l) => l + '\n').join('');
          const t = targets[which % targets.length]!;
          appendFileSync(join(t.dir, 'current'), text.slice(0, text.length - (cut % (text.length + 1))));
          if (other.length > 0) appendFileSync(join(targets[(which + 1) % targets.length]!.dir, 'current'), other.map((l) => l + '\n').join(''));
          await both();
          appendFileSync(join(t.dir, 'current'), text.slice(text.length - (cut % (text.length + 1))));
          await both();
        }
        p.close();
      }),
      { numRuns: 80 },
    );
  });
});
