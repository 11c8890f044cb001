// The fast path of `upkeep tail -o raw` (no -g, no cursor, no journal, up to MAX_SOURCES directories;
// -n's lines are written before it, -f runs it again at each wake-up): the stored lines merged by stamp
// and copied out as they are, in the same order as Engine.pass (the smallest (stamp, rank) first), byte
// for byte (test/io/raw-merge.test.ts compares the two).
//
// The merge runs in a WebAssembly kernel (src/wasm/merge.ts, AssemblyScript, built into
// dist/wasm/merge.wasm): the readers' regions and the output regions are its memory, this file reads
// files into the regions (DirReader.chunk) and writes the output out, the kernel does everything per
// line (newline search, label, merge order, --since/--until, copies). 200 MB over 4 directories, whole
// `upkeep tail` runs: 224 ms with the kernel, ~380 ms with the JavaScript merge below, 281 ms for GNU
// `sort -m` (bench/tail.mjs; docs/readme/tail.md). Where the kernel cannot run (no dist/wasm/merge.wasm,
// a reader's line longer than its region, a stamp it cannot hold) the same merge runs in JavaScript, as
// follows.
//
// Where the general pass handles one line at a time (a reader object, a heap, a filter and an emit call
// per line), the JavaScript merge works in batches (measured with bench/tail.mjs against `sort -m`):
//  - each source's lines are scanned ahead, up to SCAN lines at once, into typed arrays (end offset,
//    stamp): one indexOf and one label parse per line, in a loop that touches nothing else;
//  - the merge picks the source with the smallest current line, and the next smallest (the bound), in
//    one linear scan of their stamps (few sources), and takes from it the whole run of lines that still
//    come before the bound, found by comparing numbers in those arrays;
//  - every reader's buffer and the output buffers are views of one ArrayBuffer, so a run is copied with
//    one copyWithin (no subarray object per copy: ~25 ns a copy against ~60 for set + subarray);
//  - reads of 128 KiB into 128 KiB regions (regions of 256 KiB made the whole merge 3x slower here,
//    and reading the same files in 1 MiB reads took 3-4x as long as in 128 KiB reads: bench/README.md);
//  - output in batches written from the shared buffer, two alternating regions (one may be in flight).
import { type Stamp, isJsonLogLine, takeStamp } from '../core/logline.js';
import { readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DirReader } from './logdir-read.js';

/** The kernel's table (src/wasm/merge.ts): below BASE, where the regions start. */
const BASE = 1 << 16;
const SRC = 2048;
const ROW = 32;
const R_START = 0;
const R_LIM = 4;
const R_NANO = 12;
const R_TAI = 16;
const R_ACTIVE = 24;
const FILTER = 1024;
/** The kernel's newline search reads 16 bytes at a time, up to 15 past a region's last "\n". */
const SLACK = 64;

interface Kernel {
  merge(k: number, limit: number): number;
  prime(j: number): void;
  skip(j: number): void;
  outPos: WebAssembly.Global;
  FULL: WebAssembly.Global;
  DONE: WebAssembly.Global;
}

let kernelModule: WebAssembly.Module | null | undefined;

/**
 * The compiled kernel, once per process; null where it cannot load (not built, or a WebAssembly
 * without SIMD). Found from the package's root: this file runs as dist/io/raw-merge.js, inside
 * dist/bundle/tail.cjs (a CommonJS bundle: no import.meta there), or as src/io/raw-merge.ts in tests.
 */
function loadKernel(): WebAssembly.Module | null {
  if (kernelModule === undefined) {
    try {
      const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
      kernelModule = new WebAssembly.Module(readFileSync(join(here, '..', '..', 'dist', 'wasm', 'merge.wasm')));
    } catch {
      kernelModule = null;
    }
  }
  return kernelModule;
}

/** A stamp the kernel holds exactly (its tai is a u64, its nano a u32). */
function kernelStamp(t: Stamp): boolean {
  return Number.isInteger(t.tai) && t.tai >= 0 && t.tai < 2 ** 53 && Number.isInteger(t.nano) && t.nano >= 0 && t.nano < 2 ** 32;
}

/** A stamp's seconds as the kernel's u64 (little-endian; at most 2^53, see kernelStamp). */
function putTai(dv: DataView, at: number, tai: number): void {
  dv.setUint32(at, tai % 2 ** 32, true);
  dv.setUint32(at + 4, Math.floor(tai / 2 ** 32), true);
}

function getTai(dv: DataView, at: number): number {
  return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
}

