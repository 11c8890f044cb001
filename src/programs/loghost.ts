// `upkeep loghost` (internal): the shared logger process of `upkeep svscan`. One multilog engine (Logger,
// src/io/multilog.ts) per service with a `log/script`, each reading its service's pipe (fd 3 and up, or a
// /proc/<svscan>/fd/N path) on the event loop. Driven by svscan over stdin, replies on stdout: the protocol
// is described in src/io/loghost-client.ts. Exit notes: svscan writes `\0UPKEEP-<token>\0<text>\n` into a
// pipe after a death; loghost ends a pending partial line first and logs the text as its own line.
import { closeSync, constants as C, openSync, writeSync } from 'node:fs';
import { EXIT, FatalError, describeError } from '../core/errors.js';
import { TextLines } from '../core/control.js';
import { parseScript } from '../core/script.js';
import { wallClock } from '../io/clock.js';
import { openInput, type Input } from '../io/input.js';
import { lockBatched } from '../io/flock-batch.js';
import { Logger } from '../io/multilog.js';

export const HELP = `usage: upkeep loghost (internal: started by upkeep svscan)

The shared logger process of upkeep svscan: runs every service's log/script logger (the multilog engine)
in one process. It takes its orders from svscan on stdin (newline-delimited JSON) and is not meant to be
run by hand. SIGTERM: every logger finishes its current line, flushes and exits 0.
`;

const NL = 10;

interface Slot {
  name: string;
  fd: number;
  input?: Input;
  logger?: Logger;
  token: Buffer;
  notes: boolean;
  /** The last byte given to the logger was a newline (or nothing was given yet). */
  atLineStart: boolean;
  /** Bytes held back: a possible start of a note marker, or a note without its newline yet. */
  carry: Buffer | undefined;
  paused: boolean;
  stopping: boolean;
  forgetting: boolean;
  /** Logger.open is under way (a forget that arrives meanwhile waits for it). */
  starting?: boolean;
  eof: boolean;
  /** The incarnation (svscan's number) the current, opening or last logger belongs to. */
  gen: number;
  /** The last incarnation whose end was replied (one `stopped` per incarnation, whatever ends it). */
  endedGen: number;
  /** A stop for the incarnation whose logger is still opening: it stops as soon as it is open. */
  stopAsked: boolean;
  /** A start that arrived while the previous logger was still stopping: run once it has stopped. */
  pendingStart?: () => void;
}

const clock = wallClock();
const slots = new Map<string, Slot>();
/** Read ends of `log/run` pipes, held (never read) so that no service gets SIGPIPE while svscan is dead. */
const holds = new Map<string, number>();

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* closed */
  }
}

function reply(msg: object): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

/** Incarnation `gen` of this slot has ended: told to svscan once. */
function ended(s: Slot, gen: number, code: number, error?: string): void {
  if (s.endedGen === gen && gen !== 0) return;
  s.endedGen = gen;
  reply({ event: 'stopped', name: s.name, gen, code, ...(error !== undefined ? { error } : {}) });
}

function toStderr(b: Uint8Array): void {
  let off = 0;
  try {
    while (off < b.length) off += writeSync(2, b, off, b.length - off);
  } catch {
    /* a full or closed stderr must not stop the logging (multilog's rule) */
  }
}

function prefixed(name: string): (b: Uint8Array) => void {
  const prefix = Buffer.from(`${name}: `);
  return (b) => {
    const parts: Buffer[] = [];
    let start = 0;
    const buf = Buffer.from(b);
    while (start < buf.length) {
      let nl = buf.indexOf(NL, start);
      if (nl < 0) nl = buf.length - 1;
      parts.push(prefix, buf.subarray(start, nl + 1));
      start = nl + 1;
    }
    toStderr(Buffer.concat(parts));
  };
}

/** Feeds a chunk, turning framed exit notes into lines of their own. */
function feed(s: Slot, chunk: Buffer): boolean {
  const lg = s.logger!;
  let data = s.carry ? Buffer.concat([s.carry, chunk]) : chunk;
  s.carry = undefined;
  let ok = true;
  const marker = s.token;
  for (;;) {
    const i = data.indexOf(marker);
    if (i < 0) {
      // Hold back a tail that may be the start of a marker split across reads.
      let keep = 0;
      const max = Math.min(marker.length - 1, data.length);
      for (let k = max; k > 0; k--) {
        if (data[data.length - k] === 0 && data.subarray(data.length - k).equals(marker.subarray(0, k))) {
          keep = k;
          break;
        }
      }
      const body = data.subarray(0, data.length - keep);
      if (body.length) {
        ok = lg.write(body) && ok;
        s.atLineStart = body[body.length - 1] === NL;
      }
      if (keep) s.carry = Buffer.from(data.subarray(data.length - keep));
      return ok;
    }
    const nl = data.indexOf(NL, i + marker.length);
    if (nl < 0) {
      const body = data.subarray(0, i);
      if (body.length) {
        ok = lg.write(body) && ok;
        s.atLineStart = body[body.length - 1] === NL;
      }
      s.carry = Buffer.from(data.subarray(i));
      return ok;
    }
    const body = data.subarray(0, i);
    if (body.length) {
      ok = lg.write(body) && ok;
      s.atLineStart = body[body.length - 1] === NL;
    }
    const note = data.subarray(i + marker.length, nl + 1);
    if (s.notes) {
      if (!s.atLineStart) ok = lg.write(Buffer.from([NL])) && ok;
      ok = lg.write(note) && ok;
      s.atLineStart = true;
    }
    data = data.subarray(nl + 1);
  }
}

