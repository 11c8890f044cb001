// upkeep multilog vs Debian's multilog: start-up crash recovery. Every combination of a pre-existing
// current (absent; u+x empty / non-empty; no u+x empty / non-empty), previous, processed (u+x or not), state and
// newstate; the resulting directory (names with labels masked, modes, contents) must be the same.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { itWithPeer } from '../helpers/index.js';
import { type Case, Scratch, compareOutcomes, makeLines, runBoth, writeFile } from '../helpers/multilog-compare.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());
const peer = itWithPeer(['multilog']);

type Current = 'none' | 'clean-empty' | 'clean' | 'unclean-empty' | 'unclean';
interface Combo {
  current: Current;
  previous: boolean;
  processed: 'none' | 'ux' | 'no-ux';
  state: boolean;
  newstate: boolean;
}

const combos: Combo[] = [];
for (const current of ['none', 'clean-empty', 'clean', 'unclean-empty', 'unclean'] as const)
  for (const previous of [false, true])
    for (const processed of ['none', 'ux', 'no-ux'] as const)
      for (const state of [false, true]) for (const newstate of [false, true]) combos.push({ current, previous, processed, state, newstate });

function layout(c: Combo): (w: string) => void {
  return (w) => {
    mkdirSync(join(w, 'd'), 0o700);
    if (c.current !== 'none') {
      const data = c.current.endsWith('empty') ? '' : 'current data\nsecond current line\n';
      writeFile(w, 'd/current', data, c.current.startsWith('clean') ? 0o744 : 0o644);
    }
    if (c.previous) writeFile(w, 'd/previous', 'previous data\n', 0o744);
    if (c.processed !== 'none') writeFile(w, 'd/processed', 'processed data\n', c.processed === 'ux' ? 0o744 : 0o644);
    if (c.state) writeFile(w, 'd/state', 'state data\n', 0o644);
    if (c.newstate) writeFile(w, 'd/newstate', 'newstate data\n', 0o644);
  };
}

const label = (c: Combo): string =>
  `current=${c.current} previous=${c.previous ? 'yes' : 'no'} processed=${c.processed} state=${c.state ? 'yes' : 'no'} newstate=${c.newstate ? 'yes' : 'no'}`;

async function pool<T>(items: T[], width: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await f(items[next++]!);
    }),
  );
}

describe('multilog vs Debian: crash recovery at start-up', () => {
  for (const current of ['none', 'clean-empty', 'clean', 'unclean-empty', 'unclean'] as const)
    peer.concurrent(`current=${current}: all 24 combinations of previous, processed, state, newstate`, async () => {
      const diffs: string[] = [];
      await pool(
        combos.filter((c) => c.current === current),
        2, // five such tests run concurrently: at most 5 x 2 x 2 processes at once
        async (combo) => {
          const c: Case = { args: ['./d'], input: 'new line\n', setup: layout(combo) };
          const [deb, cand] = await runBoth(scratch, c, 'rec');
          for (const d of compareOutcomes(deb, cand)) diffs.push(`${label(combo)}: ${d}`);
        },
      );
      expect(diffs).toEqual([]);
    });

  peer.concurrent('recovery, then a rotation through a processor that reads the fresh (empty) state', async () => {
    const c: Case = {
      args: ['s4096', '!echo "state=[$(cat <&4)]"; cat; echo next >&5', './d'],
      input: makeLines(3, () => 2047),
      setup: layout({ current: 'unclean', previous: true, processed: 'ux', state: true, newstate: true }),
    };
    const [deb, cand] = await runBoth(scratch, c, 'rec-proc');
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });

  peer.concurrent('a clean current leaves previous, processed, state and newstate alone; a rotation then reuses them', async () => {
    const c: Case = {
      args: ['s4096', '!echo "state=[$(cat <&4)]"; cat; echo next >&5', './d'],
      input: makeLines(2, () => 2047),
      setup: layout({ current: 'clean', previous: false, processed: 'no-ux', state: true, newstate: true }),
    };
    const [deb, cand] = await runBoth(scratch, c, 'rec-clean-proc');
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });

  peer.concurrent('recovery in every logdir, in script order, with existing old files and retention', async () => {
    const c: Case = {
      args: ['n3', './a', './b'],
      input: 'x\n',
      setup: (w) => {
        mkdirSync(join(w, 'a'));
        writeFile(w, 'a/current', 'a current\n', 0o644);
        writeFile(w, 'a/@400000000000000000000001.s', 'old 1\n', 0o744);
        writeFile(w, 'a/@400000000000000000000002.s', 'old 2\n', 0o744);
        mkdirSync(join(w, 'b'));
        writeFile(w, 'b/previous', 'b previous\n', 0o744);
      },
    };
    const [deb, cand] = await runBoth(scratch, c, 'rec-multi');
    expect(compareOutcomes(deb, cand)).toEqual([]);
  });
});
