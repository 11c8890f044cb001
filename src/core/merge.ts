// k-way merge of log streams by TAI64N stamp, pure. The io layer owns the sources (files being read);
// this heap only orders them by their current line's stamp. Ties keep source order (the order the
// directories were named), so a merge is deterministic.
import { type Stamp } from './logline.js';

/** A source as the heap sees it: the stamp of its current line and a fixed rank for ties. */
export interface MergeSource {
  readonly stamp: Stamp;
  readonly rank: number;
}

function less(a: MergeSource, b: MergeSource): boolean {
  const d = a.stamp.tai - b.stamp.tai || a.stamp.nano - b.stamp.nano;
  return d < 0 || (d === 0 && a.rank < b.rank);
}

/** A binary min-heap of sources. After a source advances, call `update()` (it is always the top). */
export class MergeHeap<T extends MergeSource> {
  private readonly a: T[] = [];

  get size(): number {
    return this.a.length;
  }

  push(s: T): void {
    const a = this.a;
    a.push(s);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  /** The source with the oldest current line. */
  top(): T | undefined {
    return this.a[0];
  }

  /**
   * True when the top source's current line is still no newer than every other source's: the caller
   * may keep emitting from it without touching the heap (long runs from one file cost nothing).
   */
  topStillFirst(): boolean {
    const a = this.a;
    const t = a[0]!;
    const l = a[1];
    const r = a[2];
    return (l === undefined || !less(l, t)) && (r === undefined || !less(r, t));
  }

  /** Restores order after the top source advanced to a new line. */
  update(): void {
    this.down(0);
  }

  /** Removes the top source (it is exhausted). */
  pop(): T | undefined {
    const a = this.a;
    const t = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      this.down(0);
    }
    return t;
  }

  private down(i: number): void {
    const a = this.a;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && less(a[l]!, a[m]!)) m = l;
      if (r < n && less(a[r]!, a[m]!)) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}

/** Merges already-ordered arrays (one per source, in rank order) into one ordered array. */
export function mergeArrays<T extends { stamp: Stamp }>(lists: readonly (readonly T[])[]): T[] {
  interface Cur extends MergeSource {
    stamp: Stamp;
    list: readonly T[];
    i: number;
  }
  const heap = new MergeHeap<Cur>();
  lists.forEach((list, rank) => {
    if (list.length > 0) heap.push({ stamp: list[0]!.stamp, rank, list, i: 0 });
  });
  const out: T[] = [];
  for (let c = heap.top(); c !== undefined; c = heap.top()) {
    out.push(c.list[c.i]!);
    c.i++;
    if (c.i >= c.list.length) heap.pop();
    else {
      c.stamp = c.list[c.i]!.stamp;
      heap.update();
    }
  }
  return out;
}
