// The native follower (src/native/follow.c, built into dist/native/follow.node) as `upkeep tail -f -o raw`
// uses it: one log directory, no filter. Node cannot wake up for an append as fast as `tail -F` does
// (issue 5's follow target; measured in bench/tail.mjs, explained in src/native/follow.c), so a thread in
// C watches the directory in place of fs.watch and writes small appends to stdout as soon as they are
// readable; it wakes the JavaScript pass for everything else, and the pass reads every byte as always and
// drops the bytes the thread already wrote. Nothing else changes: rotation, retention warnings,
// processors, stamps stay in JavaScript.
//
// The hand-over, around every pass:
//  - take() before the pass disarms the thread and adds the bytes it wrote since the last take to `drop`;
//  - the pass's output goes through filter(), which drops that many bytes first (the pass reads the live
//    file from the offset the thread was armed with, so its output begins with exactly those bytes);
//  - arm() after the pass, when all of `drop` was found again, stdout has nothing in flight, and the
//    reader is at the live file: the thread goes on from the first byte the pass left unwritten.
// UPKEEP_NATIVE=0 turns it off (the JavaScript follower alone, as where it is not built).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DirReader } from './logdir-read.js';

interface Addon {
  watch(dir: string, name: string, callback: () => void): void;
  arm(fd: number, offset: number): void;
  take(): number;
  events(): number;
  release(): void;
  total(): number;
}

const EV_OTHER = 2;

let addon: Addon | null | undefined;
/** The addon's one thread serves one follower at a time (its state is the process's). */
let inUse = false;

/**
 * The addon, once per process; null where it is not built, cannot load, or UPKEEP_NATIVE=0, or while
 * another follower in this process has it (NativeFollow.release gives it back).
 */
export function nativeFollower(env: NodeJS.ProcessEnv = process.env): Addon | null {
  if (env.UPKEEP_NATIVE === '0' || process.platform !== 'linux' || inUse) return null;
  if (addon === undefined) {
    try {
      // (this file runs as dist/io/native-follow.js, inside dist/bundle/tail.cjs, or as src/io/*.ts in tests)
      const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
      const m = { exports: {} as Addon };
      process.dlopen(m, join(here, '..', '..', 'dist', 'native', 'follow.node'));
      addon = typeof m.exports.arm === 'function' ? m.exports : null;
    } catch {
      addon = null;
    }
  }
  return addon;
}

export class NativeFollow {
  /** Bytes the thread wrote that the pass has not yet dropped. */
  private drop = 0;
  private off = false;

  constructor(
    private readonly a: Addon,
    private readonly r: DirReader,
    /** Called when the thread found stdout broken (the caller stops, as after a failed write). */
    private readonly onBroken: () => void,
  ) {
    inUse = true;
    // (a truncated live file is read again from its start: what the thread wrote of the old contents
    // is not in the pass's output)
    r.onTruncate = () => {
      this.drop = 0;
    };
  }

  /**
   * Watches the reader's directory in place of fs.watch: `wake(dirty)` for every event but the appends
   * the thread wrote (dirty: something other than an append to the live file, the directory is to be
   * listed again). False when the thread cannot watch it (the caller uses fs.watch).
   */
  watch(wake: (dirty: boolean) => void): boolean {
    try {
      this.a.watch(this.r.dir, this.r.curFile, () => wake((this.a.events() & EV_OTHER) !== 0));
      return true;
    } catch (e) {
      this.disable(e);
      return false;
    }
  }

  private disable(e: unknown): void {
    // (an inotify or descriptor limit: the JavaScript follower alone, for good)
    this.off = true;
    if (process.env.UPKEEP_DEBUG) process.stderr.write(`upkeep tail: debug: native follower off: ${(e as Error).message}\n`);
  }

  /** Before a pass: the thread stops, and what it wrote is dropped from the pass's output. */
  take(): void {
    const k = this.a.take();
    if (k === -1) this.onBroken();
    else if (k === -2) {
      // the live file shrank below what the thread wrote: it is read again from its start (the reader
      // may not see it, being behind the thread)
      this.drop = 0;
      this.r.restartLive();
    } else this.drop += k;
  }

  /** A batch of the pass's output without the bytes the thread already wrote. */
  filter(data: Buffer): Buffer {
    if (this.drop === 0) return data;
    const n = Math.min(this.drop, data.length);
    this.drop -= n;
    return data.subarray(n);
  }

  /** After a pass: the thread takes over the live file's appends, if it can now. */
  arm(stdoutIdle: boolean): void {
    if (this.off || this.drop !== 0 || !stdoutIdle) return;
    const p = this.r.liveOffset();
    if (p === null) return;
    try {
      this.a.arm(p.fd, p.offset);
    } catch (e) {
      this.disable(e);
    }
  }

  /** Bytes the thread wrote in this process (UPKEEP_DEBUG, tests). */
  total(): number {
    return this.a.total();
  }

  release(): void {
    this.a.release();
    this.r.onTruncate = null;
    inUse = false;
  }
}
