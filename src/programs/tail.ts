// `upkeep tail`: the named services' log directories merged by TAI64N stamp, filtered, printed in one of
// four formats; -f follows across rotations; --cursor-file resumes an incremental consumer.
// The reading engine (targets, filters, merge, follow) is in io/logdir-read.ts, shared with `upkeep export`.
import { hostname } from 'node:os';
import { type Cursor } from '../core/cursor.js';
import { UsageError } from '../core/errors.js';
import { type Convention } from '../core/tai64n.js';
import { LineFormatter, type OutputFormat, type Stamp, isJsonLogLine, parseJsonLog } from '../core/logline.js';
import {
  DirReader, Engine, type SourceOptions, type Target, compileGrep, convention, lineFilter, resolveTargets, timeStamp,
} from '../io/logdir-read.js';
import { MAX_SOURCES, RawMerge, StdoutWaits, StdoutWriter } from '../io/raw-merge.js';
import { NativeFollow, nativeFollower } from '../io/native-follow.js';

const NL = Buffer.from('\n');

export const HELP = `usage: upkeep tail [options] [SERVICE | LOGDIR ...]

Print the log lines of services (their log directories' archives and current), merged by TAI64N stamp.
A SERVICE (a name without "/") is DIR/NAME/log/main, DIR being --dir, else $SVDIR, else /service; a
LOGDIR (a path with "/") is any multilog, svlogd or s6-log directory. No argument: every service in DIR.

  -n, --lines N          only the newest N lines (-f alone starts with the newest 10)
  -f, --follow           keep printing new lines, across rotations
  --since TIME           lines at or after TIME (see docs/time.md: 2026-11-22 10:00, 2h, today, ...)
  --until TIME           lines at or before TIME
  -g, --grep REGEX       lines whose message matches REGEX (JavaScript syntax)
  --service NAME         only this service (repeatable)
  -o, --output FORMAT    short (default), iso, raw, json
  --tai CONVENTION       daemontools (default: multilog, svlogd) or s6 (s6-log: true TAI, 27 s ahead)
  --host NAME            host name in json output (default: this machine's)
  --cursor-file FILE     resume after the last line given in an earlier run, and record it
  --dir DIR              the service directory (default $SVDIR, else /service)
  --log-path PATH        a service's log directory inside it (default log/main)
  --journal              also the restart journal DIR/.upkeep/journal.jsonl (service upkeep-journal)

Exit codes: 0 done, 100 usage, 111 a log directory or cursor file could not be read.
See man upkeep-tail.
`;

export interface TailOptions extends SourceOptions {
  lines?: number;
  follow?: boolean;
  output?: string;
  host?: string;
  cursorFile?: string;
}

const OUT_SIZE = 1 << 18;

/**
 * Batched output: two buffers written alternately (one may be in flight while the other fills), so no
 * buffer is allocated per batch. For -o raw a run of consecutive lines of one file is copied from the
 * reader's buffer in one Buffer.copy (measured with bench/tail.mjs against sort -m; copying from one
 * shared ArrayBuffer with copyWithin was tried and saved only ~3%).
 */
class Output {
  private readonly regions: Buffer[];
  private readonly inflight: (Promise<void> | null)[] = [null, null];
  private cur = 0;
  private out: Buffer;
  private used = 0;
  broken = false;
  // the pending run: bytes [runS, runE) of runR's buffer, not yet copied
  private runR: DirReader | null = null;
  private runS = 0;
  private runE = 0;

  constructor(private readonly stdout: NodeJS.WriteStream) {
    this.regions = [Buffer.allocUnsafe(OUT_SIZE), Buffer.allocUnsafe(OUT_SIZE)];
    this.out = this.regions[0]!;
    this.outView = new Uint8Array(this.out.buffer, this.out.byteOffset, this.out.length);
  }

