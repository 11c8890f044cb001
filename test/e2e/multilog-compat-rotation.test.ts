// upkeep multilog vs Debian's multilog: rotation (s), retention (n), processors (!), reopening a cleanly closed
// `current`. Where only multilog's 512-byte buffering decides the exact cut point, the old files + current are
// compared as one stream (labels masked) and every finished file of both runs must obey the rotation rule; with
// lines of 2048 bytes the cut points are forced (a file holds exactly two lines), so whole trees are compared.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { itWithPeer } from '../helpers/index.js';
import {
  type Case,
  type CompareOptions,
  type Outcome,
  Scratch,
  compareOutcomes,
  lineLabels,
  logStream,
  makeLines,
  oldFiles,
  prng,
  rotationProblems,
  runBoth,
  stampProblems,
  writeFile,
} from '../helpers/multilog-compare.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());
const peer = itWithPeer(['multilog']);

async function same(c: Case, tag: string, opts: CompareOptions = {}): Promise<[Outcome, Outcome]> {
  const [deb, cand] = await runBoth(scratch, c, tag);
  expect(compareOutcomes(deb, cand, opts), `${tag}: ${JSON.stringify(c.args).slice(0, 300)}`).toEqual([]);
  return [deb, cand];
}

/** Rotation: one stream compared, the rule checked on both runs (Debian's run validates the checker). */
async function rotates(c: Case, tag: string, dir: string, s: number, opts: { stamped?: boolean } = {}): Promise<[Outcome, Outcome]> {
  const [deb, cand] = await same(c, tag, { rotated: [dir] });
  for (const o of [deb, cand]) {
    expect(rotationProblems(o.entries, dir, s), `${o.impl.name}: rotation rule in ${dir}`).toEqual([]);
    if (opts.stamped) expect(stampProblems(lineLabels(logStream(o.entries, dir)), o.t0, o.t1), `${o.impl.name}: stamps`).toEqual([]);
    // Old-file names carry the moment each file was finished: sane daemontools labels, in order.
    const names = oldFiles(o.entries, dir).map((e) => e.name.split('/').pop()!.slice(0, 25));
    expect(stampProblems(names, o.t0, o.t1), `${o.impl.name}: old-file name labels`).toEqual([]);
  }
  expect(oldFiles(deb.entries, dir).length, 'the reference rotated at all').toBeGreaterThan(0);
  return [deb, cand];
}

const rnd = (seed: number, max: number): ((i: number) => number) => {
  const r = prng(seed);
  return () => Math.floor(r() * (max + 1));
};
const TWO_K = (count: number): Buffer => makeLines(count, () => 2047); // 2048-byte lines: 2 per file at s4096

describe('multilog vs Debian: rotation (s)', () => {
  peer.concurrent('s4096, lines of 0..300 bytes', async () => {
    await rotates({ args: ['s4096', 'n999', './d'], input: makeLines(600, rnd(1, 300)) }, 's4096', './d', 4096);
  });
  peer.concurrent('s4096 with t, lines of 0..300 bytes', async () => {
    await rotates({ args: ['t', 's4096', 'n999', './d'], input: makeLines(600, rnd(2, 300)) }, 's4096t', './d', 4096, { stamped: true });
  });
  peer.concurrent('s9999, lines of 0..5000 bytes (long lines), partial final line', async () => {
    const input = Buffer.concat([makeLines(60, rnd(3, 5000)), Buffer.from('partial final line')]);
    await rotates({ args: ['s9999', 'n999', './d'], input }, 's9999', './d', 9999);
  });
  peer.concurrent('s20000 with t, through a pipe', async () => {
    await rotates({ args: ['t', 's20000', 'n999', './d'], input: makeLines(900, rnd(4, 400)), feed: 'pipe' }, 's20000', './d', 20000, { stamped: true });
  });
  peer.concurrent('default s is 99999', async () => {
    await rotates({ args: ['n999', './d'], input: makeLines(3000, rnd(5, 200)) }, 'sdefault', './d', 99999);
  });
  peer.concurrent('a line longer than s is cut at exactly s', async () => {
    const input = Buffer.from(`before\n${'L'.repeat(9000)}\nafter\n${'M'.repeat(5000)}`, 'latin1');
    const [deb] = await rotates({ args: ['s4096', 'n999', './d'], input }, 'longer-than-s', './d', 4096);
    expect(oldFiles(deb.entries, './d').some((e) => e.data.length === 4096 && e.data[4095] !== 10)).toBe(true);
  });
  for (const [arg, s] of [['s100', 4096], ['sabc', 4096], ['s', 4096], ['s-5', 4096], ['s4096x', 4096], ['s4500', 4500]] as const)
    peer.concurrent(`${arg} means s${s}`, async () => {
      await rotates({ args: [arg, 'n999', './d'], input: makeLines(300, rnd(6, 200)) }, arg, './d', s);
    });
  peer.concurrent('s applies to the logdirs after it; several logdirs rotate independently', async () => {
    const c: Case = { args: ['n999', './big', 's4096', './small', '-a*', 's5000', './other'], input: makeLines(400, rnd(7, 120)) };
    const [deb, cand] = await same(c, 'multi-s', { rotated: ['./small', './other'] });
    for (const o of [deb, cand]) {
      expect(oldFiles(o.entries, './big')).toEqual([]);
      expect(rotationProblems(o.entries, './small', 4096)).toEqual([]);
      expect(rotationProblems(o.entries, './other', 5000)).toEqual([]);
    }
  });
  peer.concurrent('s99999999 is clamped to 16777215', async () => {
    // 17 MB of 100-byte lines: with s clamped there is exactly one old file just under 16 MiB.
    const input = makeLines(170_000, () => 99);
    const [deb, cand] = await rotates({ args: ['s99999999', 'n999', './d'], input }, 'smax', './d', 16777215);
    expect(oldFiles(deb.entries, './d').length).toBe(1);
    expect(oldFiles(cand.entries, './d').length).toBe(1);
  });
});

