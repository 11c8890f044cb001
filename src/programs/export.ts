// `upkeep export`: ships log lines to a collector (syslog over UDP or TCP, JSON lines over HTTP, OTLP/HTTP)
// with the same sources, filters and cursor as `upkeep tail`. TCP and HTTP retry with backoff until the
// collector takes the batch; the cursor moves only after that, so no line is lost.
import { hostname } from 'node:os';
import { type Stamp, LineFormatter, formatStamp, messageOf, stampUnix } from '../core/logline.js';
import { FACILITIES, SEVERITIES, octetFrame, syslogMessage } from '../core/syslog.js';
import { type OtlpRecord, otlpLogsRequest } from '../core/otlp.js';
import { UsageError, describeError } from '../core/errors.js';
import { wallClock } from '../io/clock.js';
import { checkCursorWritable, loadCursor, saveCursor } from '../io/cursor-file.js';
import { type Sender, HttpSender, TcpSender, UdpSender, parseDestination } from '../io/exporters.js';
import {
  type DirReader, Engine, type SourceOptions, compileGrep, convention, lineFilter, resolveTargets, timeStamp,
} from '../io/logdir-read.js';

export const HELP = `usage: upkeep export --to DESTINATION [options] [SERVICE | LOGDIR ...]

Ship log lines (the same selection as upkeep tail) to a collector:
  udp://HOST[:PORT]          syslog RFC 5424 over UDP (best effort: datagrams are counted)
  tcp://HOST[:PORT]          syslog RFC 5424 over TCP, octet counting (RFC 6587)
  http(s)://HOST[:PORT]/PATH JSON lines (the objects of upkeep tail -o json), POSTed in batches
  otlp+http(s)://HOST[:PORT] OTLP/HTTP logs, JSON encoding, POSTed to /v1/logs
TCP and HTTP wait and retry with backoff while the collector is down, and resume with no line lost.

  --to DESTINATION       where to send (required)
  -f, --follow           keep shipping new lines, across rotations
  --cursor-file FILE     resume after the last line shipped (saved after every delivered batch)
  -n, --lines N          start with the newest N lines (when the cursor has no position)
  --since, --until TIME  time range (docs/time.md); -g REGEX; --service NAME; --tai daemontools|s6
  --batch N              lines per batch (default 500)
  --facility NAME        syslog facility (default daemon); --severity NAME (default info)
  --host NAME            host name sent (default: this machine's)
  --stats SECONDS        print shipping statistics every SECONDS (default 60 with -f; 0: only at exit)
  --retry-max SECONDS    longest wait between retries (default 30)
  --dir DIR, --log-path PATH   as for upkeep tail
  --journal              also ship the restart journal DIR/.upkeep/journal.jsonl (app-name upkeep-journal,
                         message: the journal's JSON line)

Statistics go to stderr: "upkeep export: stats: shipped N lines (B bytes) in K batches to DEST,
retries R, behind L bytes, last line STAMP (AGE s old)".
Exit codes: 0 done (or stopped by TERM/INT), 100 usage, 111 a log directory or cursor file could not be read.
See man upkeep-export.
`;

export interface ExportOptions extends SourceOptions {
  to?: string;
  follow?: boolean;
  cursorFile?: string;
  lines?: number;
  batch?: number;
  facility?: string;
  severity?: string;
  host?: string;
  stats?: number;
  retryMax?: number;
}

function reason(e: unknown): string {
  const c = (e as { cause?: { code?: string } })?.cause;
  return describeError(c?.code ? c : e);
}