  /** Asks reader `r` to call back before it reuses the buffer a pending run points into. */
  adopt(r: DirReader): void {
    r.beforeMove = () => {
      if (this.runR === r) this.copyRun();
    };
  }

  private outView: Uint8Array;

  private setOut(b: Buffer): void {
    this.out = b;
    this.outView = new Uint8Array(b.buffer, b.byteOffset, b.length);
  }

  private room(n: number): void {
    if (this.used + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.used + n));
    this.out.copy(bigger, 0, 0, this.used);
    this.setOut(bigger);
  }

  put(b: Uint8Array): void {
    this.copyRun();
    this.room(b.length);
    this.out.set(b, this.used);
    this.used += b.length;
  }

  putRaw(line: Uint8Array): void {
    this.copyRun();
    this.room(line.length + 1);
    this.out.set(line, this.used);
    this.used += line.length;
    this.out[this.used++] = 10;
  }

  /** -o raw: the reader's current line with its newline. */
  emitRaw(r: DirReader): void {
    if (this.runR === r && r.ls === this.runE && r.nl) {
      this.runE = r.le + 1;
      return;
    }
    this.copyRun();
    if (!r.nl) {
      this.putRaw(r.buf.subarray(r.ls, r.le));
      return;
    }
    this.runR = r;
    this.runS = r.ls;
    this.runE = r.le + 1;
  }

  private copyRun(): void {
    const r = this.runR;
    if (r === null) return;
    this.runR = null;
    const n = this.runE - this.runS;
    this.room(n);
    // (plain Uint8Array set + subarray: ~25 ns a call cheaper than Buffer.copy, measured with bench/tail.mjs)
    this.outView.set(r.view.subarray(this.runS, this.runE), this.used);
    this.used += n;
  }

  /** The first batches are small, so the first lines show at once (--since, -f); then 256 KiB. */
  private limit = 4096;

  full(): boolean {
    return this.used + (this.runR === null ? 0 : this.runE - this.runS) > this.limit;
  }

  /** Writes what is batched; waits for the write when `sync` (a cursor is saved after it). */
  async flush(sync: boolean): Promise<void> {
    this.copyRun();
    if (this.used === 0 || this.broken) return;
    const data = this.out.subarray(0, this.used);
    const region = this.out === this.regions[this.cur] ? this.cur : -1;
    const done = this.waits.wait((res) => this.stdout.write(data, () => res()));
    if (region >= 0) this.inflight[region] = done;
    this.cur ^= 1;
    const busy = this.inflight[this.cur];
    if (busy) await busy; // the other region is reused only once its write is done
    this.inflight[this.cur] = null;
    this.setOut(this.regions[this.cur]!);
    this.used = 0;
    this.limit = Math.min(this.limit * 4, OUT_SIZE - 4096);
    if (sync) await done;
    else if (!this.broken && this.stdout.writableNeedDrain) await this.waits.wait((res) => this.stdout.once('drain', res));
  }

  private readonly waits = new StdoutWaits();

  /** TERM or INT: stops waiting for a reader that may never read again; nothing is written after
   *  (and no cursor saved: `broken`). */
  abort(): void {
    this.broken = true;
    this.waits.abort();
  }
}