/** Size of each reader's region. A longer line makes its reader allocate a buffer of its own. */
const REGION = 1 << 17;
/** Size of each output region. */
const OUT = 1 << 18;
/** Lines scanned ahead per source (fewer with many sources: 20 bytes a line each). */
const SCAN = 2048;
/**
 * Up to this many sources the merge picks the smallest by a linear scan; beyond, the caller uses the
 * general pass (its heap): a linear scan costs a comparison per source per run.
 */
export const MAX_SOURCES = 16;
const TAI_FIELD = Buffer.from('"tai64n":"');

/** A source as the merge sees it: its reader and the scanned-ahead lines [i, n). */
class Source {
  /** End offset (after "\n") in the reader's buffer of each scanned line. */
  readonly ends: Int32Array;
  readonly tai: Float64Array;
  readonly nano: Float64Array;
  i = 0;
  n = 0;
  /** Start of line i. */
  start = 0;
  /** Offset of the reader's buffer in the shared memory, or -1 (it grew for a long line). */
  off = -1;
  constructor(
    readonly r: DirReader,
    readonly rank: number,
    readonly mem: ArrayBufferLike,
    readonly cap: number,
  ) {
    this.ends = new Int32Array(cap);
    this.tai = new Float64Array(cap);
    this.nano = new Float64Array(cap);
  }
}

export interface RawMergeOptions {
  since: Stamp | null;
  until: Stamp | null;
  /** Writes one batch; resolves when the bytes are no longer needed. */
  write: (data: Buffer) => Promise<void>;
  /** Checked between batches: true stops the merge (stdout closed, a signal). */
  stopped: () => boolean;
  /** False: the JavaScript merge even where the kernel could run (tests compare the two). */
  kernel?: boolean;
}

const scratch: Stamp = { tai: 0, nano: 0 };

/**
 * Scans the lines of buf[pos, lim) ahead (as many as fit): their ends and stamps. A line's stamp is its
 * label, or a %json line's "tai64n" field, or else the stamp of the line before it (as DirReader.next).
 */
function scan(s: Source): boolean {
  const r = s.r;
  r.pos = s.start; // (the merge advances s.start only)
  if (r.pos >= r.lim && !r.chunk()) {
    s.start = r.pos; // (chunk may have moved the bytes)
    return false;
  }
  const b = r.buf;
  const ends = s.ends;
  const T = s.tai;
  const N = s.nano;
  const lim = r.lim;
  const st = r.stamp;
  s.off = b.buffer === s.mem ? b.byteOffset : -1;
  let tai = st.tai;
  let nano = st.nano;
  let p = r.pos;
  let n = 0;
  s.start = p;
  const cap = s.cap;
  while (p < lim && n < cap) {
    const e = b.indexOf(10, p);
    if (takeStamp(b, p, e, scratch) || (isJsonLogLine(b, p, e) && jsonStamp(b, p, e))) {
      tai = scratch.tai;
      nano = scratch.nano;
    }
    T[n] = tai;
    N[n] = nano;
    ends[n++] = e + 1;
    p = e + 1;
  }
  st.tai = tai;
  st.nano = nano;
  s.i = 0;
  s.n = n;
  return true;
}

function jsonStamp(b: Buffer, s: number, e: number): boolean {
  const at = b.indexOf(TAI_FIELD, s);
  return at >= 0 && at + TAI_FIELD.length + 25 <= e && takeStamp(b, at + TAI_FIELD.length, at + TAI_FIELD.length + 25, scratch);
}

/**
 * The fast path over a set of readers, pass after pass (-f: Engine.follow runs a pass at each wake-up,
 * after the readers have queued new files).
 */
export class RawMerge {
  private readonly all: Source[];
  private readonly out: Output;
  /** The kernel's exports while it runs the merge; null: the JavaScript merge (for good). */
  private x: Kernel | null = null;
  private readonly dv: DataView;
  private filtered = false;
  /** Sources that ran out in the kernel's pass; those of them the JavaScript merge must not take up again
   *  in a pass the kernel handed over. */
  private readonly ranOut = new Set<Source>();
  private outOfPass = new Set<Source>();

