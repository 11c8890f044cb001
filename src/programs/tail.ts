// `upkeep tail`: the named services' log directories merged by TAI64N stamp, filtered, printed in one of
// four formats; -f follows across rotations; --cursor-file resumes an incremental consumer.
// The reading engine (targets, filters, merge, follow) is shared with `upkeep export`.
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { type Convention } from '../core/tai64n.js';
import { type Cursor, type DirPosition } from '../core/cursor.js';
import { FatalError, UsageError, describeError } from '../core/errors.js';
import { LineFormatter, type OutputFormat, type Stamp, unixStamp } from '../core/logline.js';
import { MergeHeap } from '../core/merge.js';
import { mergeArrays } from '../core/merge.js';
import { type LocalCalendar, TimeSpecError, parseTimeSpec } from '../core/timespec.js';
import { wallClock } from '../io/clock.js';
import { loadCursor, saveCursor } from '../io/cursor-file.js';
import { DirReader, type KeptLine, type Target, lastLines, serviceOf, startAll, startAt } from '../io/logdir-read.js';

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

export interface SourceOptions {
  targets: string[];
  dir?: string;
  logPath?: string;
  service?: string[];
  since?: string;
  until?: string;
  grep?: string;
  tai?: string;
  env?: NodeJS.ProcessEnv;
  /** Also read the restart journal DIR/.upkeep/journal.jsonl. */
  journal?: boolean;
}

/** The service label of the restart journal's lines. */
export const JOURNAL_SERVICE = 'upkeep-journal';

/** Resolves SERVICE names and LOGDIR paths to log directories with their service labels. */
export function resolveTargets(o: SourceOptions): Target[] {
  const env = o.env ?? process.env;
  const svdir = o.dir ?? (env.SVDIR || '/service');
  const logPath = o.logPath ?? 'log/main';
  let names = o.targets;
  if (names.length === 0) {
    let entries: string[];
    try {
      entries = readdirSync(svdir).sort();
    } catch (e) {
      throw new FatalError(`unable to read service directory ${svdir}`, e);
    }
    names = entries.filter((n) => !n.startsWith('.') && existsSync(join(svdir, n, logPath, 'current')));
    if (names.length === 0 && !o.journal) throw new FatalError(`unable to find services with logs in ${svdir}: none has ${logPath}/current`);
  }
  const out: Target[] = names.map((t) =>
    t.includes('/') ? { dir: resolve(t), service: serviceOf(resolve(t)) } : { dir: resolve(svdir, t, logPath), service: t },
  );
  for (const t of out) {
    let ok = false;
    try {
      ok = statSync(t.dir).isDirectory();
    } catch (e) {
      throw new FatalError(`unable to open log directory ${t.dir}`, e);
    }
    if (!ok) throw new FatalError(`unable to open log directory ${t.dir}: not a directory`);
  }
  const only = o.service && o.service.length > 0 ? new Set(o.service) : null;
  const picked = only ? out.filter((t) => only.has(t.service)) : out;
  if (o.journal) {
    const jdir = join(svdir, '.upkeep');
    if (!existsSync(join(jdir, 'journal.jsonl'))) throw new FatalError(`unable to open journal ${join(jdir, 'journal.jsonl')}: file does not exist`);
    picked.push({ dir: resolve(jdir), service: JOURNAL_SERVICE, journal: true });
  }
  return picked;
}

export function convention(tai: string | undefined): Convention {
  if (tai === undefined || tai === 'daemontools') return 'daemontools';
  if (tai === 's6') return 's6';
  throw new UsageError(`--tai must be daemontools or s6, not ${tai}`);
}

/** The local calendar the shared time grammar needs, from Node's own time zone. */
export const localCalendar: LocalCalendar = {
  fromLocal: (y, mo, d, h, mi, s) => new Date(y, mo - 1, d, h, mi, s).getTime() * 1000,
  startOfDay(us, days) {
    const t = new Date(us / 1000);
    return new Date(t.getFullYear(), t.getMonth(), t.getDate() + days).getTime() * 1000;
  },
  subDays(us, days) {
    const t = new Date(Math.floor(us / 1000));
    t.setDate(t.getDate() - days);
    return t.getTime() * 1000 + (us % 1000);
  },
};

/** A --since/--until value as a stamp in the run's convention. */
export function timeStamp(text: string | undefined, opt: string, conv: Convention, nowMicros: number, end = false): Stamp | null {
  if (text === undefined) return null;
  let us: number;
  try {
    us = parseTimeSpec(text, nowMicros, localCalendar);
  } catch (e) {
    if (e instanceof TimeSpecError) throw new UsageError(`${opt}: ${e.message}`);
    throw e;
  }
  const sec = Math.floor(us / 1e6);
  // The grammar has microseconds: an --until covers its whole microsecond (daemontools stamps end in 500 ns).
  return unixStamp(sec, (us - sec * 1e6) * 1000 + (end ? 999 : 0), conv);
}