describe('multilog vs Debian: retention (n)', () => {
  for (const [arg, kept] of [['n0', 1], ['n1', 1], ['n2', 1], ['n3', 2], ['n5', 4], ['nabc', 1]] as const)
    peer.concurrent(`${arg} keeps ${kept} old file(s) (forced cut points: whole tree compared)`, async () => {
      const [deb, cand] = await same({ args: ['s4096', arg, './d'], input: TWO_K(13) }, arg);
      expect(oldFiles(deb.entries, './d').length).toBe(kept);
      expect(oldFiles(cand.entries, './d').length).toBe(kept);
    });
  peer.concurrent('n3 with lines of random length: 2 old files, the newest data kept', async () => {
    const input = makeLines(800, rnd(8, 150));
    const [deb, cand] = await runBoth(scratch, { args: ['s4096', 'n3', './d'], input }, 'n3rand');
    expect(compareOutcomes(deb, cand, { rotated: ['./d'] }).filter((d) => !d.includes('(old files + current)'))).toEqual([]);
    for (const o of [deb, cand]) {
      expect(oldFiles(o.entries, './d').length, o.impl.name).toBe(2);
      expect(rotationProblems(o.entries, './d', 4096), o.impl.name).toEqual([]);
      const kept = logStream(o.entries, './d');
      expect(input.subarray(input.length - kept.length).equals(kept), `${o.impl.name}: kept files are the tail of the input`).toBe(true);
    }
  });
  peer.concurrent('foreign @ names count; one sorting first is deleted first; @z... never chosen; short names ignored', async () => {
    await same(
      {
        args: ['s4096', 'n4', './d'],
        input: TWO_K(9),
        setup: (w) => {
          mkdirSync(join(w, 'd'));
          writeFile(w, 'd/@0000000000000000000000000junk', 'junk\n', 0o644);
          writeFile(w, 'd/@zzzzzzzzzzzzzzzzzzzzzzzzz', 'zz\n', 0o644);
          writeFile(w, 'd/@short', 'short\n', 0o644);
          writeFile(w, 'd/@400000000000000000000000.s', 'ancient\n', 0o744);
          writeFile(w, 'd/@4000000000000000000000001.u', 'ancient2\n', 0o644);
        },
      },
      'foreign',
    );
  });
  peer.concurrent('retention applies per logdir', async () => {
    await same({ args: ['s4096', 'n2', './a', 'n4', './b', './c'], input: TWO_K(11) }, 'n-per-dir');
  });
});

