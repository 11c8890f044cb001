// The k-way merge: the same order as a stable sort by (stamp, source rank), for any inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MergeHeap, mergeArrays } from '../../src/core/merge.js';

type L = { stamp: { tai: number; nano: number }; src: number; i: number };

const lists = fc.array(
  fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 })), { maxLength: 30 }).map((xs) =>
    xs.map(([t, n]) => ({ tai: t, nano: n })).sort((a, b) => a.tai - b.tai || a.nano - b.nano),
  ),
  { maxLength: 6 },
);

function expected(ls: { tai: number; nano: number }[][]): L[] {
  const all: L[] = ls.flatMap((l, src) => l.map((stamp, i) => ({ stamp, src, i })));
  return all.sort((a, b) => a.stamp.tai - b.stamp.tai || a.stamp.nano - b.stamp.nano || a.src - b.src || a.i - b.i);
}

describe('merge', () => {
  it('mergeArrays equals a stable sort by stamp then source (property)', () => {
    fc.assert(
      fc.property(lists, (ls) => {
        const got = mergeArrays(ls.map((l, src) => l.map((stamp, i) => ({ stamp, src, i }))));
        expect(got).toEqual(expected(ls));
      }),
    );
  });

  it('the heap with the topStillFirst shortcut gives the same order (property)', () => {
    fc.assert(
      fc.property(lists, (ls) => {
        const srcs = ls.map((l, rank) => ({ rank, l, i: 0, stamp: { ...(l[0] ?? { tai: 0, nano: 0 }) } }));
        const heap = new MergeHeap<(typeof srcs)[number]>();
        for (const s of srcs) if (s.l.length) heap.push(s);
        const got: L[] = [];
        for (let t = heap.top(); t; t = heap.top()) {
          got.push({ stamp: t.l[t.i]!, src: t.rank, i: t.i });
          t.i++;
          if (t.i < t.l.length) {
            t.stamp = { ...t.l[t.i]! };
            if (!heap.topStillFirst()) heap.update();
          } else heap.pop();
        }
        expect(got).toEqual(expected(ls));
      }),
    );
  });

  it('keeps a source\'s own order when its stamps go backwards (clock jump)', () => {
    const a = [{ stamp: { tai: 10, nano: 0 }, id: 'a1' }, { stamp: { tai: 5, nano: 0 }, id: 'a2' }, { stamp: { tai: 20, nano: 0 }, id: 'a3' }];
    const b = [{ stamp: { tai: 7, nano: 0 }, id: 'b1' }, { stamp: { tai: 15, nano: 0 }, id: 'b2' }];
    const ids = mergeArrays([a, b]).map((x) => x.id);
    expect(ids).toEqual(['b1', 'a1', 'a2', 'b2', 'a3']);
  });
});
