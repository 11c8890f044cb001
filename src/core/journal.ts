// The restart journal's events (schema v1, docs/journal.md) and a pure line parser/validator.
// The writer (src/io/journal.ts) takes a JournalEvent and adds the common fields; the reader
// (src/io/journal-read.ts) turns lines back into JournalRecords and counts what it could not use.
import { parseJournalTime } from './timespec.js';

export const JOURNAL_VERSION = 1;

/** The journal's directory in a service tree, and its current file (docs/journal.md). */
export const JOURNAL_DIR = '.upkeep';
export const JOURNAL_FILE = 'journal.jsonl';

interface Ev<E extends string> {
  event: E;
  /** The service name in the tree (`NAME/log` for a logger); `-` for the supervisor itself. */
  service: string;
  /** A one-line human summary; the writer makes one up when absent. */
  msg?: string;
}

export interface SupervisorStartEvent extends Ev<'supervisor-start'> { pid: number; dir: string; version: string }
export interface SupervisorStopEvent extends Ev<'supervisor-stop'> { pid: number; reason: string }
export interface AddEvent extends Ev<'add'> { target: string }
export interface RemoveEvent extends Ev<'remove'> { target: string }
export interface StartEvent extends Ev<'start'> { pid: number; target: string }
export interface SpawnFailedEvent extends Ev<'spawn-failed'> { error: string }
export interface ReadyEvent extends Ev<'ready'> { pid: number; after: number }
export interface ExitEvent extends Ev<'exit'> {
  pid: number;
  code: number | null;
  signal: string | null;
  /** Seconds the process ran. */
  uptime: number;
  /** An operator asked for this death (svc -d/-t/-k, deploy, rollback, tree stop): not a failure. */
  operator: boolean;
  wanted: 'up' | 'down' | 'once';
  /** The process was adopted after a supervisor takeover: code and signal are unknown (null). */
  adopted?: boolean;
}
export interface BackoffEvent extends Ev<'backoff'> { delay: number; deaths: number }
export interface ControlEvent extends Ev<'control'> {
  command: string;
  via: 'control-fifo' | 'socket' | 'signal' | 'deploy' | 'controller' | 'commands';
  sender?: string;
}
export interface DeployEvent extends Ev<'deploy'> { from: string; to: string }
export interface RollbackEvent extends Ev<'rollback'> { from: string; to: string }
export interface LoggerStartEvent extends Ev<'logger-start'> { pid: number; kind: 'script' | 'run' }
export interface LoggerExitEvent extends Ev<'logger-exit'> {
  pid: number;
  code: number | null;
  signal: string | null;
  kind: 'script' | 'run';
}
/**
 * A deploy, rollback or repoint moved the service's logger to the new target's log/: `restart` false when
 * the same logger carries on (only its supervise/ moved), true when it is restarted into the new
 * definition after reading the old pipe to its end; `reason` says why.
 */
export interface LoggerMoveEvent extends Ev<'logger-move'> { from: string; to: string; restart: boolean; reason: string }
export interface WarningEvent extends Ev<'warning'> { msg: string }

export type JournalEvent =
  | SupervisorStartEvent | SupervisorStopEvent | AddEvent | RemoveEvent | StartEvent | SpawnFailedEvent
  | ReadyEvent | ExitEvent | BackoffEvent | ControlEvent | DeployEvent | RollbackEvent | LoggerStartEvent
  | LoggerExitEvent | LoggerMoveEvent | WarningEvent;

export type EventName = JournalEvent['event'];

export const EVENT_NAMES: readonly EventName[] = [
  'supervisor-start', 'supervisor-stop', 'add', 'remove', 'start', 'spawn-failed', 'ready', 'exit', 'backoff',
  'control', 'deploy', 'rollback', 'logger-start', 'logger-exit', 'logger-move', 'warning',
];

/** The fields every line carries besides the event's own. */
export interface Common {
  v: number;
  level: number;
  time: string;
  tai64n: string;
  host: string;
  msg: string;
  /** `time` as UNIX microseconds (computed by the parser, not stored). */
  t: number;
}

export type JournalRecord = JournalEvent & Common;

/** pino levels per event: warnings and failures stand out in a plain `grep`. */
export function levelOf(ev: JournalEvent): number {
  switch (ev.event) {
    case 'warning':
    case 'backoff':
      return 40;
    case 'spawn-failed':
      return 50;
    case 'exit':
      return ev.operator || (ev.wanted === 'once' && ev.code === 0 && ev.signal === null) ? 30 : 40;
    default:
      return 30;
  }
}

/** A default one-line summary. */
export function summaryOf(ev: JournalEvent): string {
  switch (ev.event) {
    case 'exit':
      return `${ev.service} exited (${causeOf(ev)}) after ${ev.uptime}s${ev.operator ? ', as asked' : ''}`;
    case 'start':
      return `${ev.service} started, pid ${ev.pid}`;
    case 'backoff':
      return `${ev.service} restart delayed ${ev.delay}s after ${ev.deaths} quick deaths`;
    case 'deploy':
    case 'rollback':
      return `${ev.service} ${ev.event} ${ev.from} -> ${ev.to}`;
    case 'logger-move':
      return `${ev.service} moved ${ev.from} -> ${ev.to}, ${ev.restart ? `restarted (${ev.reason})` : 'not restarted (same logger)'}`;
    default:
      return `${ev.service} ${ev.event}`;
  }
}

