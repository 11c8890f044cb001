// The multilog engine as a library: one Logger per script (per service), owning its log directories.
// Fed Buffers with write() (explicit backpressure: false + 'drain'), end() at end of input, rotateNow() for
// SIGALRM, terminate() for SIGTERM. Clock, stderr sink, base directory, fs seam and pause timer are
// injected; nothing here touches `process`, exits, or sleeps a thread, so many loggers can share a process.
//
// Hot path (see docs/readme/multilog.md for figures): lines are found with indexOf(10) over whole chunks;
// the TAI64N label is written once per input chunk into a reused 26-byte buffer (every line of one read
// arrived at the same moment); lines go into one output buffer per log directory, written when it holds
// FLUSH_AT bytes or when input idles (multilog flushes before every read). Without `t` and filters, runs
// of complete lines are copied at once; with one log directory, a run is copied at once and the labels are
// slotted in and the script run in place (copyWithin), so no per-line allocation happens. Lines that do not
// fit that way (multiple directories, lines longer than the buffer) take the general path: the head (label
// + first 1000 bytes) in the line buffer, then the rest streamed. Memory is bounded: input queued beyond
// HIGH_WATER makes write() return false; long lines are streamed, never held whole.
import { EventEmitter } from 'node:events';
import * as nodeFs from 'node:fs';
import { resolve } from 'node:path';
import { FatalError, describeError } from '../core/errors.js';
import { LINE_MAX, STAMP_LEN, STATUS_SIZE, STDERR_MAX, type Action, type Script } from '../core/script.js';
import { LabelWriter } from '../core/tai64n.js';
import type { Clock } from './clock.js';
import { lock as flock } from './flock.js';
import { LogDir, realFs, type FsSeam, type LogdirContext } from './logdir.js';

const NL = 10;
/** An output buffer is written once it holds this much. */
const FLUSH_AT = 256 * 1024;
/** Room kept beyond the flush point: one more line head (<= 1000 bytes) and its newline always fit. */
const SLACK = 4096;
const OUT_CAP = FLUSH_AT + SLACK;
/**
 * Output buffers start this small and grow (x4) to OUT_CAP only while input comes in bursts, and fall back
 * when it idles: a supervisor running the loggers of many quiet services keeps each one small.
 */
const OUT_MIN = 16 * 1024;
/** write() returns false once this much input is queued. */
const HIGH_WATER = 1024 * 1024;
const PAUSE_MS = 5000;
const DOTS = Buffer.from('...\n');
/**
 * Scratch for the labelled fast path's newline positions, filled and used within one synchronous step, so
 * one per process serves every Logger (the shared logger runs 1000 of them: 32 KB each otherwise).
 */
const NL_POS = new Int32Array(8192);

export interface LoggerOptions {
  script: Script;
  clock: Clock;
  /** Receives `e` output and warnings (complete lines). The Buffer may be reused after the call. */
  stderr: (bytes: Uint8Array) => void;
  /** Relative log directories and `=` files are resolved against this (multilog's starting directory). */
  baseDir: string;
  /** Program name in messages (default "multilog"). */
  prog?: string;
  fs?: FsSeam;
  /** Pause between retries in ms (default 5000). */
  pauseMs?: number;
  /** flock helper (default src/io/flock.ts lock). */
  lock?: (path: string) => Promise<number>;
  /** fd 2 of processors (default: inherited). */
  processorStderr?: number | 'inherit' | 'ignore';
  processorEnv?: NodeJS.ProcessEnv;
}

interface Out {
  buf: Buffer;
  len: number;
  /** buf.length - SLACK: at this fill the buffer grows, or is written once it is at its largest. */
  flushAt: number;
}

function newOut(size: number): Buffer {
  return Buffer.allocUnsafe(size);
}

