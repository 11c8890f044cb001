// The control plane's language (docs/commands.md), pure: command lines -> Command, and the tab-delimited
// lines svscan sends back (events, state snapshot, replies). The same language is spoken on the command
// socket (upkeep ctl), by a controller service (its stdout) and by `svscan --commands FILE`.
import type { JournalEvent } from './journal.js';

export type Command =
  | { verb: 'up' | 'down' | 'once' | 'restart' | 'remove'; service: string }
  | { verb: 'signal'; service: string; signal: string }
  | { verb: 'status'; service?: string }
  | { verb: 'rescan' }
  | { verb: 'events'; follow: boolean; json: boolean }
  | { verb: 'add'; service: string; spec: AddSpec }
  | { verb: 'from'; pid: number; program: string };

/** A service added at run time: what `add` declares. */
export interface AddSpec {
  argv: string[];
  cwd?: string;
  down: boolean;
  controller: boolean;
  env: [string, string][];
  notificationFd?: number;
  /** Listening sockets held by the supervisor, in fd order from 3: `tcp:HOST:PORT` or `unix:PATH`. */
  listen: string[];
}

export class CommandError extends Error {}

/**
 * The complete lines of a text stream that arrives in chunks (the command socket, a controller's stdout,
 * --commands, loghost's requests): `push` returns the lines a chunk completes, without their newline;
 * `rest` is the unfinished last line.
 */
export class TextLines {
  rest = '';
  push(chunk: string): string[] {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop()!;
    return lines;
  }
}

/**
 * Splits a line into words as a small shell would: blanks separate words; '...' is literal; "..." and
 * bare words take backslash escapes; `#` at a word's start begins a comment.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === ' ' || line[i] === '\t' || line[i] === '\r')) i++;
    if (i >= n || line[i] === '#') break;
    let w = '';
    while (i < n && line[i] !== ' ' && line[i] !== '\t' && line[i] !== '\r') {
      const c = line[i]!;
      if (c === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new CommandError('unterminated quote');
        w += line.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        i++;
        while (i < n && line[i] !== '"') {
          if (line[i] === '\\' && i + 1 < n) i++;
          w += line[i++];
        }
        if (i >= n) throw new CommandError('unterminated quote');
        i++;
      } else if (c === '\\' && i + 1 < n) {
        w += line[i + 1];
        i += 2;
      } else {
        w += c;
        i++;
      }
    }
    words.push(w);
  }
  return words;
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$/;

function name(words: string[], verb: string): string {
  const s = words[1];
  if (s === undefined) throw new CommandError(`${verb} needs a service name`);
  if (!NAME_RE.test(s)) throw new CommandError(`not a service name: ${s}`);
  return s;
}

/** One command line -> a Command; undefined for a blank or comment line. Throws CommandError. */
export function parseCommand(line: string): Command | undefined {
  const w = splitWords(line);
  if (w.length === 0) return undefined;
  const verb = w[0]!;
  switch (verb) {
    case 'up':
    case 'down':
    case 'once':
    case 'restart':
    case 'remove':
      if (w.length !== 2) throw new CommandError(`usage: ${verb} NAME`);
      return { verb, service: name(w, verb) };
    case 'signal': {
      if (w.length !== 3) throw new CommandError('usage: signal NAME SIGNAL');
      const sig = w[2]!.toUpperCase();
      return { verb, service: name(w, verb), signal: sig.startsWith('SIG') ? sig : `SIG${sig}` };
    }
    case 'status':
      if (w.length > 2) throw new CommandError('usage: status [NAME]');
      return w.length === 2 ? { verb, service: name(w, verb) } : { verb };
    case 'rescan':
      if (w.length !== 1) throw new CommandError('usage: rescan');
      return { verb };
    case 'events': {
      let follow = false;
      let json = false;
      for (const a of w.slice(1)) {
        if (a === '-f' || a === '--follow') follow = true;
        else if (a === '--json') json = true;
        else throw new CommandError('usage: events [-f] [--json]');
      }
      return { verb, follow, json };
    }
    case 'add':
      return { verb, service: name(w, verb), spec: parseAdd(w.slice(2)) };
    case 'from': {
      // `from PID [PROGRAM]`: who sends the connection's next commands (for the journal's `sender`).
      const pid = Number(w[1]);
      if (w.length < 2 || !/^[1-9]\d{0,9}$/.test(w[1]!)) throw new CommandError('usage: from PID [PROGRAM]');
      return { verb, pid, program: w.slice(2).join(' ') };
    }
    default:
      throw new CommandError(`unknown command: ${verb}`);
  }
}