export interface Filter {
  since: Stamp | null;
  until: Stamp | null;
  re: RegExp | null;
}

/** The per-line filter: --since, --until, -g, and a resumed cursor's time limit. */
export function lineFilter(f: Filter): (r: DirReader) => boolean {
  const { since, until, re } = f;
  return (r) => {
    const s = r.stamp;
    if (since && (s.tai < since.tai || (s.tai === since.tai && s.nano < since.nano))) return false;
    if (until && (s.tai > until.tai || (s.tai === until.tai && s.nano > until.nano))) return false;
    if (r.after && (s.tai < r.after.tai || (s.tai === r.after.tai && s.nano <= r.after.nano))) return false;
    if (re) {
      const from = r.labelled ? Math.min(r.ls + 26, r.le) : r.ls;
      re.lastIndex = 0;
      if (!re.test(r.buf.toString('utf8', from, r.le))) return false;
    }
    return true;
  };
}

export function compileGrep(g: string | undefined): RegExp | null {
  if (g === undefined) return null;
  try {
    return new RegExp(g);
  } catch (e) {
    throw new UsageError(`-g: bad regular expression: ${describeError(e)}`);
  }
}

/**
 * The shared engine: readers positioned (from a cursor, -n, or the start), one merge pass at a time,
 * and a follow loop woken by fs.watch on each directory (and a slow poll, in case events are missed).
 */
export class Engine {
  readers: DirReader[] = [];
  private heap = new MergeHeap<DirReader>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private kick: (() => void) | null = null;
  private pending = false;
  stopped = false;

  constructor(
    targets: Target[],
    private readonly keep: (r: DirReader) => boolean,
    private readonly track: boolean,
    private readonly warn: (t: string) => void,
    /** False when no filter can reject a line (the per-line call is skipped) unless a reader resumes by time. */
    private filtering = true,
  ) {
    this.readers = targets.map(
      (t, rank) =>
        new DirReader(t.dir, { service: t.service, rank, track, warn, ...(t.journal ? { curFile: 'journal.jsonl', jsonStamp: true } : {}) }),
    );
  }

  /** Positions every reader: from the cursor if it knows the directory, else -n, else --since/start. */
  start(cursor: Cursor | null, lines: number | null, since: Stamp | null, until: Stamp | null): KeptLine[] {
    const kept: KeptLine[][] = [];
    for (const r of this.readers) {
      const pos = cursor?.dirs[r.dir];
      if (pos) {
        const w = startAt(r, pos);
        if (w) this.warn(w);
        if (r.after) this.filtering = true;
      } else if (lines !== null) kept.push(lastLines(r, lines, this.keep, this.warn));
      else startAll(r, { since, until });
    }
    if (lines === null) return [];
    const all = mergeArrays(kept);
    return all.slice(Math.max(0, all.length - lines));
  }

  /** One merge pass over whatever lines are available now; `emit` gets each kept line. */
  async pass(emit: (r: DirReader) => void, full: () => boolean, flush: () => Promise<void>): Promise<void> {
    const heap = this.heap;
    const keep = this.filtering ? this.keep : null;
    const track = this.track;
    for (const r of this.readers) if (r.next()) heap.push(r);
    for (let t = heap.top(); t !== undefined; t = heap.top()) {
      if (keep === null || keep(t)) emit(t);
      if (track) t.markGiven();
      if (t.next()) {
        if (!heap.topStillFirst()) heap.update();
      } else heap.pop();
      if (full()) await flush();
      if (this.stopped) break;
    }
    while (heap.pop() !== undefined);
    await flush();
  }