export async function exportLogs(o: ExportOptions): Promise<number> {
  if (!o.to) throw new UsageError('--to DESTINATION is required');
  const dest = parseDestination(o.to);
  if (!dest) throw new UsageError(`--to: not udp://, tcp://, http(s):// or otlp+http(s)://: ${o.to}`);
  const facility = FACILITIES[o.facility ?? 'daemon'];
  const severity = SEVERITIES[o.severity ?? 'info'];
  if (facility === undefined) throw new UsageError(`--facility: unknown facility ${o.facility}`);
  if (severity === undefined) throw new UsageError(`--severity: unknown severity ${o.severity}`);
  const conv = convention(o.tai);
  const clock = wallClock();
  const since = timeStamp(o.since, '--since', conv, clock.nowMicros());
  const until = timeStamp(o.until, '--until', conv, clock.nowMicros(), true);
  const re = compileGrep(o.grep);
  const targets = resolveTargets(o);
  const host = o.host ?? hostname();
  const batchMax = o.batch ?? 500;
  if (batchMax < 1) throw new UsageError('--batch must be at least 1');
  if (o.retryMax !== undefined && !(o.retryMax >= 1)) throw new UsageError('--retry-max must be at least 1 (second)');
  const retryMax = (o.retryMax ?? 30) * 1000;
  const warn = (t: string): void => void process.stderr.write(`upkeep export: warning: ${t}\n`);
  const cursor = o.cursorFile ? loadCursor(o.cursorFile) : null;
  if (o.cursorFile) checkCursorWritable(o.cursorFile);
  const engine = new Engine(targets, lineFilter({ since, until, re, headers: false }), o.cursorFile !== undefined, warn);
  const json = new LineFormatter({ format: 'json', conv, host, zone: () => 0, color: false, serviceWidth: 0 });

  const sender: Sender =
    dest.kind === 'udp'
      ? new UdpSender(dest)
      : dest.kind === 'tcp'
        ? new TcpSender(dest)
        : new HttpSender(dest, dest.kind === 'otlp' ? 'application/json' : 'application/x-ndjson');

  let batch: Uint8Array[] = [];
  let records: OtlpRecord[] = [];
  let bytes = 0;
  const st = { lines: 0, bytes: 0, batches: 0, retries: 0, last: null as Stamp | null };
  let pendingLast: Stamp | null = null;
  /** Bytes of the log lines read but not yet shipped (counted in "behind"). */
  let pendingRaw = 0;

  const add = (service: string, line: Uint8Array, labelled: boolean, stamp: Stamp, exact = labelled): void => {
    const msg = messageOf(line, labelled);
    // A line with no stamp at all (a log written without `t`, before any labelled line) has no time:
    // syslog's nil "-", OTLP's 0 ("unknown": the observed time stands), not 1969.
    const known = exact || stamp.tai !== 0 || stamp.nano !== 0;
    const unix = known ? stampUnix(stamp, conv) : null;
    const label = exact ? formatStamp(stamp) : null;
    pendingRaw += line.length + 1;
    let m: Uint8Array;
    if (dest.kind === 'udp' || dest.kind === 'tcp') {
      m = syslogMessage({ facility, severity, host, app: service }, unix, stamp.nano, label, msg);
      if (dest.kind === 'tcp') m = octetFrame(m);
      batch.push(m);
    } else if (dest.kind === 'http') {
      m = json.format(service, line, labelled, stamp, exact);
      batch.push(m);
    } else {
      records.push({ service, unixSec: unix ?? 0, nano: unix === null ? 0 : stamp.nano, label, msg: Buffer.from(msg) });
      m = msg;
    }
    bytes += m.length;
    if (known) pendingLast = { ...stamp };
  };
  const count = (): number => (dest.kind === 'otlp' ? records.length : batch.length);

  const sleep = (ms: number): Promise<void> =>
    new Promise((res) => {
      const t = setTimeout(res, ms);
      stopWaiters.push(() => {
        clearTimeout(t);
        res();
      });
    });
  const stopWaiters: (() => void)[] = [];

  let failing = false;
  /** Ships the batch (retrying), then saves the cursor unless `save` is false (the -n lines: the
   *  cursor already stands after the last of them). */
  const flush = async (save = true): Promise<void> => {
    if (engine.stopped && failing) return; // (TERM after a failed send: no new attempt, the cursor stays)
    const n = count();
    if (n > 0) {
      const body = (from: number, to: number): Uint8Array[] => {
        if (dest.kind !== 'otlp') return batch.slice(from, to);
        const now = clock.nowMicros();
        const obs = { sec: Math.floor(now / 1e6), nano: (now % 1e6) * 1000 };
        return [Buffer.from(otlpLogsRequest(host, records.slice(from, to), obs))];
      };
      /** Ships lines [from, to) of the batch, retrying; false when stopped meanwhile. A collector that
       *  finds the body too large (HTTP 413) gets it in halves, down to single lines. */
      const ship = async (from: number, to: number): Promise<boolean> => {
        let delay = 250;
        for (;;) {
          try {
            await sender.send(body(from, to));
            if (failing) process.stderr.write(`upkeep export: info: ${dest.text} is back, shipping again\n`);
            failing = false;
            return true;
          } catch (e) {
            if (dest.kind === 'udp') return true;
            if ((e as { code?: string }).code === 'HTTP_413' && to - from > 1) {
              const mid = from + Math.floor((to - from) / 2);
              return (await ship(from, mid)) && ship(mid, to);
            }
            st.retries++;
            if (!failing || delay >= retryMax) warn(`unable to ship to ${dest.text}: ${reason(e)}: retrying in ${(delay / 1000).toFixed(2)} s`);
            failing = true;
            if (engine.stopped) return false; // TERM while the collector is down: keep the cursor where it is
            await sleep(delay);
            if (engine.stopped) return false;
            delay = Math.min(delay * 2, retryMax);
          }
        }
      };
      if (!(await ship(0, n))) return;
      st.lines += n;
      st.bytes += bytes;
      st.batches++;
      st.last = pendingLast;
      batch = [];
      records = [];
      bytes = 0;
      pendingRaw = 0;
    }
    if (save && o.cursorFile) saveCursor(o.cursorFile, engine.cursor(cursor));
  };

  const report = (): void => {
    let behind = pendingRaw;
    for (const r of engine.readers) behind += r.behind();
    let last = 'none';
    if (st.last) {
      const age = clock.nowMicros() / 1e6 - (stampUnix(st.last, conv) + st.last.nano / 1e9);
      last = `${formatStamp(st.last)} (${age.toFixed(1)} s old)`;
    }
    const udp = sender instanceof UdpSender ? `, datagrams sent ${sender.sent}, failed ${sender.failed}` : '';
    process.stderr.write(
      `upkeep export: stats: shipped ${st.lines} lines (${st.bytes} bytes) in ${st.batches} batches to ${dest.text}${udp}, retries ${st.retries}, behind ${behind} bytes, last line ${last}\n`,
    );
  };

  const start = engine.start(cursor, o.lines ?? null, since, until);
  const pass = (): Promise<void> =>
    engine.pass((r: DirReader) => add(r.service, r.buf.subarray(r.ls, r.le), r.labelled, r.stamp, r.exact), () => count() >= batchMax, flush);
  const stop = (): void => {
    engine.stop();
    sender.abort(); // (a send in flight to a collector that stopped reading would hold TERM up)
    for (const w of stopWaiters.splice(0)) w();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const every = o.stats ?? (o.follow ? 60 : 0);
  const timer = every > 0 ? setInterval(report, every * 1000) : null;
  try {
    // the -n lines in batches of --batch too (the last one goes with the first pass's, with the cursor)
    for (const k of start) {
      if (count() >= batchMax) await flush(false);
      if (engine.stopped) break;
      add(k.service, k.line, k.labelled, k.stamp, k.exact);
    }
    if (!engine.stopped) await pass();
    if (o.follow && !engine.stopped) await engine.follow(pass, 1000);
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    engine.close();
    sender.close();
  }
  report();
  return 0;
}