const causes = new Map<string, string>(); // one string per cause, however many exits share it

/**
 * `exit:N` or `signal:SIGNAME` (the report's cause key); `unknown` when the journal has neither (a process
 * adopted after a supervisor takeover, whose status nobody could collect).
 */
export function causeOf(ev: { code: number | null; signal: string | null }): string {
  const key =
    ev.signal !== null && ev.signal !== undefined ? `signal:${ev.signal}` : ev.code === null || ev.code === undefined ? 'unknown' : `exit:${ev.code}`;
  let c = causes.get(key);
  if (c === undefined) {
    if (causes.size < 4096) causes.set(key, key);
    c = key;
  }
  return c;
}

/** What the parser saw, line by line. */
export interface LineCounts {
  /** Lines read (not counting empty lines). */
  lines: number;
  /** Lines that were valid events the caller used. */
  events: number;
  /** Valid lines of events the caller does not need (skipped cheaply, maybe never parsed). */
  skipped: number;
  /** The last line of a file without its `\n`, or a line cut short (JSON ends early). */
  truncated: number;
  /** Not JSON, or JSON without the fields its event requires. */
  corrupt: number;
  /** Well-formed lines of an event this version does not know. */
  unknown: number;
}

export function newCounts(): LineCounts {
  return { lines: 0, events: 0, skipped: 0, truncated: 0, corrupt: 0, unknown: 0 };
}

export type ParseResult =
  | { kind: 'ok'; record: JournalRecord }
  | { kind: 'truncated' | 'corrupt' | 'unknown'; reason: string };

const KNOWN = new Set<string>(EVENT_NAMES);

type Check = (o: Record<string, unknown>) => boolean;
const num = (k: string): Check => (o) => typeof o[k] === 'number';
const str = (k: string): Check => (o) => typeof o[k] === 'string';
const numOrNull = (k: string): Check => (o) => o[k] === null || typeof o[k] === 'number';
const strOrNull = (k: string): Check => (o) => o[k] === null || typeof o[k] === 'string';
const bool = (k: string): Check => (o) => typeof o[k] === 'boolean';

// The fields each event requires (docs/journal.md); more fields are allowed (the schema only grows).
const REQUIRED: Record<EventName, Check[]> = {
  'supervisor-start': [num('pid')],
  'supervisor-stop': [num('pid')],
  add: [str('target')],
  remove: [],
  start: [num('pid')],
  'spawn-failed': [],
  ready: [num('pid')],
  exit: [numOrNull('code'), strOrNull('signal'), num('uptime'), bool('operator')],
  backoff: [num('delay')],
  control: [str('command')],
  deploy: [str('from'), str('to')],
  rollback: [str('from'), str('to')],
  'logger-start': [num('pid')],
  'logger-exit': [num('pid')],
  'logger-move': [str('from'), str('to'), bool('restart')],
  warning: [],
};

/**
 * Parses one journal line (without its `\n`). `complete` is false for a final line that had no `\n`.
 * A line that is a proper prefix of a JSON object (it stops early) counts as truncated, other garbage as corrupt.
 */
export function parseLine(line: string, complete = true): ParseResult {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    const t = line.trimEnd();
    if (!complete || (t.startsWith('{') && !t.endsWith('}'))) return { kind: 'truncated', reason: 'line cut short' };
    return { kind: 'corrupt', reason: 'not JSON' };
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return { kind: 'corrupt', reason: 'not an object' };
  const r = o as Record<string, unknown>;
  if (typeof r.event !== 'string' || typeof r.service !== 'string' || typeof r.time !== 'string') {
    return { kind: 'corrupt', reason: 'missing event, service or time' };
  }
  if (!KNOWN.has(r.event)) return { kind: 'unknown', reason: `unknown event ${r.event}` };
  const t = parseJournalTime(r.time);
  if (Number.isNaN(t)) return { kind: 'corrupt', reason: 'bad time' };
  for (const check of REQUIRED[r.event as EventName]) {
    if (!check(r)) return { kind: 'corrupt', reason: `bad ${r.event} fields` };
  }
  if (typeof r.host !== 'string') r.host = '-';
  if (r.event === 'exit' && r.wanted === undefined) r.wanted = 'up';
  r.t = t;
  return { kind: 'ok', record: r as unknown as JournalRecord };
}

/** Counts a parse result into `counts`; returns the record or null. */
export function countLine(counts: LineCounts, res: ParseResult): JournalRecord | null {
  counts.lines++;
  if (res.kind === 'ok') {
    counts.events++;
    return res.record;
  }
  counts[res.kind]++;
  return null;
}