function parseAdd(w: string[]): AddSpec {
  const spec: AddSpec = { argv: [], down: false, controller: false, env: [], listen: [] };
  let i = 0;
  const value = (opt: string): string => {
    const v = w[++i];
    if (v === undefined) throw new CommandError(`add: ${opt} needs a value`);
    return v;
  };
  for (; i < w.length; i++) {
    const a = w[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('--')) break;
    if (a === '--cwd') spec.cwd = value(a);
    else if (a === '--down') spec.down = true;
    else if (a === '--controller') spec.controller = true;
    else if (a === '--env') {
      const kv = value(a);
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new CommandError(`add: --env needs NAME=VALUE, not ${kv}`);
      spec.env.push([kv.slice(0, eq), kv.slice(eq + 1)]);
    } else if (a === '--notification-fd') {
      const v = value(a);
      if (!/^\d+$/.test(v) || Number(v) < 3) throw new CommandError(`add: bad --notification-fd ${v}`);
      spec.notificationFd = Number(v);
    } else if (a === '--listen') {
      const v = value(a);
      if (!/^(tcp:.+:\d+|unix:\/.+)$/.test(v)) throw new CommandError(`add: --listen needs tcp:HOST:PORT or unix:/PATH, not ${v}`);
      spec.listen.push(v);
    } else throw new CommandError(`add: unknown option ${a}`);
  }
  spec.argv = w.slice(i);
  if (spec.argv.length === 0) throw new CommandError('usage: add NAME [--cwd DIR] [--down] [--controller] [--env K=V] [--notification-fd N] [--listen SPEC] [--] PROGRAM [ARG...]');
  return spec;
}

/** A field value in a text line: tab, newline and backslash escaped; null/undefined as `-`. */
export function fieldText(v: unknown): string {
  if (v === null || v === undefined) return '-';
  const s = typeof v === 'string' ? v : String(v);
  if (s === '') return '-';
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
}

/** The documented order of each event's own fields in a text line (after EVENT, SERVICE, TIME). */
export const FIELD_ORDER: Record<string, readonly string[]> = {
  'supervisor-start': ['pid', 'dir', 'version'],
  'supervisor-stop': ['pid', 'reason'],
  add: ['target'],
  remove: ['target'],
  start: ['pid', 'target'],
  'spawn-failed': ['error'],
  ready: ['pid', 'after'],
  exit: ['pid', 'code', 'signal', 'uptime', 'operator', 'wanted'],
  backoff: ['delay', 'deaths'],
  control: ['command', 'via', 'sender'],
  deploy: ['from', 'to'],
  rollback: ['from', 'to'],
  'logger-start': ['pid', 'kind'],
  'logger-exit': ['pid', 'code', 'signal', 'kind'],
  'logger-move': ['from', 'to', 'restart', 'reason'],
  warning: ['msg'],
  state: ['state', 'want', 'pid', 'since', 'ready', 'source', 'target'],
  sync: ['services'],
  dropped: ['reason', 'limit'],
};

/** Seconds since the epoch with microseconds, from UNIX microseconds. */
export function secondsText(micros: number): string {
  const s = Math.floor(micros / 1e6);
  return `${s}.${String(micros - s * 1e6).padStart(6, '0')}`;
}

/** `EVENT<TAB>SERVICE<TAB>TIME<TAB>key=value...` in FIELD_ORDER. */
export function formatEventLine(ev: { event: string; service: string; [k: string]: unknown }, micros: number): string {
  let line = `${ev.event}\t${fieldText(ev.service)}\t${secondsText(micros)}`;
  for (const k of FIELD_ORDER[ev.event] ?? []) line += `\t${k}=${fieldText(ev[k])}`;
  return `${line}\n`;
}

/** The JSON form: the event's fields plus `time` (UNIX seconds, a number). */
export function formatEventJson(ev: { event: string; service: string; [k: string]: unknown }, micros: number): string {
  return `${JSON.stringify({ ...ev, time: micros / 1e6 })}\n`;
}

/** One service in a snapshot or a status reply. */
export interface ServiceView {
  name: string;
  state: 'up' | 'down' | 'starting' | 'backoff' | 'exited';
  want: 'up' | 'down' | 'once';
  pid: number;
  /** UNIX seconds of the last change of pid. */
  since: number;
  /** UNIX seconds of readiness of the current run, or null. */
  ready: number | null;
  source: 'dir' | 'runtime';
  target: string;
}

export function stateEvent(v: ServiceView): { event: 'state'; service: string; [k: string]: unknown } {
  return { event: 'state', service: v.name, state: v.state, want: v.want, pid: v.pid, since: v.since, ready: v.ready, source: v.source, target: v.target };
}

/** A reply: `ok<TAB>VERB<TAB>SERVICE<TAB>what happened` or `error<TAB>...`. */
export interface ReplyLine {
  ok: boolean;
  verb: string;
  service: string;
  msg: string;
}

export function formatReply(r: ReplyLine, json: boolean): string {
  if (json) return `${JSON.stringify({ event: r.ok ? 'ok' : 'error', ...r })}\n`;
  return `${r.ok ? 'ok' : 'error'}\t${r.verb}\t${fieldText(r.service)}\t${fieldText(r.msg)}\n`;
}

/** The event a journal write becomes on the stream (same fields as the journal line, minus the common ones). */
export function streamEvent(ev: JournalEvent): { event: string; service: string; [k: string]: unknown } {
  return ev as unknown as { event: string; service: string; [k: string]: unknown };
}