/**
 * Output buffers of a logger whose input has idled are released (and allocated again by its next input),
 * so that a process running the loggers of many quiet services (the shared logger: 1000 of them) does not
 * keep 16 KiB each for nothing. One sweep timer per process: a logger that went idle registers itself;
 * each sweep releases the buffers of those still idle (so after RELEASE_IDLE_MS to twice that).
 */
const RELEASE_IDLE_MS = 2000;
const NO_OUT = Buffer.alloc(0);
const idleLoggers = new Set<Logger>();
let sweepTimer: NodeJS.Timeout | undefined;

function sweepIdle(): void {
  for (const lg of idleLoggers) lg.releaseIdleOutputs();
  idleLoggers.clear();
  clearInterval(sweepTimer);
  sweepTimer = undefined;
}

/** The sweep, now (tests). */
export function releaseIdleOutputsNow(): void {
  if (sweepTimer !== undefined) sweepIdle();
}

function noteIdle(lg: Logger): void {
  idleLoggers.add(lg);
  if (sweepTimer === undefined) {
    sweepTimer = setInterval(sweepIdle, RELEASE_IDLE_MS);
    sweepTimer.unref();
  }
}

/**
 * A running multilog. Create with Logger.open() (start-up: `=` files, locks, recovery; rejects with a
 * FatalError exactly where multilog dies). Events: 'drain' (write() may be called again), 'finish' (all
 * input processed, logs closed; also `done` resolves).
 */
export class Logger extends EventEmitter {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;

  private readonly actions: readonly Action[];
  private readonly trivial: boolean;
  private readonly ts: boolean;
  private readonly stampLen: number;
  private readonly dirs: LogDir[] = [];
  private readonly outs: Out[] = [];
  private readonly statusFds: number[] = [];
  private readonly fs: FsSeam;
  private readonly label = new LabelWriter('daemontools');
  /** The line buffer: (timestamp +) first 1000 bytes; byte 1000 and the padding are newlines for `=`. */
  private readonly line = Buffer.alloc(STATUS_SIZE, NL);
  private readonly stamp = Buffer.alloc(STAMP_LEN, 32);
  private readonly sel: Uint8Array;
  /** Newline positions of a run of lines (the labelled fast path): scratch shared by every Logger. */
  private readonly nlPos = NL_POS;

  private queue: Buffer[] = [];
  private qHead = 0;
  private qPos = 0;
  private queued = 0;
  private wantDrain = false;

  // line state
  private inLine = false;
  private decided = false;
  private headLen = 0;
  private stampFresh = false;

  private needFlush = false;
  /** The output buffers were released while input idled (releaseIdleOutputs); ensureOutputs() restores them. */
  private outsReleased = false;
  /** A `=` write that failed and must be retried before anything else happens. */
  private pendingStatus = -1;
  private running = false;
  private ending = false;
  private terminating = false;
  private rotateRequested = false;
  /** `%rotate`: directories whose `current` is due. */
  private readonly dueDirs = new Set<LogDir>();
  private finished = false;
  private pauseTimer: NodeJS.Timeout | undefined;
  private pauseWake: (() => void) | undefined;

