// svscan's side of the shared logger process (`upkeep loghost`, src/programs/loghost.ts): spawns it with
// every known service's read end as its own fd (3 and up), tells it what to do over its stdin
// (newline-delimited JSON, below) and turns its replies into the exits of the NAME/log Services, whose
// Runner this provides. When loghost dies, every running `log/script` logger has exited: their Services
// restart them, which respawns loghost on the same pipes (svscan still holds every read end, so no line
// still in a pipe is lost).
//
// Requests (one JSON object per line on loghost's stdin):
//   {"op":"add","name":N,"fd":3 | "path":"/proc/PID/fd/K","script":[lines],"dir":LOGDIR,"notes":true,"token":T}
//   {"op":"start","name":N,"gen":G}  open the logger (locks, recovery) and read its pipe; G numbers this
//                                incarnation (unique for the life of svscan, across loghost respawns)
//   {"op":"stop","name":N,"gen":G}   finish the current line, close the logger, stop reading (svc -d/-t/-k);
//                                a stop for an incarnation that has already ended is ignored
//   {"op":"pause"|"resume","name":N}   stop/resume reading (svc -p/-c)
//   {"op":"rotate","name":N}     svc -a
//   {"op":"forget","name":N}     the write end is closed: read to the end, close, forget
//   {"op":"hold","name":N,"fd":3 | "path":P}  keep a read end of a `log/run` pipe open, never read it
//   {"op":"release","name":N}    close that held read end
// Replies (one JSON object per line on loghost's stdout):
//   {"event":"started","name":N,"gen":G}  {"event":"stopped","name":N,"gen":G,"code":0|111,"error"?:TEXT}
//   {"event":"forgotten","name":N}  {"event":"added","name":N,"fd":FD}  (FD: the pipe's fd in loghost)
//   {"event":"held","name":N,"fd":FD}
//
// Held read ends: a `log/run` logger reads its pipe in its own process, and svscan holds a read end too, so
// the service never gets SIGPIPE while the logger restarts. If svscan is killed, that last read end goes
// with it, and a logger that then dies would leave the service writing into a pipe with no reader
// (SIGPIPE, the lines in the pipe lost). loghost survives svscan's death, so it holds (never reads) a read
// end of every `log/run` pipe too: the service blocks on a full pipe instead, as under daemontools (where
// supervise holds it), until a new svscan takes the pipe over and starts a logger. It costs one fd per
// service in loghost; a tree with only `log/run` loggers runs loghost for this alone.
//
// Incarnations: to the NAME/log Service every start of a slot is a new process with loghost's pid, so the
// pid cannot tell an old incarnation's end from the new one's. Every start therefore carries a number
// (gen), every stop names the incarnation it is meant for, every `stopped` reply names the one that ended,
// and a reply for any other incarnation than the current one is dropped: a `svc -t` that reaches svscan
// while the previous one is being answered, or one that lands while the new logger is still opening, must
// never read as the new incarnation dying young (a backoff). Replies of a loghost that has died (its exit
// already ended its loggers) are dropped too, and every loghost's replies are framed on their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync, constants as C } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError } from '../core/errors.js';
import type { Journal } from './journal.js';
import type { LogPipe } from './logpipe.js';
import type { ExitInfo, Runner } from './service.js';
import type { ScriptLoggers } from './tree.js';

export interface LogHostOptions {
  treeDir: string;
  say: (line: string) => void;
  journal: Journal;
  /** The command that runs loghost (default: this Node and this CLI: `upkeep loghost`). */
  command?: [string, ...string[]];
}

/** Told when loghost's pid or a pipe's fd inside it changes (svscan's state file). */
export type LogHostListener = () => void;

