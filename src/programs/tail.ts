// `upkeep tail`: the named services' log directories merged by TAI64N stamp, filtered, printed in one of
// four formats; -f follows across rotations; --cursor-file resumes an incremental consumer.
// The reading engine (targets, filters, merge, follow) is in io/logdir-read.ts, shared with `upkeep export`.
import { hostname } from 'node:os';
import { UsageError } from '../core/errors.js';
import { LineFormatter, type OutputFormat, type Stamp } from '../core/logline.js';
import { wallClock } from '../io/clock.js';
import { loadCursor, saveCursor } from '../io/cursor-file.js';
import {
  DirReader, Engine, type SourceOptions, compileGrep, convention, lineFilter, resolveTargets, timeStamp,
} from '../io/logdir-read.js';

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