  private constructor(private readonly opts: LoggerOptions) {
    super();
    this.done = new Promise((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => {});
    const s = opts.script;
    this.actions = s.actions;
    this.trivial = s.trivial;
    this.ts = s.timestamp;
    this.stampLen = s.timestamp ? STAMP_LEN : 0;
    this.fs = opts.fs ?? realFs;
    this.sel = new Uint8Array(s.logdirs.length).fill(1);
  }

  /** Start-up: opens `=` files, then each log directory in script order (lock + recovery). */
  static async open(opts: LoggerOptions): Promise<Logger> {
    const lg = new Logger(opts);
    try {
      await lg.start();
    } catch (e) {
      lg.releaseAll();
      throw e;
    }
    return lg;
  }

  private get prog(): string {
    return this.opts.prog ?? 'multilog';
  }

  private async start(): Promise<void> {
    const { script, baseDir } = this.opts;
    const fs = this.fs;
    const C = nodeFs.constants;
    for (const file of script.statusFiles) {
      const path = file === '' ? '' : resolve(baseDir, file); // open("") fails ENOENT, as in multilog
      try {
        fs.closeSync(fs.openSync(path, C.O_WRONLY | C.O_NONBLOCK | C.O_APPEND | C.O_CREAT, 0o600));
      } catch (e) {
        throw new FatalError(`unable to create ${file}`, e);
      }
      try {
        this.statusFds.push(fs.openSync(path, C.O_WRONLY | C.O_NONBLOCK));
      } catch (e) {
        throw new FatalError(`unable to write ${file}`, e);
      }
    }
    const ctx: LogdirContext = {
      fs,
      clock: this.opts.clock,
      baseDir,
      prog: this.prog,
      say: (line) => this.opts.stderr(Buffer.from(line)),
      pause: () => this.pause(),
      holdUp: (d) => void (this.holdUps += d),
      lock: this.opts.lock ?? ((p) => flock(p, 0o600)),
      processorStderr: this.opts.processorStderr ?? 'inherit',
      processorEnv: this.opts.processorEnv,
      requestRotate: (d) => {
        this.dueDirs.add(d);
        this.kick();
      },
    };
    for (const u of script.unknown ?? []) this.opts.stderr(Buffer.from(`${this.prog}: warning: unknown directive ${u} ignored\n`));
    for (const spec of script.logdirs) {
      const d = new LogDir(spec, ctx);
      await d.open();
      this.dirs.push(d);
      this.outs.push({ buf: newOut(OUT_MIN), len: 0, flushAt: OUT_MIN - SLACK });
    }
  }

  /** The retry pause: a timer (destroy() cancels it). */
  private pause(): Promise<void> {
    this.holdUps++;
    return new Promise((res) => {
      this.pauseWake = res;
      this.pauseTimer = setTimeout(() => {
        this.pauseTimer = undefined;
        this.pauseWake = undefined;
        this.holdUps--;
        res();
      }, this.opts.pauseMs ?? PAUSE_MS);
    });
  }

  /** Waits in progress that hold the logger up: pauses after errors, processors, syncs. */
  private holdUps = 0;

  /** True while a line has been started but its newline not yet seen. */
  get midLine(): boolean {
    return this.inLine;
  }

  /** True once the logger has finished (end of input or SIGTERM) and released its directories. */
  get isFinished(): boolean {
    return this.finished;
  }

  /** Bytes accepted but not yet processed. */
  get pending(): number {
    return this.queued;
  }

  /**
   * Feeds input. Returns false when the caller should wait for 'drain' before writing more: when 1 MiB is
   * queued, or at once while the logger is held up (processor, pause after an error). The logger
   * keeps no reference to `chunk` after the call (it copies what it could not process at once), so a
   * reader may reuse one buffer for every read.
   */
  write(chunk: Uint8Array): boolean {
    if (this.ending || this.finished) throw new Error('write after end');
    // Held up by a processor, a pause after an error or a sync: like multilog, which does not read while
    // it runs a processor or retries a write, ask for no more input (the writer then blocks on the pipe).
    const stalled = this.holdUps > 0;
    if (chunk.length > 0) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      this.queue.push(b);
      this.queued += b.length;
      this.kick();
      const last = this.queue.length - 1;
      if (last >= this.qHead && this.queue[last] === b) {
        if (last === this.qHead && this.qPos > 0) {
          this.queue[last] = Buffer.from(b.subarray(this.qPos));
          this.queued -= this.qPos;
          this.qPos = 0;
        } else {
          this.queue[last] = Buffer.from(b);
        }
      }
    }
    if (stalled || this.queued >= HIGH_WATER) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  /** End of input: a partial last line gets its newline, logs are flushed, fsynced and marked 0744. */
  end(): Promise<void> {
    this.ending = true;
    this.kick();
    return this.done;
  }

  /** SIGALRM: at the next input boundary, rotate every log directory whose `current` is not empty. */
  rotateNow(): void {
    this.rotateRequested = true;
    this.kick();
  }

  /**
   * SIGTERM: once the input received so far is processed, finish as at end of input, unless a line is
   * unfinished: then the logger keeps taking input (the caller should feed it one byte at a time, see
   * `midLine`) until that line's newline, and finishes right after it.
   */
  terminate(): Promise<void> {
    this.terminating = true;
    this.kick();
    return this.done;
  }

  /** Resolves when every queued byte has been processed (or the logger has finished). */
  idle(): Promise<void> {
    if (!this.running || this.finished) return Promise.resolve();
    return new Promise((res) => this.once('idle', res));
  }

  private kick(): void {
    if (this.running || this.finished) return;
    this.running = true;
    this.run().then(
      () => {
        this.running = false;
        this.emit('idle');
        if (this.finished) return;
        if (this.wantDrain && this.queued < HIGH_WATER) {
          this.wantDrain = false;
          this.emit('drain');
        }
        // input that arrived while the last step was finishing, or a request made meanwhile
        if (this.qHead < this.queue.length || this.ending || this.rotateRequested || (this.dueDirs.size > 0 && !this.inLine && !this.ending) || (this.terminating && !this.inLine)) this.kick();
      },
      (e) => {
        this.running = false;
        this.finished = true;
        this.releaseAll();
        this.rejectDone(e);
        if (this.listenerCount('error') > 0) this.emit('error', e);
      },
    );
  }

  private async run(): Promise<void> {
    for (;;) {
      while (this.qHead < this.queue.length) {
        const chunk = this.queue[this.qHead]!;
        this.stampFresh = false;
        this.process(chunk);
        if (this.qPos >= chunk.length) {
          this.queued -= chunk.length;
          this.queue[this.qHead++] = EMPTY;
          this.qPos = 0;
          if (this.qHead > 1024) {
            this.queue = this.queue.slice(this.qHead);
            this.qHead = 0;
          }
        }
        if (this.pendingStatus >= 0) await this.retryStatus();
        if (this.needFlush) await this.flushAll();
      }
      this.queue.length = 0;
      this.qHead = 0;
      // Input idles: like multilog before each read, write out everything pending.
      await this.flushAll(true);
      if (this.rotateRequested) {
        this.rotateRequested = false;
        for (const d of this.dirs) if (d.bytes > 0) await d.rotate();
        continue;
      }
      // %rotate: at an input boundary between lines (a timed rotation never cuts a line in two)
      if (this.dueDirs.size > 0 && !this.inLine && !this.ending) {
        const due = [...this.dueDirs];
        this.dueDirs.clear();
        for (const d of due) if (d.bytes > 0) await d.rotate();
        continue;
      }
      if (this.qHead < this.queue.length) continue;
      if (this.ending || (this.terminating && !this.inLine)) {
        await this.finish();
        return;
      }
      if (!this.outsReleased && this.outs.length > 0) noteIdle(this);
      return;
    }
  }

  /** True while the output buffers are released (tests). */
  get outputsReleased(): boolean {
    return this.outsReleased;
  }

  /** The sweep: input has idled and everything is written; the output buffers go until the next input. */
  releaseIdleOutputs(): void {
    if (this.running || this.finished || this.outsReleased) return;
    for (const o of this.outs) if (o.len > 0) return;
    for (const o of this.outs) {
      o.buf = NO_OUT;
      o.flushAt = 0;
    }
    this.outsReleased = true;
  }

  private ensureOutputs(): void {
    this.outsReleased = false;
    for (const o of this.outs) {
      o.buf = newOut(OUT_MIN);
      o.flushAt = OUT_MIN - SLACK;
    }
  }

  /** Processes `chunk` from qPos until it is consumed or an output buffer must be written first. */
  private process(chunk: Buffer): void {
    if (this.outsReleased) this.ensureOutputs();
    const end = chunk.length;
    let pos = this.qPos;
    const outs = this.outs;
    const nOut = outs.length;
    while (pos < end) {
      if (this.needFlush || this.pendingStatus >= 0) break;
      if (!this.inLine) {
        if (this.ts && !this.stampFresh) {
          this.label.write(this.stamp, 0, this.opts.clock.nowMicros());
          this.stampFresh = true;
        }
        if (this.trivial) {
          if (!this.ts) {
            // No label, no filter: copy every complete line that fits at once.
            let room = OUT_CAP;
            for (let j = 0; j < nOut; j++) room = Math.min(room, outs[j]!.buf.length - outs[j]!.len);
            const limit = Math.min(end, pos + room);
            const nl = limit > pos ? chunk.lastIndexOf(NL, limit - 1) : -1;
            if (nl >= pos) {
              for (let j = 0; j < nOut; j++) {
                const o = outs[j]!;
                chunk.copy(o.buf, o.len, pos, nl + 1);
                o.len += nl + 1 - pos;
                if (o.len >= o.flushAt) this.full(o);
              }
              pos = nl + 1;
              if (nOut === 0) this.needFlush = false;
              continue;
            }
          }
        }
        if (nOut === 1 && !(this.trivial && !this.ts)) {
          // One log directory (the usual case): copy the run of complete lines that fits in one call,
          // then, left to right, put each label in front of its line (copyWithin opens the gap) and run
          // the script on the line right there; a line not selected is overwritten by the next one.
          // Buffer.copy allocates a view per call: a copy per line cost more than moving the run twice.
          const o = outs[0]!;
          const gap = this.stampLen;
          const room = o.buf.length - o.len;
          const nls = this.nlPos;
          let n = 0;
          let p = pos;
          let need = 0;
          while (n < nls.length) {
            const nl = chunk.indexOf(NL, p);
            if (nl < 0) break;
            const add = nl + 1 - p + gap;
            if (need + add > room) break;
            nls[n++] = nl;
            need += add;
            p = nl + 1;
          }
          if (n > 0) {
            const buf = o.buf;
            const st = this.stamp;
            const filter = !this.trivial;
            let src = o.len + gap * n;
            let dst = o.len;
            chunk.copy(buf, src, pos, p);
            let s0 = pos;
            for (let i = 0; i < n; i++) {
              const len = nls[i]! + 1 - s0; // with its newline
              const lineStart = dst;
              if (gap !== 0) {
                buf.set(st, dst);
                dst += gap;
              }
              if (dst !== src) buf.copyWithin(dst, src, src + len);
              dst += len;
              src += len;
              s0 += len;
              if (filter) {
                const lineLen = dst - 1 - lineStart;
                this.decideAt(buf, lineStart, lineLen < LINE_MAX ? lineLen : LINE_MAX);
                if (this.sel[0] === 0) dst = lineStart;
                if (this.pendingStatus >= 0) break; // a `=` write failed: stop after this line
              }
            }
            o.len = dst;
            if (dst >= o.flushAt) this.full(o);
            pos = s0;
            continue;
          }
        }
        if (this.trivial) {
          if (this.ts) {
            const nl = chunk.indexOf(NL, pos);
            if (nl >= 0) {
              const n = nl + 1 - pos;
              let fits = true;
              for (let j = 0; j < nOut; j++) if (outs[j]!.buf.length - outs[j]!.len < n + STAMP_LEN) fits = false;
              if (fits) {
                const st = this.stamp;
                for (let j = 0; j < nOut; j++) {
                  const o = outs[j]!;
                  const b = o.buf;
                  let l = o.len;
                  b.set(st, l);
                  l += STAMP_LEN;
                  chunk.copy(b, l, pos, nl + 1);
                  o.len = l + n;
                  if (o.len >= o.flushAt) this.full(o);
                }
                pos = nl + 1;
                continue;
              }
            }
          }
        }
        // General path: assemble the head of a new line in the line buffer.
        this.inLine = true;
        this.decided = false;
        if (this.ts) this.stamp.copy(this.line, 0);
        this.headLen = this.stampLen;
      }
      if (!this.decided) {
        const nl = chunk.indexOf(NL, pos);
        const lineEnd = nl < 0 || nl > end ? end : nl;
        const take = Math.min(lineEnd - pos, LINE_MAX - this.headLen);
        if (take > 0) chunk.copy(this.line, this.headLen, pos, pos + take);
        this.headLen += take;
        pos += take;
        if (pos === nl) {
          this.decide();
          this.emitHead();
          this.emitNewline();
          pos++;
          this.inLine = false;
          continue;
        }
        if (this.headLen === LINE_MAX) {
          this.decide();
          this.emitHead();
          this.decided = true;
          continue;
        }
        break; // chunk exhausted inside the head
      }
      // Streaming the tail of a long line to the directories that selected it.
      const nl = chunk.indexOf(NL, pos);
      const lineEnd = nl < 0 ? end : nl;
      if (lineEnd > pos) {
        let room = lineEnd - pos;
        for (let j = 0; j < nOut; j++) if (this.sel[j]) room = Math.min(room, outs[j]!.buf.length - outs[j]!.len);
        if (room === 0) {
          this.needFlush = true;
          break;
        }
        for (let j = 0; j < nOut; j++) {
          if (!this.sel[j]) continue;
          const o = outs[j]!;
          chunk.copy(o.buf, o.len, pos, pos + room);
          o.len += room;
          if (o.len >= o.flushAt) this.full(o);
        }
        pos += room;
        continue;
      }
      // pos === nl
      let full = false;
      for (let j = 0; j < nOut; j++) if (this.sel[j] && outs[j]!.len >= outs[j]!.buf.length) full = true;
      if (full) {
        this.needFlush = true;
        break;
      }
      this.emitNewline();
      pos++;
      this.inLine = false;
      this.decided = false;
    }
    this.qPos = pos;
  }

  /** Runs the script over the line head in the line buffer. */
  private decide(): void {
    if (this.trivial) return; // sel stays all ones
    this.decideAt(this.line, 0, this.headLen);
  }

  /**
   * Runs the script over a line head (the label and at most 1000 bytes) at buf[off, off+len): +, -, e and =
   * act in order; each logdir records the selection state at its place in `sel`.
   */
  private decideAt(buf: Buffer, off: number, len: number): void {
    let selected = true;
    const actions = this.actions;
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      switch (a.kind) {
        case 'select':
          if (!selected && a.test(buf, len, off)) selected = true;
          break;
        case 'deselect':
          if (selected && a.test(buf, len, off)) selected = false;
          break;
        case 'stderr':
          if (selected) {
            if (len > STDERR_MAX) {
              this.opts.stderr(Buffer.concat([buf.subarray(off, off + STDERR_MAX), DOTS]));
            } else {
              const b = Buffer.allocUnsafe(len + 1);
              buf.copy(b, 0, off, off + len);
              b[len] = NL;
              this.opts.stderr(b);
            }
          }
          break;
        case 'status':
          if (selected) this.writeStatus(a.index, buf, off, len);
          break;
        case 'logdir':
          this.sel[a.index] = selected ? 1 : 0;
          break;
      }
    }
  }