function ensureInput(s: Slot): Input {
  if (s.input) return s.input;
  const inp = openInput(s.fd, {
    data: (chunk) => {
      if (!s.logger || s.logger.isFinished) return;
      if (!feed(s, chunk)) inp.pause();
    },
    end: () => {
      s.eof = true;
      void finishAtEof(s);
    },
  });
  inp.pause();
  s.input = inp;
  return inp;
}

async function finishAtEof(s: Slot): Promise<void> {
  const lg = s.logger;
  if (lg && !lg.isFinished) {
    if (s.carry) {
      lg.write(s.carry);
      s.carry = undefined;
    }
    await lg.end().catch(() => {});
  }
  if (s.logger === lg) s.logger = undefined;
  if (s.forgetting) {
    slots.delete(s.name);
    reply({ event: 'forgotten', name: s.name });
  } else {
    ended(s, s.gen, 0);
  }
}

async function start(s: Slot, gen: number, scriptLines: string[], dir: string, notes: boolean): Promise<void> {
  if (s.stopping) {
    // svscan starts an incarnation only once the previous one's end was replied, which a stop does last;
    // should a start still overtake it, it waits for the stop instead of being lost.
    s.pendingStart = () => void start(s, gen, scriptLines, dir, notes);
    return;
  }
  if (s.logger || s.starting) {
    // The logger running (or opening) carries on as this incarnation (a new svscan's first start).
    s.gen = gen;
    s.stopAsked = false;
    if (s.logger) reply({ event: 'started', name: s.name, gen });
    return;
  }
  s.gen = gen;
  s.stopAsked = false;
  s.notes = notes;
  let lg: Logger;
  s.starting = true;
  try {
    lg = await Logger.open({
      script: parseScript(scriptLines),
      clock,
      stderr: prefixed(s.name),
      baseDir: dir,
      prog: 'loghost',
      lock: (p) => lockBatched(p, 0o600), // the start requests of a first scan arrive together: one helper
    });
  } catch (e) {
    s.starting = false;
    const text = e instanceof FatalError ? e.message : describeError(e);
    toStderr(Buffer.from(`loghost: warning: ${s.name}/log: ${text}\n`));
    s.stopAsked = false;
    ended(s, s.gen, EXIT.TEMP, text);
    if (s.forgetting) forgetNow(s);
    return;
  }
  s.starting = false;
  s.logger = lg;
  s.atLineStart = true;
  s.stopping = false;
  const inp = ensureInput(s);
  lg.on('drain', () => {
    if ((!s.paused || s.forgetting) && !s.stopping && s.logger === lg) inp.resume();
  });
  reply({ event: 'started', name: s.name, gen: s.gen });
  if (s.eof) {
    void finishAtEof(s);
    return;
  }
  if (s.stopAsked && !s.forgetting) {
    // svc -t (or -d) arrived while the logger was opening: it stops now, having read nothing.
    s.stopAsked = false;
    void stop(s, s.gen);
    return;
  }
  if (!s.paused || s.forgetting) inp.resume();
}

/** Forgets a slot whose logger is not running: its pipe is closed unread. */
function forgetNow(s: Slot): void {
  s.input?.close();
  slots.delete(s.name);
  reply({ event: 'forgotten', name: s.name });
}

/** multilog's SIGTERM rule for one logger: finish the current line, leave the rest in the pipe. */
async function stop(s: Slot, gen: number = s.gen): Promise<void> {
  // A stop meant for an incarnation that has ended already (a second svc -t that crossed the reply to the
  // first): its end was replied, and the logger now running (or opening) is another incarnation's.
  if (gen !== s.gen) return;
  if (s.starting) {
    s.stopAsked = true; // the open under way is this incarnation: it stops once open (start())
    return;
  }
  const lg = s.logger;
  if (!lg || s.stopping) {
    if (!lg) ended(s, gen, 0); // ended meanwhile (end of input, a failed open): replied once at most
    return;
  }
  s.stopping = true;
  const inp = s.input!;
  inp.pause();
  void lg.terminate();
  for (;;) {
    await lg.idle();
    if (lg.isFinished || !lg.midLine) break;
    if (lg.pending > 0) continue;
    const b = await inp.readByte();
    if (b === null) {
      await lg.end();
      break;
    }
    lg.write(b);
  }
  await lg.done.catch(() => {});
  if (s.logger === lg) s.logger = undefined;
  s.stopping = false;
  ended(s, gen, 0);
  const next = s.pendingStart;
  s.pendingStart = undefined;
  next?.();
}