interface Slot {
  name: string;
  logDir: string;
  pipe: LogPipe;
  /** A second, non-blocking write description of the pipe, for exit notes (never blocks svscan). */
  noteFd: number;
  notes: boolean;
  /** The logger runs in the current loghost. */
  active: boolean;
  /** The pipe's fd inside the current loghost (for the state file). */
  hostFd?: number;
  /** The current (or last) incarnation's number; `exited` belongs to it. */
  gen: number;
  exited?: (code: number | null, signal: string | null) => void;
  forgotten?: () => void;
}

/** The exit note text (docs/journal.md). */
export function exitNoteText(info: ExitInfo, next: string): string {
  const code = info.signal === null ? String(info.code ?? '-') : '-';
  return `upkeep: exit pid=${info.pid} code=${code} signal=${info.signal ?? '-'} uptime=${info.uptime.toFixed(3)} next=${next}`;
}

/** How long an exit note (and the restart behind it) waits for room in a full pipe. */
const NOTE_WAIT_MS = 10_000;

/** A `log/run` pipe whose read end loghost holds. */
interface Hold {
  pipe: LogPipe;
  /** Its fd inside the current loghost (for the state file), once known. */
  hostFd?: number;
}

/** A loghost that ended while it held pipes and no `log/script` logger restarts it: respawned after this. */
const HOLD_RESPAWN_MS = 1000;

export class LogHostClient implements ScriptLoggers {
  private proc: ChildProcess | undefined;
  private readonly slots = new Map<string, Slot>();
  private readonly holds = new Map<string, Hold>();
  private respawnTimer: NodeJS.Timeout | undefined;
  /** Per-boot token framing exit notes: no service knows it. */
  readonly token = randomBytes(12).toString('hex');
  private stopped = false;
  /** The last incarnation number given (LogHostClient-wide, so never reused by a respawned loghost). */
  private gen = 0;
  onChange: LogHostListener = () => {};

  constructor(private readonly opts: LogHostOptions) {}

  hostFd(name: string): number | undefined {
    return this.proc ? this.slots.get(name)?.hostFd : undefined;
  }

  heldFd(name: string): number | undefined {
    return this.proc ? this.holds.get(name)?.hostFd : undefined;
  }

  /** loghost holds (never reads) a read end of NAME's `log/run` pipe, starting loghost if need be. */
  hold(name: string, pipe: LogPipe): void {
    const h = this.holds.get(name);
    if (h?.pipe === pipe) return;
    this.holds.set(name, { pipe });
    if (!this.proc) {
      try {
        this.ensure();
      } catch (e) {
        this.opts.say(`svscan: warning: unable to start loghost to hold the pipe of ${name}: ${describeError(e)}`);
        this.respawnLater();
      }
      return;
    }
    if (h) this.send({ op: 'release', name });
    this.send({ op: 'hold', name, path: `/proc/${process.pid}/fd/${pipe.readFd}` });
  }