  /** `=file`: the line head padded with newlines to 1001 bytes, written at offset 0. */
  private writeStatus(index: number, buf: Buffer, off: number, len: number): void {
    const line = this.line;
    if (buf !== line || off !== 0) buf.copy(line, 0, off, off + len);
    line.fill(NL, len, STATUS_SIZE);
    let err: unknown = { code: 'EIO' }; // a short write
    try {
      if (this.fs.writeSync(this.statusFds[index]!, line, 0, STATUS_SIZE, 0) === STATUS_SIZE) return;
    } catch (e) {
      err = e;
    }
    // Keep this line's bytes for the retry; processing stops until it succeeds.
    this.pendingStatus = index;
    this.pendingStatusBytes = Buffer.from(line);
    this.pendingStatusErr = err;
  }

  private pendingStatusErr: unknown;

  private pendingStatusBytes: Buffer | undefined;

  private async retryStatus(): Promise<void> {
    const index = this.pendingStatus;
    const bytes = this.pendingStatusBytes!;
    const file = this.opts.script.statusFiles[index]!;
    let err = this.pendingStatusErr;
    for (;;) {
      this.opts.stderr(Buffer.from(`${this.prog}: warning: unable to write ${file}, pausing: ${describeError(err)}\n`));
      await this.pause();
      err = { code: 'EIO' };
      try {
        if (this.fs.writeSync(this.statusFds[index]!, bytes, 0, STATUS_SIZE, 0) === STATUS_SIZE) break;
      } catch (e) {
        err = e;
      }
    }
    this.pendingStatus = -1;
    this.pendingStatusBytes = undefined;
    this.pendingStatusErr = undefined;
  }