/** Runs `upkeep tail`. */
export async function tail(o: TailOptions): Promise<number> {
  const format = (o.output ?? 'short') as OutputFormat;
  if (!['short', 'iso', 'raw', 'json'].includes(format)) throw new UsageError(`-o must be short, iso, raw or json, not ${o.output}`);
  const conv = convention(o.tai);
  // "now" only resolves relative --since/--until (2h, today): Date's milliseconds do. (io/clock.ts's
  // microsecond clock costs ~6 ms of start-up: its `node:process` import and the wait for a millisecond
  // edge; start-up counts for --since, issue 5.)
  const now = Date.now() * 1000;
  const since = timeStamp(o.since, '--since', conv, now);
  const until = timeStamp(o.until, '--until', conv, now, true);
  const re = compileGrep(o.grep);
  const targets = resolveTargets(o);
  const warn = (t: string): void => void process.stderr.write(`upkeep tail: warning: ${t}\n`);
  // (loaded only for --cursor-file: start-up counts for --since, issue 5)
  const cursorFile = o.cursorFile ? await import('../io/cursor-file.js') : null;
  const cursor = cursorFile && o.cursorFile ? cursorFile.loadCursor(o.cursorFile) : null;
  // %header lines: only -o raw shows them (the stored bytes as they are); the other formats skip them.
  const keep = lineFilter({ since, until, re, headers: format === 'raw' });
  const engine = new Engine(targets, keep, o.cursorFile !== undefined, warn, !!(since || until || re) || format !== 'raw');
  const lines = o.lines ?? (o.follow && !o.since && !o.cursorFile ? 10 : null);
  const stop = (): void => engine.stop();
  // A signal also stops waiting for stdout: a reader that stopped reading must not keep tail alive.
  let abortOutput: (() => void) | null = null;
  let signal = false;
  const signalled = (): void => {
    signal = true;
    engine.stop();
    abortOutput?.();
  };
  process.on('SIGTERM', signalled);
  process.on('SIGINT', signalled);
  try {
    // The fast path (io/raw-merge.ts): -o raw with no filter beyond --since/--until, up to MAX_SOURCES
    // directories: the stored lines merged in batches and written to fd 1 directly. With -f each
    // wake-up runs one more pass of it (an append to current: one read, the merge, one writeSync).
    if (format === 'raw' && re === null && !cursorFile && targets.length <= MAX_SOURCES && !targets.some((t) => t.journal)) {
      // (following: fd 1 made non-blocking where it is a pipe or socket, as process.stdout does, so that a
      // full pipe shows as EAGAIN and the writes go on through the stream while TERM can still be handled)
      if (o.follow) void process.stdout;
      const w = new StdoutWriter(stop);
      abortOutput = () => w.abort();
      const kept = engine.start(null, lines, since, until);
      if (kept.length > 0) await w.write(Buffer.concat(kept.flatMap((k) => [k.line, NL])));
      // -f of one directory with no filter: small appends to current are written by the native follower
      // (io/native-follow.ts), the pass drops what it already wrote.
      // (not on a terminal: nobody sees the microseconds there, and its writes may block)
      const addon = o.follow && engine.readers.length === 1 && !since && !until && !process.stdout.isTTY ? nativeFollower() : null;
      const nf = addon ? new NativeFollow(addon, engine.readers[0]!, stop) : null;
      const write = nf
        ? (data: Buffer): Promise<void> => {
            const rest = nf.filter(data);
            return rest.length > 0 ? w.write(rest) : Promise.resolve();
          }
        : w.write;
      const m = new RawMerge(engine.readers, { since, until, write, stopped: () => engine.stopped || w.broken });
      const debug = !!process.env.UPKEEP_DEBUG;
      if (debug) process.stderr.write(`upkeep tail: debug: -o raw merge in ${m.kernel ? 'the WebAssembly kernel' : 'JavaScript'}\n`);
      await m.pass();
      try {
        if (o.follow && !w.broken && !engine.stopped)
          await engine.follow(
            nf
              ? async () => {
                  nf.take();
                  await m.pass();
                  if (!engine.stopped && !w.broken) nf.arm(w.idle());
                }
              : () => m.pass(),
            undefined,
            nf ? (_r, wake) => nf.watch(wake) : undefined,
          );
      } finally {
        if (nf) {
          nf.take();
          nf.release();
          if (debug) process.stderr.write(`upkeep tail: debug: the native follower wrote ${nf.total()} bytes\n`);
        }
      }
      await m.drain();
      return 0;
    }
    return await general(o, { format, conv, targets, engine, cursorFile, cursor, lines, since, until }, (a) => (abortOutput = a));
  } finally {
    process.off('SIGTERM', signalled);
    process.off('SIGINT', signalled);
    engine.close();
    // After a signal, bytes a reader has not taken (a pipe left full) must not keep tail alive: a write
    // queued on stdout keeps node running, and stdout cannot be closed; `tail -F` killed drops them too.
    if (signal && process.stdout.writableLength > 0) process.exit(0);
  }
}