  constructor(
    readers: readonly DirReader[],
    private readonly o: RawMergeOptions,
  ) {
    const size = BASE + readers.length * REGION + 2 * OUT + SLACK;
    const mod = o.kernel === false ? null : loadKernel();
    let wm: WebAssembly.Memory | null = null;
    if (mod !== null) {
      try {
        // (V8 reserves ~10 GiB of address space for a WebAssembly memory: under a limit below that, as
        // softlimit -a sets and bin/upkeep raises only to 4 GiB, this throws and the JavaScript merge runs)
        wm = new WebAssembly.Memory({ initial: Math.ceil(size / 65536) });
        this.x = new WebAssembly.Instance(mod, { env: { memory: wm } }).exports as unknown as Kernel;
      } catch {
        wm = null;
        this.x = null;
      }
    }
    const memory = wm?.buffer ?? new ArrayBuffer(size);
    const mem = Buffer.from(memory);
    this.dv = new DataView(memory);
    this.all = readers.map((r, rank) => {
      const at = BASE + rank * REGION;
      if (!r.useBuffer(mem.subarray(at, at + REGION))) this.x = null; // (its unread bytes did not fit)
      const s = new Source(r, rank, memory, readers.length > 4 ? SCAN / 4 : SCAN);
      s.start = r.pos;
      s.off = at;
      return s;
    });
    this.out = new Output(mem, BASE + readers.length * REGION, o.write);
    if (this.x !== null && !this.setFilter()) this.x = null;
    if (this.x !== null) for (const s of this.all) if (!this.toKernel(s)) this.x = null;
  }

  /** Whether the kernel runs the merge (tests). */
  get kernel(): boolean {
    return this.x !== null;
  }

  /** --since/--until into the kernel's memory; false when a bound is not a stamp it can hold. */
  private setFilter(): boolean {
    const { since, until } = this.o;
    if ((since !== null && !kernelStamp(since)) || (until !== null && !kernelStamp(until))) return false;
    const dv = this.dv;
    const put = (at: number, t: Stamp): void => {
      putTai(dv, at, t.tai);
      dv.setUint32(at + 8, t.nano, true);
    };
    put(FILTER, since ?? { tai: 0, nano: 0 });
    if (until !== null) put(FILTER + 16, until);
    else {
      dv.setBigUint64(FILTER + 16, 0xffffffffffffffffn, true);
      dv.setUint32(FILTER + 24, 0xffffffff, true);
    }
    this.filtered = since !== null || until !== null;
    dv.setUint32(FILTER + 28, this.filtered ? 1 : 0, true);
    return true;
  }

  /** A source's row in the kernel's table, from its reader (not active: refilled at the next pass). */
  private toKernel(s: Source): boolean {
    const st = s.r.stamp;
    if (!kernelStamp(st)) return false;
    const row = SRC + s.rank * ROW;
    const dv = this.dv;
    dv.setUint32(row + R_START, s.off + s.r.pos, true);
    dv.setUint32(row + R_LIM, s.off + s.r.pos, true);
    putTai(dv, row + R_TAI, st.tai);
    dv.setUint32(row + R_NANO, st.nano, true);
    dv.setUint32(row + R_ACTIVE, 0, true);
    return true;
  }

  /**
   * Gives source s's reader the kernel's position and reads on (chunk): its row gets the new lines and
   * its head is scanned, or it is marked inactive (nothing more now). False when the reader's buffer
   * left the shared memory (a line longer than a region): the JavaScript merge takes over.
   */
  private refill(x: Kernel, s: Source): boolean {
    const dv = this.dv;
    const row = SRC + s.rank * ROW;
    const r = s.r;
    r.pos = dv.getUint32(row + R_START, true) - s.off;
    const more = r.chunk();
    if (r.buf.buffer !== this.dv.buffer) return false;
    if (!more) {
      this.ranOut.add(s);
      // (chunk may have moved the bytes all the same)
      dv.setUint32(row + R_START, s.off + r.pos, true);
      dv.setUint32(row + R_LIM, s.off + r.pos, true);
      dv.setUint32(row + R_ACTIVE, 0, true);
      return true;
    }
    dv.setUint32(row + R_START, s.off + r.pos, true);
    dv.setUint32(row + R_LIM, s.off + r.lim, true);
    dv.setUint32(row + R_ACTIVE, 1, true);
    x.prime(s.rank);
    return true;
  }

  /** From the kernel to the JavaScript merge, at any point between two kernel calls. */
  private leaveKernel(trigger: Source): void {
    const dv = this.dv;
    for (const s of this.all) {
      const row = SRC + s.rank * ROW;
      const r = s.r;
      // (a source that ran out in this pass stays out of it, as in the general pass: a line appended to
      // it meanwhile comes with the next pass, after the rest of this one)
      if (s !== trigger && this.ranOut.has(s)) this.outOfPass.add(s);
      // (the reader that left the shared memory has its position already)
      if (r.buf.buffer === dv.buffer) r.pos = dv.getUint32(row + R_START, true) - s.off;
      s.start = r.pos;
      s.i = 0;
      s.n = 0;
    }
    // (the row's stamp is its head line's: what an unlabelled head inherits from, and a labelled one
    // finds again)
    this.syncStamps();
    this.x = null;
  }