  /** NAME's pipe is closed: loghost closes its held read end. */
  release(name: string): void {
    if (!this.holds.delete(name)) return;
    this.send({ op: 'release', name });
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  runner(name: string, logDir: string, pipe: LogPipe): Runner {
    let slot = this.slots.get(name);
    if (!slot) {
      let noteFd = -1;
      try {
        noteFd = openSync(`/proc/self/fd/${pipe.writeFd}`, C.O_WRONLY | C.O_NONBLOCK);
      } catch {
        /* no notes for this one */
      }
      slot = { name, logDir, pipe, noteFd, notes: true, active: false, gen: 0 };
      this.slots.set(name, slot);
      if (this.proc) this.sendAdd(slot, undefined);
    }
    slot.logDir = logDir;
    const s = slot;
    return {
      start: (exited) => {
        if (!this.slots.has(name)) throw Object.assign(new Error('the service is being removed'), { code: 'ENOENT' });
        s.notes = !existsSync(join(s.logDir, 'no-exit-notes'));
        const pid = this.ensure();
        const script = readScript(s.logDir);
        s.gen = ++this.gen;
        s.exited = exited;
        s.active = true;
        this.send({ op: 'start', name, gen: s.gen, script, dir: s.logDir, notes: s.notes });
        return pid;
      },
      signal: (_pid, signal) => {
        if (!s.active) {
          // Already over (forgotten, or loghost died): report the end the state machine waits for.
          const cb = s.exited;
          s.exited = undefined;
          if (cb && !this.slots.has(name)) setImmediate(() => cb(0, null));
          return;
        }
        switch (signal) {
          case 'SIGALRM':
            this.send({ op: 'rotate', name });
            return;
          case 'SIGSTOP':
            this.send({ op: 'pause', name });
            return;
          case 'SIGCONT':
            this.send({ op: 'resume', name });
            return;
          default: // TERM, KILL, INT, HUP: this logger (never loghost) finishes its line and stops
            this.send({ op: 'stop', name, gen: s.gen });
        }
      },
    };
  }

  /** NAME's logger definition moved to `logDir` unchanged (a deploy): its next start reads it there. */
  move(name: string, logDir: string): void {
    const s = this.slots.get(name);
    if (s) s.logDir = logDir;
  }

  /** The write end is closed: loghost reads the pipe to its end, then forgets it. */
  forget(name: string): Promise<void> {
    const s = this.slots.get(name);
    if (!s) return Promise.resolve();
    const closeNotes = (): void => {
      if (s.noteFd >= 0) closeSync(s.noteFd);
      s.noteFd = -1;
    };
    if (!this.proc || !s.active) {
      this.slots.delete(name);
      if (this.proc) this.send({ op: 'forget', name });
      closeNotes();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      s.forgotten = () => {
        s.forgotten = undefined;
        this.slots.delete(name);
        s.active = false;
        resolve();
      };
      this.send({ op: 'forget', name });
      closeNotes(); // after the request: loghost learns it is to forget before it can see the end of input
    });
  }