describe('multilog vs Debian: reopening a cleanly closed current', () => {
  peer.concurrent('an existing u+x current is appended to and counted (s4096)', async () => {
    await rotates(
      {
        args: ['s4096', 'n999', './d'],
        input: makeLines(200, rnd(9, 100)),
        setup: (w) => {
          mkdirSync(join(w, 'd'), 0o700);
          writeFile(w, 'd/current', 'old line\n'.repeat(333), 0o744); // 2997 bytes
          writeFile(w, 'd/state', 'kept state\n', 0o644);
          writeFile(w, 'd/previous', 'stale previous\n', 0o744);
        },
      },
      'reopen',
      './d',
      4096,
    );
  });
  peer.concurrent('a clean current already at or over s is rotated before the first write', async () => {
    const setup = (w: string): void => {
      mkdirSync(join(w, 'd'), 0o700);
      writeFile(w, 'd/current', 'old line\n'.repeat(600), 0o744); // 5400 bytes > s
    };
    const [deb] = await same({ args: ['s4096', './d'], input: TWO_K(3), setup }, 'over-s');
    expect(oldFiles(deb.entries, './d').map((e) => e.data.length)).toEqual([5400, 4096]);
  });
  peer.concurrent('a clean current over s is left alone when no input comes', async () => {
    const setup = (w: string): void => {
      mkdirSync(join(w, 'd'), 0o700);
      writeFile(w, 'd/current', 'old line\n'.repeat(600), 0o744);
    };
    await same({ args: ['s4096', './d'], input: '', setup }, 'over-s-idle');
  });
  peer.concurrent('three runs on one directory, with t', async () => {
    await same(
      { args: ['t', './d', '=st'], input: 'run1 a\nrun1 b\n', then: [{ args: ['t', './d', '=st'], input: 'run2\n' }, { args: ['./d'], input: 'run3 no t\npartial' }] },
      'three-runs',
    );
  });
  peer.concurrent('counted from the size: rotates in the second run (forced cut points)', async () => {
    await same({ args: ['s4096', './d'], input: TWO_K(1), then: [{ args: ['s4096', './d'], input: TWO_K(3) }] }, 'reopen-count');
  });
});

// A processor that shows what it sees: cwd, descriptors, old state, the files around it, signal mask/ignores,
// then the log itself (uppercased); new state on fd 5; a note on stderr.
const PROC = [
  'echo "cwd=${PWD##*/}"',
  'ls /proc/self/fd',
  'echo "old=$(cat <&4)"',
  'ls | grep -v "^@"',
  'echo "olds=$(ls | grep -c "^@")"',
  'grep -E "^Sig(Blk|Ign)" /proc/self/status',
  'env | grep -v "^PWD=" | sort',
  'umask',
  'tr a-z A-Z',
  'echo "seen $(wc -c < previous)" >&5',
  'echo "processor ran in ${PWD##*/}" >&2',
].join('; ');

describe('multilog vs Debian: processors (!)', () => {
  peer.concurrent('processor output becomes the .s files; state via fd 4 and fd 5; cwd; descriptors', async () => {
    const [deb] = await same({ args: ['s4096', `!${PROC}`, './d'], input: TWO_K(5), env: { X: 'y' } }, 'proc');
    expect(oldFiles(deb.entries, './d').length).toBe(2);
    expect(deb.entries.find((e) => e.name === 'd/state')!.data.toString()).toBe('seen 4096\n');
  });
  peer.concurrent('state carries over to the next run', async () => {
    await same({ args: ['s4096', `!${PROC}`, './d'], input: TWO_K(3), then: [{ args: ['s4096', `!${PROC}`, './d'], input: TWO_K(3) }] }, 'proc-runs');
  });
  peer.concurrent('processor is sticky across logdirs', async () => {
    // Debian runs a's and b's processors alternately (each line goes to a, then b, through 512-byte buffers);
    // that interleaving only reflects the buffering, so stderr is compared line by line, unordered.
    await same({ args: ['s4096', './plain', `!${PROC}`, './a', 'n5', './b', '!cat', './c'], input: TWO_K(5) }, 'proc-sticky', { stderrUnordered: true });
  });
  peer.concurrent('empty processor (!) still runs: empty .s files', async () => {
    const [deb] = await same({ args: ['s4096', '!', './d'], input: TWO_K(5) }, 'proc-empty');
    expect(oldFiles(deb.entries, './d').map((e) => e.data.length)).toEqual([0, 0]);
  });
  peer.concurrent('processor with t and several rotations', async () => {
    await same({ args: ['t', 's4096', '!wc -l; echo x >&5', './d'], input: makeLines(7, () => 2021) }, 'proc-t');
  });
  peer.concurrent('NODE_OPTIONS meant for a Node service changes nothing, and reaches the processor unchanged', async () => {
    const c: Case = {
      args: ['t', 'e', 's4096', '!echo "NODE_OPTIONS=$NODE_OPTIONS"; cat', './d'],
      input: makeLines(3, () => 2021),
      env: { NODE_OPTIONS: '--no-such-node-flag' },
    };
    await same(c, 'node-options');
  });
  peer.concurrent('a failing processor: warning, 5 s pause, rerun from scratch', async () => {
    const c: Case = {
      args: ['s4096', '!echo attempt; if [ -e ../failed ]; then cat; else : > ../failed; exit 1; fi', './d'],
      input: TWO_K(3),
    };
    const [deb, cand] = await same(c, 'proc-fail');
    expect(deb.stderr.toString()).toBe('multilog: warning: processor failed in ./d, pausing\n');
    for (const o of [deb, cand]) expect(o.ms, `${o.impl.name} paused`).toBeGreaterThanOrEqual(4900);
  }, 30_000);
});