  /** The readers' stamps from the kernel's table (what their next unlabelled line gets; DirReader's
   *  warnings name it). */
  private syncStamps(): void {
    const dv = this.dv;
    for (const s of this.all) {
      const row = SRC + s.rank * ROW;
      s.r.stamp.tai = getTai(dv, row + R_TAI);
      s.r.stamp.nano = dv.getUint32(row + R_NANO, true);
    }
  }

  /** Merges every line available now, and writes it. */
  async pass(): Promise<void> {
    if (this.x !== null && (await this.kernelPass(this.x))) {
      this.syncStamps();
      return;
    }
    const skip = this.outOfPass;
    this.outOfPass = new Set();
    const srcs = this.all.filter((s) => !skip.has(s) && (s.i < s.n || scan(s)));
    // The loop is a plain function run batch by batch (an async function's long loop was deoptimized
    // again and again by V8: --trace-deopt).
    const m = new Merger(srcs, this.out, this.o.since, this.o.until);
    while (m.run()) {
      await this.out.flush();
      if (this.o.stopped()) return;
    }
    await this.out.flush();
  }

  /**
   * A pass in the kernel; false when it handed over to the JavaScript merge, which then goes on
   * from where the kernel was.
   */
  private async kernelPass(x: Kernel): Promise<boolean> {
    const dv = this.dv;
    const out = this.out;
    const k = this.all.length;
    const FULL = x.FULL.value as number;
    const DONE = x.DONE.value as number;
    this.ranOut.clear();
    for (const s of this.all) {
      const row = SRC + s.rank * ROW;
      const ready = dv.getUint32(row + R_ACTIVE, true) === 1 && dv.getUint32(row + R_START, true) < dv.getUint32(row + R_LIM, true);
      if (!ready && !this.refill(x, s)) {
        this.leaveKernel(s);
        return false;
      }
    }
    if (!this.filtered) {
      let only: Source | null = null;
      let n = 0;
      for (const s of this.all) {
        if (dv.getUint32(SRC + s.rank * ROW + R_ACTIVE, true) === 1) {
          only = s;
          n++;
        }
      }
      if (n === 1) return this.onePass(x, only!);
    }
    for (;;) {
      const region = out.region();
      x.outPos.value = region + out.used;
      const c = x.merge(k, region + out.limit);
      out.used = (x.outPos.value as number) - region;
      if (c === DONE) break;
      if (c !== FULL && !this.refill(x, this.all[c]!)) {
        this.leaveKernel(this.all[c]!);
        return false;
      }
      // (also after a refill: a run that used up its source's region may have filled the batch; each
      // call starts below the limit, so its last run, at most a region, still fits)
      if (out.used >= out.limit) {
        await out.flush();
        if (this.o.stopped()) return true;
      }
    }
    await out.flush();
    return true;
  }

  /**
   * One source has lines now (one directory; or, with -f, the one that changed) and no --since/--until:
   * there is nothing to merge, its lines go out as they are, straight from its region, with no copy
   * (a follow wake-up then costs one read and one write, as node's floor does: bench/README.md).
   */
  private async onePass(x: Kernel, s: Source): Promise<boolean> {
    const dv = this.dv;
    const row = SRC + s.rank * ROW;
    await this.out.flush();
    do {
      const a = dv.getUint32(row + R_START, true);
      const e = dv.getUint32(row + R_LIM, true);
      x.skip(s.rank);
      await this.o.write(this.out.view(a, e)); // (resolved: the region may be read into again)
      if (this.o.stopped()) return true;
      if (!this.refill(x, s)) {
        this.leaveKernel(s);
        return false;
      }
    } while (dv.getUint32(row + R_ACTIVE, true) === 1);
    return true;
  }

  /** Waits for the writes in flight. */
  async drain(): Promise<void> {
    await this.out.drain();
  }
}

class Merger {
  private readonly filter: boolean;
  private readonly sT: number;
  private readonly sN: number;
  private readonly uT: number;
  private readonly uN: number;
  /** The current line's stamp of each source in srcs, side by side (cheaper to scan than through srcs). */
  private readonly curT: Float64Array;
  private readonly curN: Float64Array;