  /** Follows until stop(): each wake-up refreshes every reader and runs a pass. */
  async follow(pass: () => Promise<void>, pollMs = 2000): Promise<void> {
    const wake = (): void => {
      this.pending = true;
      this.kick?.();
    };
    for (const r of this.readers) {
      try {
        this.watchers.push(watch(r.dir, { persistent: true }, wake));
      } catch (e) {
        this.warn(`unable to watch ${r.dir}: ${describeError(e)}: polling every ${pollMs} ms`);
      }
    }
    this.timer = setInterval(wake, pollMs);
    while (!this.stopped) {
      if (!this.pending) await new Promise<void>((res) => (this.kick = res));
      this.kick = null;
      this.pending = false;
      if (this.stopped) break;
      for (const r of this.readers) {
        try {
          r.refresh();
        } catch (e) {
          // The directory went away or became unreadable: say so once per wake-up, keep the others going.
          this.warn(`unable to read log directory ${r.dir}: ${describeError(e)}`);
        }
      }
      await pass();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearInterval(this.timer);
    this.kick?.();
  }

  /** The cursor after the lines given so far (directories never read keep their old position). */
  cursor(old: Cursor | null): Cursor {
    const dirs: Record<string, DirPosition> = { ...(old?.dirs ?? {}) };
    for (const r of this.readers) {
      const p = r.position();
      if (p) dirs[r.dir] = p;
    }
    return { dirs };
  }

  close(): void {
    this.stop();
    for (const r of this.readers) r.close();
  }
}

export interface TailOptions extends SourceOptions {
  lines?: number;
  follow?: boolean;
  output?: string;
  host?: string;
  cursorFile?: string;
}

const OUT_SIZE = 1 << 18;

/** Runs `upkeep tail`. */
export async function tail(o: TailOptions): Promise<number> {
  const format = (o.output ?? 'short') as OutputFormat;
  if (!['short', 'iso', 'raw', 'json'].includes(format)) throw new UsageError(`-o must be short, iso, raw or json, not ${o.output}`);
  const conv = convention(o.tai);
  const now = wallClock().nowMicros();
  const since = timeStamp(o.since, '--since', conv, now);
  const until = timeStamp(o.until, '--until', conv, now, true);
  const re = compileGrep(o.grep);
  const targets = resolveTargets(o);
  const warn = (t: string): void => void process.stderr.write(`upkeep tail: warning: ${t}\n`);
  const cursor = o.cursorFile ? loadCursor(o.cursorFile) : null;
  const keep = lineFilter({ since, until, re });
  const engine = new Engine(targets, keep, o.cursorFile !== undefined, warn, !!(since || until || re));
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

  let out: Buffer = Buffer.allocUnsafe(OUT_SIZE);
  let used = 0;
  const spare: Buffer[] = [];
  let broken = false;
  stdout.on('error', () => {
    broken = true;
    engine.stop();
  });
  const put = (b: Uint8Array): void => {
    if (used + b.length > out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, used + b.length));
      out.copy(bigger, 0, 0, used);
      out = bigger;
    }
    out.set(b, used);
    used += b.length;
  };
  const putLine = (service: string, line: Uint8Array, labelled: boolean, stamp: Stamp, exact = labelled): void => {
    if (format === 'raw') {
      if (used + line.length + 1 > out.length) put(line);
      else {
        out.set(line, used);
        used += line.length;
      }
      out[used++] = 10;
      return;
    }
    put(fmt.format(service, line, labelled, stamp, exact));
  };
  const flush = async (): Promise<void> => {
    flushRun();
    if (used > 0 && !broken) {
      const whole = out;
      const data = out.subarray(0, used);
      // Output buffers are reused once written (fewer allocations, less GC on big merges).
      out = spare.pop() ?? Buffer.allocUnsafe(OUT_SIZE);
      used = 0;
      const done = new Promise<void>((res) =>
        stdout.write(data, () => {
          if (whole.length === OUT_SIZE && spare.length < 4) spare.push(whole);
          res();
        }),
      );
      if (o.cursorFile) await done;
      else if (stdout.writableNeedDrain) await new Promise<void>((res) => stdout.once('drain', res));
    }
    if (o.cursorFile && !broken) saveCursor(o.cursorFile, engine.cursor(cursor));
  };
  const full = (): boolean => used + pendingRun() > OUT_SIZE - 4096;
  let flushRun = (): void => {};
  let pendingRun = (): number => 0;

  const lines = o.lines ?? (o.follow && !o.since && !o.cursorFile ? 10 : null);
  for (const k of engine.start(cursor, lines, since, until)) putLine(k.service, k.line, k.labelled, k.stamp, k.exact);
  // raw: the stored bytes (with their "\n") are copied straight from the reader's buffer, a run of
  // consecutive lines of one file at a time (one native copy per run, no allocation per line;
  // bench/tail.mjs measures it against sort -m). The reader calls beforeMove before it reuses its buffer.
  let runR: DirReader | null = null;
  let runS = 0;
  let runE = 0;
  flushRun = (): void => {
    if (runR === null) return;
    const n = runE - runS;
    if (used + n > out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, used + n));
      out.copy(bigger, 0, 0, used);
      out = bigger;
    }
    used += runR.buf.copy(out, used, runS, runE);
    runR = null;
  };
  pendingRun = () => (runR === null ? 0 : runE - runS);
  const emitRaw = (r: DirReader): void => {
    if (runR === r && r.ls === runE && r.nl) {
      runE = r.le + 1;
      return;
    }
    flushRun();
    if (!r.nl) {
      putLine(r.service, r.buf.subarray(r.ls, r.le), true, r.stamp);
      return;
    }
    runR = r;
    runS = r.ls;
    runE = r.le + 1;
  };
  if (format === 'raw') for (const r of engine.readers) r.beforeMove = () => runR === r && flushRun();
  const emit = format === 'raw' ? emitRaw : (r: DirReader): void => putLine(r.service, r.buf.subarray(r.ls, r.le), r.labelled, r.stamp, r.exact);
  const pass = (): Promise<void> => engine.pass(emit, full, flush);
  const stop = (): void => engine.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await pass();
    if (o.follow && !broken) await engine.follow(pass);
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    engine.close();
  }
  return 0;
}