interface Setup {
  format: OutputFormat;
  conv: Convention;
  targets: Target[];
  engine: Engine;
  cursorFile: typeof import('../io/cursor-file.js') | null;
  cursor: Cursor | null;
  lines: number | null;
  since: Stamp | null;
  until: Stamp | null;
}

/** The general path: any format and filter, -n, cursors; and following. */
async function general(
  o: TailOptions,
  { format, conv, targets, engine, cursorFile, cursor, lines, since, until }: Setup,
  onAbort: (abort: () => void) => void,
): Promise<number> {
  const stdout = process.stdout;
  const color = format === 'short' && stdout.isTTY === true && !process.env.NO_COLOR;
  const fmt = new LineFormatter({
    format,
    conv,
    host: o.host ?? hostname(),
    zone: (sec) => -new Date(sec * 1000).getTimezoneOffset() * 60,
    color,
    serviceWidth: Math.max(...targets.map((t) => t.service.length), 1),
  });

  const out = new Output(stdout);
  onAbort(() => out.abort());
  if (format === 'raw') for (const r of engine.readers) out.adopt(r);
  stdout.on('error', () => {
    out.broken = true;
    engine.stop();
  });
  // short/iso: the pieces of a %json line split by the logger ("continued":true) are joined into one
  // output line. The line is held until its next line shows whether a piece follows; it is written at
  // every flush (so the cursor never passes an unwritten line): pieces that straddle a flush (a full
  // batch, or a -f wake-up before the logger wrote the rest) come out as separate lines.
  const joining = format === 'short' || format === 'iso';
  let held: { service: string; stamp: Stamp; exact: boolean; parts: Uint8Array[] } | null = null;
  const putHeld = (): void => {
    if (held === null) return;
    const h = held;
    held = null;
    out.put(fmt.formatMessage(h.service, h.parts.length === 1 ? h.parts[0]! : Buffer.concat(h.parts), h.stamp, h.exact));
  };
  const putLine = (service: string, line: Uint8Array, labelled: boolean, stamp: Stamp, exact = labelled): void => {
    if (format === 'raw') return out.putRaw(line);
    const j = joining && !labelled && isJsonLogLine(line, 0, line.length) ? parseJsonLog(line) : null;
    if (j?.continued && held !== null && held.service === service) {
      held.parts.push(Buffer.from(j.msg));
      return;
    }
    putHeld();
    if (j) held = { service, stamp: { ...stamp }, exact, parts: [Buffer.from(j.msg)] };
    else out.put(fmt.format(service, line, labelled, stamp, exact));
  };
  const flush = async (): Promise<void> => {
    putHeld();
    await out.flush(o.cursorFile !== undefined);
    if (cursorFile && o.cursorFile && !out.broken) cursorFile.saveCursor(o.cursorFile, engine.cursor(cursor));
  };
  const full = (): boolean => out.full();

  for (const k of engine.start(cursor, lines, since, until)) putLine(k.service, k.line, k.labelled, k.stamp, k.exact);
  if (process.env.UPKEEP_DEBUG) process.stderr.write(`upkeep tail: debug: general path (-o ${format})\n`);
  const emit = format === 'raw' ? (r: DirReader): void => out.emitRaw(r) : (r: DirReader): void => putLine(r.service, r.buf.subarray(r.ls, r.le), r.labelled, r.stamp, r.exact);
  const pass = (): Promise<void> => engine.pass(emit, full, flush);
  await pass();
  if (o.follow && !out.broken && !engine.stopped) await engine.follow(pass);
  return 0;
}
