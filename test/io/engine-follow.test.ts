// Engine.follow driven by fs.watch events alone (its poll set to an hour, so a lost wake-up fails the test
// instead of waiting for the poll): appends of whole and cut lines to several directories, through the
// -o raw fast path and through the general pass; a wake-up during a pass; stop(); a failing pass.
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirReader, Engine, type Target, lineFilter, startAll } from '../../src/io/logdir-read.js';
import { RawMerge } from '../../src/io/raw-merge.js';
import { tmpdir, waitFor } from '../helpers/index.js';

const HOUR = 3_600_000;
const L = (i: number, svc: string): string => `@4000${(0x69000000 + i).toString(16).padStart(12, '0')}00000000 ${svc} ${i}`;

function dirs(n: number): Target[] {
  const root = tmpdir();
  return Array.from({ length: n }, (_, i) => {
    const dir = join(root, `s${i}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'current'), '');
    return { dir, service: `s${i}` };
  });
}

const keepAll = lineFilter({ since: null, until: null, re: null });

/** Appends lines one at a time (every third cut in two writes), each awaited until `got()` shows it. */
async function appendEach(targets: Target[], got: () => string, count: number): Promise<string[]> {
  const want: string[] = [];
  for (let i = 1; i <= count; i++) {
    const t = targets[i % targets.length]!;
    const line = L(i, t.service) + '\n';
    want.push(line);
    if (i % 3 === 0) {
      appendFileSync(join(t.dir, 'current'), line.slice(0, 30));
      await new Promise((r) => setTimeout(r, 2));
      appendFileSync(join(t.dir, 'current'), line.slice(30));
    } else appendFileSync(join(t.dir, 'current'), line);
    await waitFor(() => got().length >= want.join('').length, `line ${i}`);
    expect(got()).toBe(want.join(''));
  }
  return want;
}

describe('Engine.follow', () => {
  it('the -o raw pass runs at each event: every appended line once, in order, cut lines whole (no poll)', async () => {
    const targets = dirs(3);
    const e = new Engine(targets, keepAll, false, () => {}, false);
    e.start(null, null, null, null);
    const out: Buffer[] = [];
    const m = new RawMerge(e.readers, { since: null, until: null, write: async (d) => void out.push(Buffer.from(d)), stopped: () => e.stopped });
    await m.pass();
    const following = e.follow(() => m.pass(), HOUR);
    await appendEach(targets, () => Buffer.concat(out).toString('latin1'), 30);
    e.stop();
    await following;
    e.close();
  });

  it('the general pass too, and a rotation is seen from its events', async () => {
    const targets = dirs(2);
    const e = new Engine(targets, keepAll, false, () => {}, true);
    e.start(null, null, null, null);
    const out: string[] = [];
    const emit = (r: DirReader): void => void out.push(r.buf.toString('latin1', r.ls, r.le) + '\n');
    const pass = (): Promise<void> => e.pass(emit, () => false, async () => {});
    await pass();
    const following = e.follow(pass, HOUR);
    const want = await appendEach(targets, () => out.join(''), 12);
    // rotation as multilog does it: current renamed to an archive, a new current
    const d = targets[0]!.dir;
    appendFileSync(join(d, 'current'), L(100, 's0') + '\n');
    renameSync(join(d, 'current'), join(d, '@400000006900000000000000.s'));
    writeFileSync(join(d, 'current'), L(101, 's0') + '\n');
    want.push(L(100, 's0') + '\n', L(101, 's0') + '\n');
    await waitFor(() => out.join('').length >= want.join('').length, 'the lines around the rotation');
    expect(out.join('')).toBe(want.join(''));
    e.stop();
    await following;
    e.close();
  });

  it('an event during a pass (still waiting for its write) brings one more pass after it; stop() waits for the pass', async () => {
    const [t] = dirs(1);
    const e = new Engine([t!], keepAll, false, () => {}, false);
    e.start(null, null, null, null);
    const out: Buffer[] = [];
    const m = new RawMerge(e.readers, { since: null, until: null, write: async (d) => void out.push(Buffer.from(d)), stopped: () => e.stopped });
    // each pass then waits until the test releases it (as a write to a full pipe waits for 'drain')
    const gates: (() => void)[] = [];
    const following = e.follow(async () => {
      await m.pass();
      await new Promise<void>((r) => gates.push(r));
    }, HOUR);
    await waitFor(() => gates.length === 1, 'the first pass (at the start of the follow)');
    appendFileSync(join(t!.dir, 'current'), L(1, 's0') + '\n'); // during the first pass: read by the second
    await new Promise((r) => setTimeout(r, 50));
    expect(out.length).toBe(0);
    gates[0]!();
    await waitFor(() => gates.length === 2, 'the second pass');
    expect(Buffer.concat(out).toString('latin1')).toBe(`${L(1, 's0')}\n`);
    let ended = false;
    void following.then(() => (ended = true));
    e.stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(ended).toBe(false); // the second pass is still waiting
    gates[1]!();
    await following;
    expect(gates.length).toBe(2); // no pass after stop()
    e.close();
  });

  it('stop() while idle ends the follow at once; a pass that throws ends it with the error', async () => {
    const [a] = dirs(1);
    const e1 = new Engine([a!], keepAll, false, () => {}, false);
    e1.start(null, null, null, null);
    const idle = e1.follow(async () => {}, HOUR);
    await new Promise((r) => setTimeout(r, 10));
    e1.stop();
    await idle;
    e1.close();
    const e2 = new Engine([a!], keepAll, false, () => {}, false);
    e2.start(null, null, null, null);
    let n = 0;
    const failing = e2.follow(async () => {
      if (++n > 1) throw new Error('disk on fire');
    }, HOUR);
    appendFileSync(join(a!.dir, 'current'), L(1, 's0') + '\n');
    await expect(failing).rejects.toThrow('disk on fire');
    expect(e2.stopped).toBe(true);
    e2.close();
  });
});

describe('DirReader following', () => {
  it('after a short read of current, reads again only at the next wake-up (rearm or refresh); not following, always', () => {
    for (const following of [true, false]) {
      const [t] = dirs(1);
      const cur = join(t!.dir, 'current');
      appendFileSync(cur, L(1, 'x') + '\n');
      const r = new DirReader(t!.dir, { service: 'x', rank: 0 });
      r.following = following;
      startAll(r, {});
      const seen: string[] = [];
      const drain = (): void => {
        while (r.next()) seen.push(r.buf.toString('latin1', r.ls, r.le));
      };
      drain();
      appendFileSync(cur, L(2, 'x') + '\n');
      drain();
      expect(seen.length).toBe(following ? 1 : 2);
      r.rearm();
      drain();
      appendFileSync(cur, L(3, 'x') + '\n');
      r.refresh();
      drain();
      expect(seen.map((l) => l.split(' ')[2])).toEqual(['1', '2', '3']);
      r.close();
    }
  });
});

describe('archives that change name or are made again (processors)', () => {
  it('an archive queued as @x.u and replaced by its processed @x.s before it is opened is read from @x.s', async () => {
    const root = tmpdir();
    const d = join(root, 'u');
    mkdirSync(d);
    writeFileSync(join(d, '@400000006900000100000000.s'), L(1, 'u') + '\n');
    writeFileSync(join(d, '@400000006900000200000000.u'), L(2, 'u') + '\n' + L(3, 'u') + '\n');
    writeFileSync(join(d, 'current'), L(4, 'u') + '\n');
    const warns: string[] = [];
    const e = new Engine([{ dir: d, service: 'u' }], keepAll, false, (w) => warns.push(w), false);
    e.start(null, null, null, null); // (queued by name)
    // svlogd's processor finishes: its output under the .s name, the .u removed
    writeFileSync(join(d, '@400000006900000200000000.s'), L(2, 'u') + '\n' + L(3, 'u') + '\n');
    renameSync(join(d, '@400000006900000200000000.u'), join(root, 'gone'));
    const out: string[] = [];
    await e.pass((r) => void out.push(r.buf.toString('latin1', r.ls, r.le)), () => false, async () => {});
    expect(out).toEqual([1, 2, 3, 4].map((i) => L(i, 'u')));
    expect(warns).toEqual([]);
    e.close();
  });

  it('two processed archives of equal bytes: each matches one file read (no crash, nothing read twice)', async () => {
    // multilog !cat on a log repeating itself: previous -> processed -> @x.s, twice, while the reader sleeps
    const d = join(tmpdir(), 'p');
    mkdirSync(d);
    const same = 'same 1\nsame 2\nsame 3\n';
    writeFileSync(join(d, 'current'), same);
    const warns: string[] = [];
    const e = new Engine([{ dir: d, service: 'p' }], keepAll, false, (w) => warns.push(w), false);
    e.start(null, null, null, null);
    const out: string[] = [];
    const pass = (): Promise<void> => e.pass((r) => void out.push(r.buf.toString('latin1', r.ls, r.le)), () => false, async () => {});
    await pass();
    renameSync(join(d, 'current'), join(d, 'previous'));
    writeFileSync(join(d, 'current'), same);
    e.readers[0]!.refresh();
    await pass(); // previous read to its end (pending), the new current read
    expect(out).toEqual(['same 1', 'same 2', 'same 3', 'same 1', 'same 2', 'same 3']);
    writeFileSync(join(d, 'processed'), same);
    renameSync(join(d, 'processed'), join(d, '@400000006000000000000001.s'));
    rmSync(join(d, 'previous'));
    renameSync(join(d, 'current'), join(d, 'previous'));
    writeFileSync(join(d, 'current'), 'other\n');
    writeFileSync(join(d, 'processed'), same);
    renameSync(join(d, 'processed'), join(d, '@400000006000000000000002.s'));
    rmSync(join(d, 'previous'));
    e.readers[0]!.refresh();
    await pass();
    expect(out).toEqual(['same 1', 'same 2', 'same 3', 'same 1', 'same 2', 'same 3', 'other']);
    expect(warns).toEqual([]);
    e.close();
  });
});
