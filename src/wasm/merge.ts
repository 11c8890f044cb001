// The hot loop of `upkeep tail -o raw`'s merge (src/io/raw-merge.ts), in AssemblyScript, compiled to
// WebAssembly by `npm run build` (dist/wasm/merge.wasm). Measured (bench/tail.mjs, bench/README.md):
// the same loop in JavaScript, however tight, spends more per line than GNU `sort -m` does in C (a
// native call per newline search and per copy, float pairs for stamps); here a line costs a SIMD
// newline search, three 8-byte loads for its label, integer compares and a memory.copy per run.
//
// Memory (imported, laid out by raw-merge.ts): a table of sources at SRC, the filter at FILTER, then
// each source's region of whole lines [start, lim) (every line ends with "\n", DirReader.chunk), and
// the output region. The JavaScript side reads files into the regions and writes the output out.
//
// A source's row: start (its head line, the next to go out), lim, headEnd (end of the head line after
// its "\n", 0 until scanned), nano and tai (the head line's stamp: its label, or a %json line's
// "tai64n" field, or else the stamp of the line before it, as DirReader.next), active.

const SRC: usize = 2048;
const ROW: usize = 32;
const START: usize = 0;
const LIM: usize = 4;
const HEAD_END: usize = 8;
const NANO: usize = 12;
const TAI: usize = 16;
const ACTIVE: usize = 24;
/** --since / --until: tai (u64), nano (u32) each, then a flag (filtering or not). */
const FILTER: usize = 1024;

/** Return codes of merge(): FULL (the output reached its limit), DONE (no active source), or a source
 *  number >= 0 whose region is used up (the caller refills it or marks it inactive, then calls again). */
export const FULL: i32 = -1;
export const DONE: i32 = -2;

/** Where the output stands (an address); set by the caller before merge(), read after. */
export let outPos: u32 = 0;

const H: u64 = 0x8080808080808080;
const ONES: u64 = 0x0101010101010101;

/** High bit of each byte of x set where that byte is in [lo, hi] (bytes below 0x80). */
// @ts-ignore: decorator
@inline function inRange(x: u64, lo: u64, hi: u64): u64 {
  return (x + ONES * (0x80 - lo)) & ~(x + ONES * (0x7f - hi)) & H;
}

/** The value of 8 hex digits (first digit in the low byte), or -1 when one is not a hex digit. */
// @ts-ignore: decorator
@inline function hex8(x: u64): i64 {
  if ((x & H) != 0) return -1;
  if ((inRange(x, 0x30, 0x39) | inRange(x, 0x61, 0x66) | inRange(x, 0x41, 0x46)) != H) return -1;
  let v = (x & 0x0f0f0f0f0f0f0f0f) + ((x >> 6) & ONES) * 9;
  v = ((v << 4) | (v >> 8)) & 0x00ff00ff00ff00ff;
  v = ((v << 8) | (v >> 16)) & 0x0000ffff0000ffff;
  return <i64>(((v << 16) | (v >> 32)) & 0xffffffff);
}

/** The label "@" + 24 hex digits at [p, e) (e: the "\n"; followed by " " or the end): into row r. */
// @ts-ignore: decorator
@inline function takeStamp(p: usize, e: usize, r: usize): bool {
  if (e - p < 25) return false;
  if (load<u8>(p) != 0x40) return false; // "@"
  const a = load<u64>(p, 1);
  if ((a & 0xffffff) != 0x303034) return false; // "400": 2^62 + a 52-bit count
  if (e - p > 25 && load<u8>(p, 25) != 0x20) return false;
  const ha = hex8(a);
  const hb = hex8(load<u64>(p, 9));
  const hc = hex8(load<u64>(p, 17));
  if ((ha | hb | hc) < 0) return false;
  store<u64>(r, (<u64>(ha & 0xfffff) << 32) | <u64>hb, TAI);
  store<u32>(r, <u32>hc, NANO);
  return true;
}

/** A %json line ({"time":" ...) stamped by its "tai64n":"@..." field. */
function jsonStamp(p: usize, e: usize, r: usize): bool {
  if (e - p < 40) return false;
  // {"time":"
  if (load<u64>(p) != 0x3a22656d6974227b || load<u8>(p, 8) != 0x22) return false;
  // the first "tai64n":" at or after p
  for (let q = p; q + 10 <= e; q++) {
    if (load<u64>(q) == 0x226e343669617422 && load<u16>(q, 8) == 0x223a) {
      const s = q + 10;
      return s + 25 <= e && takeStamp(s, s + 25, r);
    }
  }
  return false;
}