  private emitHead(): void {
    const len = this.headLen;
    for (let j = 0; j < this.outs.length; j++) {
      if (!this.sel[j]) continue;
      const o = this.outs[j]!;
      this.line.copy(o.buf, o.len, 0, len);
      o.len += len;
      if (o.len >= o.flushAt) this.full(o);
    }
  }

  private emitNewline(): void {
    for (let j = 0; j < this.outs.length; j++) {
      if (!this.sel[j]) continue;
      const o = this.outs[j]!;
      o.buf[o.len++] = NL;
      if (o.len >= o.flushAt) this.full(o);
    }
  }

  /** `o` reached its flush point: grow it while it is not at its largest, else have it written. */
  private full(o: Out): void {
    const size = o.buf.length;
    if (size >= OUT_CAP) {
      this.needFlush = true;
      return;
    }
    const bigger = newOut(Math.min(OUT_CAP, size * 4));
    o.buf.copy(bigger, 0, 0, o.len);
    o.buf = bigger;
    o.flushAt = bigger.length - SLACK;
  }

  /** Writes every output buffer; `idle` (input idles): a large buffer that was not needed shrinks back. */
  private async flushAll(idle = false): Promise<void> {
    this.needFlush = false;
    for (let j = 0; j < this.outs.length; j++) {
      const o = this.outs[j]!;
      if (o.len === 0) continue;
      await this.dirs[j]!.write(o.buf, 0, o.len);
      if (idle && o.buf.length > OUT_MIN && o.len < OUT_MIN / 2) {
        o.buf = newOut(OUT_MIN);
        o.flushAt = OUT_MIN - SLACK;
      }
      o.len = 0;
    }
  }

  private async finish(): Promise<void> {
    if (this.outsReleased) this.ensureOutputs();
    if (this.inLine) {
      // partial last line: it gets its newline
      if (!this.decided) {
        this.decide();
        this.emitHead();
      }
      this.emitNewline();
      this.inLine = false;
      this.decided = false;
      if (this.pendingStatus >= 0) await this.retryStatus();
    }
    await this.flushAll();
    for (const d of this.dirs) await d.close();
    this.closeStatusFiles();
    this.finished = true;
    this.resolveDone();
    this.emit('finish');
  }

  private closeStatusFiles(): void {
    for (const fd of this.statusFds) {
      try {
        this.fs.closeSync(fd);
      } catch {
        // ignore
      }
    }
    this.statusFds.length = 0;
  }

  private releaseAll(): void {
    for (const d of this.dirs) d.release();
    this.closeStatusFiles();
  }

  /** Abandons the logger at once (no flush): cancels a pause, closes every descriptor. For tests/shutdown. */
  destroy(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    this.pauseWake = undefined;
    this.finished = true;
    this.releaseAll();
  }
}

const EMPTY = Buffer.alloc(0);