  note(name: string, info: ExitInfo, next: string, written: () => void): void {
    const s = this.slots.get(name);
    if (!s || !s.notes || s.noteFd < 0) {
      written();
      return;
    }
    const b = Buffer.from(`\0UPKEEP-${this.token}\0${exitNoteText(info, next)}\n`);
    const deadline = Date.now() + NOTE_WAIT_MS;
    const attempt = (): void => {
      if (s.noteFd < 0) return written();
      try {
        writeSync(s.noteFd, b); // < PIPE_BUF: all or nothing
        return written();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) {
          this.opts.say(`svscan: warning: unable to write the exit note of ${name}: ${describeError(e)}`);
          return written();
        }
      }
      // The pipe is full (the logger is behind): the restart waits until the note is in.
      setTimeout(attempt, 5);
    };
    attempt();
  }

  private ensure(): number {
    if (this.proc?.pid) return this.proc.pid;
    // Through the launcher (bin/upkeep), like any upkeep program: NODE_OPTIONS meant for services does not
    // configure the loghost's node, and the runtime fixes of upkeep(8), RUNTIME, apply.
    const [cmd, ...pre] = this.opts.command ?? [fileURLToPath(new URL('../../bin/upkeep', import.meta.url)), 'loghost'];
    const slots = [...this.slots.values()];
    const holds = [...this.holds];
    const proc = spawn(cmd, pre, {
      stdio: ['pipe', 'pipe', 'inherit', ...slots.map((s) => s.pipe.readFd), ...holds.map(([, h]) => h.pipe.readFd)],
      cwd: this.opts.treeDir,
    });
    if (proc.pid === undefined) {
      proc.once('error', () => {});
      throw new Error('unable to spawn loghost');
    }
    this.proc = proc;
    proc.stdin!.on('error', () => {});
    proc.stdout!.setEncoding('utf8');
    // Framed per loghost: what an old one still had in its stdout pipe when it died is not glued to the
    // first reply of the next one, and is dropped (its 'exit' has already ended every logger it ran).
    let buf = '';
    proc.stdout!.on('data', (t: string) => {
      buf += t;
      const nl = buf.lastIndexOf('\n');
      if (nl < 0) return;
      const lines = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (this.proc === proc) this.onReplies(lines);
    });
    proc.once('exit', (code, signal) => this.onExit(proc, code, signal));
    slots.forEach((s, i) => this.sendAdd(s, 3 + i));
    holds.forEach(([name, h], i) => {
      h.hostFd = 3 + slots.length + i;
      this.send({ op: 'hold', name, fd: h.hostFd });
    });
    this.onChange();
    return proc.pid;
  }

  private sendAdd(s: Slot, fd: number | undefined): void {
    s.hostFd = fd;
    this.send({
      op: 'add',
      name: s.name,
      ...(fd !== undefined ? { fd } : { path: `/proc/${process.pid}/fd/${s.pipe.readFd}` }),
      token: this.token,
    });
  }

  private send(msg: object): void {
    this.proc?.stdin?.write(`${JSON.stringify(msg)}\n`);
  }

  /** Complete reply lines of the current loghost. */
  private onReplies(text: string): void {
    for (const line of text.split('\n')) {
      let r: { event?: string; name?: string; gen?: number; code?: number; error?: string };
      try {
        r = JSON.parse(line);
      } catch {
        continue;
      }
      if (r.event === 'held' && r.name !== undefined && typeof (r as { fd?: unknown }).fd === 'number') {
        const h = this.holds.get(r.name);
        if (h) h.hostFd = (r as { fd: number }).fd;
        this.onChange();
        continue;
      }
      const s = r.name !== undefined ? this.slots.get(r.name) : undefined;
      if (!s) continue;
      if (r.event === 'stopped' && s.forgotten) {
        s.forgotten(); // end of input reached before loghost saw the forget request: the same outcome
      } else if (r.event === 'stopped' && r.gen !== undefined && r.gen !== s.gen) {
        continue; // an older incarnation's end (already reported): never the current one's
      } else if (r.event === 'stopped') {
        s.active = false;
        const cb = s.exited;
        s.exited = undefined;
        cb?.(r.code ?? 0, null);
      } else if (r.event === 'added' && typeof (r as { fd?: unknown }).fd === 'number') {
        s.hostFd = (r as { fd: number }).fd;
        this.onChange();
      } else if (r.event === 'forgotten') {
        s.forgotten?.();
      }
    }
  }

  private onExit(proc: ChildProcess, code: number | null, signal: string | null): void {
    if (this.proc !== proc) return;
    this.proc = undefined;
    for (const h of this.holds.values()) h.hostFd = undefined;
    const ended = [...this.slots.values()].filter((s) => s.active);
    for (const s of ended) s.active = false;
    if (!this.stopped) this.opts.say(`svscan: warning: loghost (pid ${proc.pid}) ended (${signal ?? `exit ${code}`}); its loggers restart`);
    for (const s of ended) {
      const cb = s.exited;
      s.exited = undefined;
      cb?.(code, signal);
      s.forgotten?.();
    }
    this.respawnLater();
  }

  // Pipes are held but no log/script logger restarts loghost: respawn it (once, after a pause: no spinning).
  private respawnLater(): void {
    if (this.stopped || this.respawnTimer || !this.holds.size) return;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (this.proc || this.stopped || !this.holds.size) return;
      try {
        this.ensure();
      } catch (e) {
        this.opts.say(`svscan: warning: unable to start loghost: ${describeError(e)}`);
        this.respawnLater();
      }
    }, HOLD_RESPAWN_MS);
  }

  /** End of the tree: loghost is told to finish (its loggers are stopped already) and waited for. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    const p = this.proc;
    if (!p) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    await done;
  }

  kill(): void {
    this.proc?.kill('SIGKILL');
  }
}

/** log/script: one multilog action per line; blank lines and `#` comments ignored. */
export function readScript(logDir: string): string[] {
  const text = readFileSync(join(logDir, 'script'), 'utf8');
  return parseScriptFile(text);
}

export function parseScriptFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}