/** The end of the line starting at p (the address of its "\n", which exists before lim). */
// @ts-ignore: decorator
@inline function lineEnd(p: usize): usize {
  const nl = i8x16.splat(10);
  while (true) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(p), nl));
    if (m != 0) return p + <usize>ctz<i32>(m);
    p += 16;
  }
}

/** Scans source j's head line (start < lim): its end and stamp. */
export function prime(j: i32): void {
  const r = SRC + <usize>j * ROW;
  const p = <usize>load<u32>(r, START);
  const e = lineEnd(p);
  store<u32>(r, <u32>(e + 1), HEAD_END);
  if (!takeStamp(p, e, r)) jsonStamp(p, e, r);
}

/**
 * Source j's lines up to lim go out as they are (the caller writes them): its head moves to lim, and
 * its stamp becomes that of its last stamped line there (what a next unlabelled line inherits).
 */
export function skip(j: i32): void {
  const r = SRC + <usize>j * ROW;
  const first = <usize>load<u32>(r, START);
  const lim = <usize>load<u32>(r, LIM);
  store<u32>(r, <u32>lim, START);
  // the lines from the last one back, until one has a stamp
  let e = lim - 1; // its "\n"
  while (e > first) {
    let p = e;
    while (p > first && load<u8>(p - 1) != 10) p--;
    if (takeStamp(p, e, r) || jsonStamp(p, e, r)) return;
    if (p == first) return;
    e = p - 1;
  }
}

// @ts-ignore: decorator
@inline function before(t1: u64, n1: u32, t2: u64, n2: u32): bool {
  return t1 < t2 || (t1 == t2 && n1 < n2);
}

/** Is the stamp (t, n) kept by --since/--until? */
function kept(t: u64, n: u32): bool {
  const sT = load<u64>(FILTER);
  const sN = load<u32>(FILTER, 8);
  const uT = load<u64>(FILTER, 16);
  const uN = load<u32>(FILTER, 24);
  return !before(t, n, sT, sN) && !before(uT, uN, t, n);
}

/**
 * Merges the k sources' lines to outPos, the smallest (stamp, source number) first, until outPos
 * reaches `limit` (FULL), a source's region is used up (its number), or no source is active (DONE).
 */
export function merge(k: i32, limit: u32): i32 {
  const filter = load<u32>(FILTER, 28) != 0;
  let out = <usize>outPos;
  while (true) {
    // the source with the smallest head, m, and the next smallest, b (the bound)
    let m: i32 = -1;
    let b: i32 = -1;
    let mT: u64 = 0;
    let mN: u32 = 0;
    let bT: u64 = 0;
    let bN: u32 = 0;
    for (let j: i32 = 0; j < k; j++) {
      const r = SRC + <usize>j * ROW;
      if (load<u32>(r, ACTIVE) == 0) continue;
      const t = load<u64>(r, TAI);
      const n = load<u32>(r, NANO);
      if (m < 0) {
        m = j;
        mT = t;
        mN = n;
      } else if (before(t, n, mT, mN)) {
        b = m;
        bT = mT;
        bN = mN;
        m = j;
        mT = t;
        mN = n;
      } else if (b < 0 || before(t, n, bT, bN)) {
        b = j;
        bT = t;
        bN = n;
      }
    }
    if (m < 0) {
      outPos = <u32>out;
      return DONE;
    }
    const r = SRC + <usize>m * ROW;
    const lim = <usize>load<u32>(r, LIM);
    let from = <usize>load<u32>(r, START);
    let p = from;
    let e = <usize>load<u32>(r, HEAD_END);
    let t = mT;
    let n = mN;
    // ties with the bound go to the smaller source number
    const orEqual = m < b;
    let used = false;
    while (true) {
      // the head line [p, e) goes out (with a filter: only if kept, in as few copies as lines come)
      if (filter && !kept(t, n)) {
        if (p > from) {
          memory.copy(out, from, p - from);
          out += p - from;
        }
        from = e;
      }
      p = e;
      if (p >= lim) {
        used = true;
        break;
      }
      // the next line becomes the head (unlabelled: it keeps the stamp of the line before)
      const nl = lineEnd(p);
      e = nl + 1;
      if (takeStamp(p, nl, r) || jsonStamp(p, nl, r)) {
        t = load<u64>(r, TAI);
        n = load<u32>(r, NANO);
      }
      if (b >= 0 && !(before(t, n, bT, bN) || (orEqual && t == bT && n == bN))) break;
    }
    if (p > from) {
      memory.copy(out, from, p - from);
      out += p - from;
    }
    store<u32>(r, <u32>p, START);
    store<u32>(r, <u32>e, HEAD_END);
    if (used) {
      outPos = <u32>out;
      return m;
    }
    if (<u32>out >= limit) {
      outPos = <u32>out;
      return FULL;
    }
  }
}