  constructor(
    private readonly srcs: Source[],
    private readonly out: Output,
    since: Stamp | null,
    until: Stamp | null,
  ) {
    this.filter = since !== null || until !== null;
    this.sT = since?.tai ?? -Infinity;
    this.sN = since?.nano ?? 0;
    this.uT = until?.tai ?? Infinity;
    this.uN = until?.nano ?? 0;
    this.curT = new Float64Array(srcs.length);
    this.curN = new Float64Array(srcs.length);
    srcs.forEach((s, j) => {
      this.curT[j] = s.tai[s.i]!;
      this.curN[j] = s.nano[s.i]!;
    });
  }

  /** Merges until a batch is full (true) or every source is done (false). */
  run(): boolean {
    const srcs = this.srcs;
    const out = this.out;
    const curT = this.curT;
    const curN = this.curN;
    let k = srcs.length;
    while (k > 0) {
      // The source with the smallest (stamp, rank), m, and the smallest of the others, b (the bound), in
      // one pass (srcs is in rank order: on equal stamps the earlier one is smaller).
      let m = 0;
      let mT = curT[0]!;
      let mN = curN[0]!;
      let b = -1;
      let bT = Infinity;
      let bN = 0;
      for (let j = 1; j < k; j++) {
        const t = curT[j]!;
        const nn = curN[j]!;
        if (t < mT || (t === mT && nn < mN)) {
          b = m;
          bT = mT;
          bN = mN;
          m = j;
          mT = t;
          mN = nn;
        } else if (t < bT || (t === bT && nn < bN)) {
          b = j;
          bT = t;
          bN = nn;
        }
      }
      const s = srcs[m]!;
      // The run: lines of s that still come before the bound (s's first line does, by choice of s).
      const T = s.tai;
      const N = s.nano;
      const ends = s.ends;
      const n = s.n;
      let j = s.i + 1;
      if (b < 0) j = n;
      else if (m < b) while (j < n && (T[j]! < bT || (T[j] === bT && N[j]! <= bN))) j++;
      else while (j < n && (T[j]! < bT || (T[j] === bT && N[j]! < bN))) j++; // (ties go to the bound's source)
      const e = ends[j - 1]!;
      if (this.filter) this.putKept(s, j);
      else if (s.off >= 0 && out.used + e - s.start <= OUT) out.copy(s.off + s.start, s.off + e);
      else out.put(s, s.start, e);
      s.start = e;
      s.i = j;
      if (j < n || scan(s)) {
        curT[m] = T[s.i]!;
        curN[m] = N[s.i]!;
      } else {
        srcs.splice(m, 1);
        curT.copyWithin(m, m + 1, k);
        curN.copyWithin(m, m + 1, k);
        k--;
      }
      if (out.used >= out.limit) return true;
    }
    return false;
  }

  /** --since/--until: copies the kept lines among s's lines [i, j), in as few pieces as they come. */
  private putKept(s: Source, j: number): void {
    const { sT, sN, uT, uN } = this;
    const T = s.tai;
    const N = s.nano;
    let from = -1;
    let p = s.start;
    for (let x = s.i; x < j; x++) {
      const t = T[x]!;
      const n = N[x]!;
      const keep = (t > sT || (t === sT && n >= sN)) && (t < uT || (t === uT && n <= uN));
      if (keep) {
        if (from < 0) from = p;
      } else if (from >= 0) {
        this.out.put(s, from, p);
        from = -1;
      }
      p = s.ends[x]!;
    }
    if (from >= 0) this.out.put(s, from, p);
  }
}

/** Batched output from two regions of the shared memory (one may be in flight while the other fills). */
class Output {
  used = 0;
  /** The first batches are small, so the first lines show at once (--since); then up to OUT. */
  limit = 4096;
  private cur = 0;
  private readonly inflight: (Promise<void> | null)[] = [null, null];

  private readonly memU8: Uint8Array;

  constructor(
    private readonly mem: Buffer,
    private readonly base: number,
    private readonly write: (data: Buffer) => Promise<void>,
  ) {
    this.memU8 = new Uint8Array(mem.buffer, mem.byteOffset, mem.length);
  }

  /** Bytes [a, e) of the shared memory. */
  view(a: number, e: number): Buffer {
    return this.mem.subarray(a, e);
  }

  /** Where the region being filled starts in the shared memory. */
  region(): number {
    return this.base + this.cur * OUT;
  }

