// upkeep report: the restart journal turned into flapping and failure reports (text, JSON, HTML).
// Wiring only: src/io reads the journal and the logs, src/core analyses and renders. Exit 0 when nothing
// flapped in the window, 1 when something did, 100 usage, 111 unreadable input.
import { statSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { EXIT, FatalError, UsageError } from '../core/errors.js';
import { JOURNAL_DIR, newCounts } from '../core/journal.js';
import { Analyzer, DEFAULT_ANALYZER } from '../core/report.js';
import { reportText } from '../core/report-text.js';
import { reportJsonChunks } from '../core/report-json.js';
import { reportHtml } from '../core/report-html.js';
import { TimeSpecError } from '../core/timespec.js';
import { wallClock } from '../io/clock.js';
import { readSources, type Source } from '../io/journal-read.js';
import { collectContext } from '../io/report-logs.js';
import { parseTime, timeFormatter } from '../io/timespec.js';

export const HELP = `usage: upkeep report [options] [DIR | FILE | - ...]

Reads restart journals and reports, per service: starts, deaths by cause, restarts, uptime, MTBF,
backoff, availability, deploys, flapping intervals (burst and Icinga-2-style weighted rules) and,
for each death, the last lines the service logged before it.

  DIR    a service tree: its journal DIR/.upkeep/journal*.jsonl[.gz] (current and rotated archives)
  FILE   one journal file (.jsonl or .jsonl.gz)
  -      JSON lines on stdin (e.g. from a log collector; grouped by host and service)
  With no argument: the tree in --dir, $SVDIR or /service.

options:
  --dir DIR                 the service tree (default $SVDIR, else /service)
  --since TIME, --until TIME  the window (see docs/time.md: RFC 3339, YYYY-MM-DD[ HH:MM[:SS]],
                            30s 10m 2h 3d ago, now, today, yesterday); default: all .. now
  --utc                     show times in UTC (default: local time)
  --service NAME            only this service (repeatable)
  --format text|json|html   output format (default text)
  -o, --output FILE         write the report to FILE instead of stdout
  -n, --lines N             lines of crash context per death (default 10; 0: none)
  --logdir-pattern PATTERN  where a service's log is: {dir}, {service}, {host} are replaced
                            (default {dir}/{service}/log/main)
  --burst-deaths N          burst rule: N deaths ... (default 5)
  --burst-within SECONDS    ... within SECONDS (default 300) ...
  --burst-quiet SECONDS     ... ends when up SECONDS (default 300)
  --flap-window SECONDS     weighted rule: window length (default 30)
  --flap-high PERCENT       weighted rule: starts above PERCENT (default 30)
  --flap-low PERCENT        weighted rule: ends at or below PERCENT (default 25)
  --restart-window SECONDS  bucket for "restarts per window" (default 3600)
  --no-progress             no progress bar on stderr

exit status: 0 nothing flapped, 1 something flapped, 100 usage, 111 unreadable input.
`;

export interface ReportArgs {
  inputs: string[];
  dir?: string;
  since?: string;
  until?: string;
  utc?: boolean;
  services?: string[];
  format?: string;
  output?: string;
  lines?: number;
  logdirPattern?: string;
  burstDeaths?: number;
  burstWithin?: number;
  burstQuiet?: number;
  flapWindow?: number;
  flapHigh?: number;
  flapLow?: number;
  restartWindow?: number;
  progress?: boolean;
}

export interface ReportIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  now(): number;
}

const defaultIo = (): ReportIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  now: () => wallClock().nowMicros(),
});

export const WANTED = new Set(['start', 'exit', 'backoff', 'deploy', 'rollback', 'remove', 'supervisor-stop']);
const PROGRESS_MIN = 64 * 1024 * 1024;