interface Request {
  op: string;
  name: string;
  fd?: number;
  path?: string;
  token?: string;
  script?: string[];
  dir?: string;
  notes?: boolean;
  gen?: number;
}

/** The request's pipe: the fd svscan passed, or its /proc path opened non-blocking; undefined (warned) if not. */
function pipeFd(r: Request, verb: 'open' | 'hold'): number | undefined {
  try {
    return r.fd ?? openSync(r.path!, C.O_RDONLY | C.O_NONBLOCK);
  } catch (e) {
    toStderr(Buffer.from(`loghost: warning: unable to ${verb} the pipe of ${r.name}: ${describeError(e)}\n`));
    return undefined;
  }
}

function handle(r: Request): void {
  let s = slots.get(r.name);
  switch (r.op) {
    case 'add': {
      if (s) return;
      const fd = pipeFd(r, 'open');
      if (fd === undefined) return;
      s = {
        name: r.name,
        fd,
        token: Buffer.from(`\0UPKEEP-${r.token ?? ''}\0`),
        notes: true,
        atLineStart: true,
        carry: undefined,
        paused: false,
        stopping: false,
        forgetting: false,
        eof: false,
        gen: 0,
        endedGen: 0,
        stopAsked: false,
      };
      slots.set(r.name, s);
      reply({ event: 'added', name: r.name, fd });
      return;
    }
    case 'start':
      if (s) void start(s, r.gen ?? s.gen, r.script ?? [], r.dir ?? '.', r.notes ?? true);
      else reply({ event: 'stopped', name: r.name, gen: r.gen, code: EXIT.TEMP, error: 'unknown service' });
      return;
    case 'stop':
      if (s) void stop(s, r.gen ?? s.gen);
      return;
    case 'pause':
      if (s) {
        s.paused = true;
        s.input?.pause();
      }
      return;
    case 'resume':
      if (s) {
        s.paused = false;
        if (s.logger && !s.stopping) s.input?.resume();
      }
      return;
    case 'hold': {
      const fd = pipeFd(r, 'hold');
      if (fd === undefined) return;
      const old = holds.get(r.name);
      if (old !== undefined && old !== fd) closeQuietly(old);
      holds.set(r.name, fd);
      reply({ event: 'held', name: r.name, fd });
      return;
    }
    case 'release': {
      const fd = holds.get(r.name);
      holds.delete(r.name);
      if (fd !== undefined) closeQuietly(fd);
      return;
    }
    case 'rotate':
      s?.logger?.rotateNow();
      return;
    case 'forget':
      if (!s) return;
      s.forgetting = true;
      if (s.logger && !s.stopping) s.input?.resume();
      else if (!s.starting) forgetNow(s); // a start under way reads to the end once open

      return;
  }
}

export async function main(args: string[]): Promise<number> {
  if (args.length !== 0) {
    process.stderr.write('loghost: usage: upkeep loghost (internal)\n');
    return EXIT.USAGE;
  }
  process.umask(0o022);
  process.stdout.on('error', () => {});
  const lines = new TextLines();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const onData = (t: string): void => {
    for (const line of lines.push(t)) {
      try {
        handle(JSON.parse(line) as Request);
      } catch {
        /* a malformed request is ignored */
      }
    }
  };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', onData);
  // svscan gone (killed): keep logging; a new svscan tells this loghost to finish (SIGTERM).
  process.stdin.on('end', () => {});
  process.stdin.on('error', () => {});
  const onTerm = (): void => {
    void (async () => {
      await Promise.all([...slots.values()].map((s) => (s.logger ? stop(s) : undefined)));
      resolveDone();
    })();
  };
  process.on('SIGTERM', onTerm);
  // Nothing else may keep the event loop alive: once svscan is gone (stdin closed), a paused logger's
  // socket is not read, and Node would exit here, closing read ends that still hold lines (and giving the
  // services SIGPIPE). Only SIGTERM ends loghost.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await done;
  clearInterval(keepAlive);
  process.off('SIGTERM', onTerm);
  process.stdin.destroy();
  for (const s of slots.values()) s.input?.close();
  return EXIT.OK;
}