  /** Copies bytes [a, e) of the shared memory (the caller checked that they fit). */
  copy(a: number, e: number): void {
    this.memU8.copyWithin(this.base + this.cur * OUT + this.used, a, e);
    this.used += e - a;
  }

  /** Copies bytes [a, e) of s's reader's buffer (in the shared memory, or a grown one of its own). */
  put(s: Source, a: number, e: number): void {
    const to = this.base + this.cur * OUT + this.used;
    if (s.off >= 0 && this.used + e - a <= OUT) {
      this.memU8.copyWithin(to, s.off + a, s.off + e);
      this.used += e - a;
    } else this.putSlow(s, a, e);
  }

  private putSlow(s: Source, a: number, e: number): void {
    while (a < e) {
      if (this.used === OUT) this.flushSync();
      const n = Math.min(e - a, OUT - this.used);
      const to = this.base + this.cur * OUT + this.used;
      if (s.off >= 0) this.memU8.copyWithin(to, s.off + a, s.off + a + n);
      else this.memU8.set(s.r.buf.subarray(a, a + n), to);
      this.used += n;
      a += n;
    }
  }

  /**
   * A region filled up in the middle of a copy. Batches are flushed at `limit` (at most OUT - REGION),
   * so a run from a reader's region always fits; only a run from a grown buffer (a line longer than
   * REGION) gets here. The other region may still be in flight, so this one is written from a copy.
   */
  private flushSync(): void {
    const at = this.base + this.cur * OUT;
    void this.write(Buffer.from(this.mem.subarray(at, at + this.used)));
    this.used = 0;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const at = this.base + this.cur * OUT;
    const done = this.write(this.mem.subarray(at, at + this.used));
    this.inflight[this.cur] = done;
    this.cur ^= 1;
    const busy = this.inflight[this.cur];
    if (busy) await busy; // the other region is reused only once its write is done
    this.inflight[this.cur] = null;
    this.used = 0;
    this.limit = Math.min(this.limit * 4, OUT - REGION);
  }

  async drain(): Promise<void> {
    for (const p of this.inflight) if (p) await p;
  }
}

/**
 * The fast path's output: batches written to fd 1 with writeSync, with no stream (making
 * process.stdout for a pipe loads net and the stream modules: several ms of start-up, which counts
 * for --since). A non-blocking stdout (EAGAIN) gets the rest through process.stdout; a write error
 * (EPIPE: the reader went away) stops the run quietly, as the general path's 'error' handler does.
 */
export class StdoutWriter {
  broken = false;
  private stream: NodeJS.WriteStream | null = null;

  /** `onBroken`: called once when a write fails (the caller stops). */
  constructor(private readonly onBroken: () => void = () => {}) {}

  /** No write in flight (another writer to fd 1 may go now without overtaking one). */
  idle(): boolean {
    return this.stream === null || this.stream.writableLength === 0;
  }

  private fail(): void {
    if (!this.broken) {
      this.broken = true;
      this.onBroken();
    }
  }

  readonly write = (data: Buffer): Promise<void> => {
    if (this.broken) return Promise.resolve();
    if (this.stream === null) {
      let off = 0;
      try {
        while (off < data.length) off += writeSync(1, data, off, data.length - off);
        return Promise.resolve();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
          this.fail();
          return Promise.resolve();
        }
        this.stream = process.stdout;
        this.stream.on('error', () => this.fail());
        data = data.subarray(off);
      }
    }
    const stream = this.stream;
    return this.waits.wait((done) => stream.write(data, done));
  };

  private readonly waits = new StdoutWaits();

  /**
   * TERM or INT: stops waiting for a reader that may never read again (a pipe left full; the caller
   * then exits without waiting for it). Nothing is written after.
   */
  abort(): void {
    this.broken = true;
    this.waits.abort();
  }
}

/**
 * Waits for stdout (a write's callback, a 'drain') that a signal can end: abort() resolves every wait
 * under way, and every wait started after it at once (a reader that stopped reading must not keep
 * `upkeep tail` alive). Shared by the -o raw writer above and the general path's output.
 */
export class StdoutWaits {
  private readonly waiting = new Set<() => void>();
  private aborted = false;

  wait(start: (done: () => void) => void): Promise<void> {
    if (this.aborted) return Promise.resolve();
    return new Promise<void>((res) => {
      const done = (): void => {
        this.waiting.delete(done);
        res();
      };
      this.waiting.add(done);
      start(done);
    });
  }

  abort(): void {
    this.aborted = true;
    for (const done of [...this.waiting]) done();
  }
}