export async function runReport(a: ReportArgs, io: ReportIo = defaultIo()): Promise<number> {
  const format = a.format ?? 'text';
  if (!['text', 'json', 'html'].includes(format)) throw new UsageError(`--format must be text, json or html, not ${format}`);
  const now = io.now();
  const time = (name: string, v: string | undefined): number | null => {
    if (v === undefined) return null;
    try {
      return parseTime(v, now);
    } catch (err) {
      if (err instanceof TimeSpecError) throw new UsageError(`${name}: ${err.message}`);
      throw err;
    }
  };
  const since = time('--since', a.since);
  const until = time('--until', a.until) ?? now;
  if (since !== null && since > until) throw new UsageError('--since is after --until');
  const pos = (name: string, v: number | undefined, def: number, min = 0): number => {
    if (v === undefined) return def;
    if (!Number.isFinite(v) || v < min) throw new UsageError(`${name} must be a number >= ${min}, not ${v}`);
    return v;
  };
  const burst = {
    deaths: pos('--burst-deaths', a.burstDeaths, DEFAULT_ANALYZER.burst.deaths, 1),
    within: pos('--burst-within', a.burstWithin, DEFAULT_ANALYZER.burst.within, 1),
    quiet: pos('--burst-quiet', a.burstQuiet, DEFAULT_ANALYZER.burst.quiet),
  };
  const weighted = {
    window: pos('--flap-window', a.flapWindow, DEFAULT_ANALYZER.weighted.window, 1),
    high: pos('--flap-high', a.flapHigh, DEFAULT_ANALYZER.weighted.high),
    low: pos('--flap-low', a.flapLow, DEFAULT_ANALYZER.weighted.low),
  };
  if (weighted.low > weighted.high) throw new UsageError('--flap-low must not exceed --flap-high');
  const lines = pos('--lines', a.lines, 10);
  const restartWindow = pos('--restart-window', a.restartWindow, DEFAULT_ANALYZER.restartWindow, 1);
  const pattern = a.logdirPattern ?? '{dir}/{service}/log/main';

  // Inputs.
  const treeDefault = a.dir ?? io.env.SVDIR ?? '/service';
  const inputs = a.inputs.length ? a.inputs : [treeDefault];
  const sources: Source[] = [];
  let tree: string | undefined = a.dir;
  for (const p of inputs) {
    if (p === '-') {
      sources.push({ kind: 'stdin' });
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      throw new FatalError(`unable to read ${p}`, err);
    }
    if (st.isDirectory()) {
      sources.push({ kind: 'dir', dir: p });
      tree ??= p;
    } else {
      sources.push({ kind: 'file', path: p });
      if (basename(dirname(p)) === JOURNAL_DIR) tree ??= dirname(dirname(p));
    }
  }

  const analyzer = new Analyzer({ since, until, burst, weighted, restartWindow, services: a.services ?? [] });
  const counts = newCounts();
  const bar = a.progress !== false && io.stderr.isTTY === true ? progressBar(io.stderr) : undefined;
  const summary = await readSources(sources, {
    want: WANTED,
    counts,
    stdin: io.stdin,
    onRecord: (r) => analyzer.add(r),
    onProgress: bar,
  });
  bar?.(-1, 0);
  for (const p of summary.problems) io.stderr.write(`upkeep report: warning: unable to read all of ${p}\n`);
  const model = analyzer.finish(counts, summary.files.length);

  if (lines > 0 && tree !== undefined) {
    for (const s of model.services) {
      if (s.exits.length === 0) continue;
      const dir = pattern.replaceAll('{dir}', tree).replaceAll('{service}', s.name).replaceAll('{host}', s.host);
      await collectContext(dir, s.exits, lines);
    }
  }

  const fmt = timeFormatter(a.utc === true);
  const zone = a.utc ? 'UTC' : 'local time';
  let chunks: Iterable<string>;
  if (format === 'json') chunks = reportJsonChunks(model);
  else if (format === 'html') chunks = [reportHtml(model, { time: fmt, zone })];
  else {
    const colour = a.output === undefined && io.stdout.isTTY === true && !io.env.NO_COLOR;
    chunks = [reportText(model, { time: fmt, zone, colour })];
  }
  if (a.output !== undefined) {
    try {
      writeFileSync(a.output, [...chunks].join(''));
    } catch (err) {
      throw new FatalError(`unable to write ${a.output}`, err);
    }
  } else {
    for (const c of chunks) if (!(await write(io.stdout, c))) break;
  }
  return model.flapping ? EXIT.FINDINGS : EXIT.OK;
}

/**
 * Writes a piece of the report; false when the reader went away (`| head`: the report ends quietly).
 * Other write errors are fatal (111).
 */
function write(out: Writable, text: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EPIPE') resolve(false);
      else reject(new FatalError('unable to write the report', err));
    };
    out.once('error', onError);
    const done = (): void => {
      out.off('error', onError);
      if (out.listenerCount('error') === 0) out.on('error', () => {}); // a late EPIPE after the last byte
      resolve(true);
    };
    if (out.write(text)) done();
    else out.once('drain', done);
  });
}

/** A one-line progress bar on stderr, for inputs over 64 MiB; called with done = -1 to clear it. */
function progressBar(err: Writable): (done: number, total: number) => void {
  let shown = -1;
  return (done, total) => {
    if (done < 0) {
      if (shown >= 0) err.write('\r\x1b[K');
      return;
    }
    if (total < PROGRESS_MIN) return;
    const pct = Math.min(100, Math.floor((done / total) * 100));
    if (pct === shown) return;
    shown = pct;
    const w = 30;
    const fill = Math.round((pct / 100) * w);
    err.write(`\rupkeep report: [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${pct}% of ${(total / 1048576).toFixed(0)} MiB`);
  };
}


