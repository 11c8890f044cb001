// One supervised service: owns its SuperviseDir, feeds events (control bytes, child exits, timers, stop
// requests) to the pure state machine in core/supervise-fsm and executes the effects it returns.
// No globals, no process.exit, no blocking waits: one Node process can run many of these.
import { spawn, type ChildProcess, type SpawnOptions, type StdioOptions } from 'node:child_process';
import { accessSync, constants as FC, existsSync, readFileSync, statSync } from 'node:fs';
import { constants as OS } from 'node:os';
import { join, resolve } from 'node:path';
import { describeError, FatalError } from '../core/errors.js';
import type { ExitEvent } from '../core/journal.js';
import { packStatus } from '../core/status.js';
import {
  DEFAULT_POLICY,
  initialState,
  statusOf,
  step,
  type Effect,
  type Event,
  type Policy,
  type Signal,
  type State,
  type TimerName,
} from '../core/supervise-fsm.js';
import { wallClock, type Clock } from './clock.js';
import { procAlive } from './proc.js';
import { SuperviseDir } from './svdir.js';

export interface ServiceOptions {
  /** The service directory. */
  dir: string;
  /** How messages name it (default: `dir` as given). */
  name?: string;
  clock?: Clock;
  /** Overrides of the restart policy (the service dir's `timeout-kill` file overrides killTimeoutMs). */
  policy?: Partial<Policy>;
  /** The service's fds 0, 1, 2 (default: inherited from the supervisor, as daemontools does). */
  stdio?: StdioOptions;
  /** Where warnings go (one line, without newline); default stderr. */
  warn?: (line: string) => void;
  /** Prefix of warnings (default "supervise"). */
  prog?: string;
  /** Extra spawn options (env, uid, gid), asked before every start of `run` and `finish`. */
  prepare?: () => Pick<SpawnOptions, 'env' | 'uid' | 'gid'>;
  /** Run `./finish EXITCODE SIGNAL NAME` after each exit, as s6 does (svscan; daemontools' supervise has none). */
  finish?: boolean;
  /** Observers of state changes (svscan's journal). */
  hooks?: ServiceHooks;
  /** How incarnations are started and signalled (default: spawn ./run). svscan's shared logger uses its own. */
  runner?: Runner;
  /**
   * Take over a process that already runs this service (left by a supervisor that was killed): its first
   * start adopts it instead of spawning. Its death is noticed by polling /proc (it is not our child: its
   * exit status is unknowable, so the exit is reported with code and signal null).
   */
  adopt?: { pid: number; start: number; since: number };
  /**
   * What a killed supervisor was told (svc -d, svc -o), carried over by a takeover: it overrides `down`.
   * A process that is adopted runs anyway, and is then told again (`d`: TERM, CONT; `o`: no restart).
   */
  want?: 'down' | 'once';
}

/** One ended incarnation, as the journal records it (the fields of the journal's `exit` event). */
export type ExitInfo = Pick<ExitEvent, 'pid' | 'code' | 'signal' | 'uptime' | 'operator' | 'wanted' | 'adopted'>;

export interface ServiceHooks {
  start?(pid: number): void;
  /** A running process was adopted instead of started (see ServiceOptions.adopt). */
  adopted?(pid: number): void;
  /** The service said it is ready (a newline on its `notification-fd`), `after` seconds after its start. */
  ready?(pid: number, after: number): void;
  exit?(info: ExitInfo): void;
  spawnFailed?(error: string): void;
  backoff?(delayMs: number, deaths: number): void;
  /** A control letter arrived through supervise/control. */
  control?(letter: string): void;
  /** The spawned child of a start (svscan: a controller service's stdin and stdout pipes). */
  child?(child: ChildProcess): void;
  /** A control letter changed what the service is wanted to do (up, down, once). */
  want?(want: State['want']): void;
  /** The finish script ended (or was killed after timeout-finish). */
  finished?(code: number | null, signal: string | null): void;
}

/** Starts incarnations of a service. `start` returns the pid and calls `exited` once when it ends. */
export interface Runner {
  start(exited: (code: number | null, signal: string | null) => void): number;
  signal(pid: number, signal: NodeJS.Signals, group: boolean): void;
}

const DOWN_SIGNALS: readonly Signal[] = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGWINCH', 'SIGPWR', 'SIGKILL'];

/** How often an adopted process (not our child) is checked for its death. */
const ADOPT_POLL_MS = 50;

/** s6's default for `timeout-finish`. */
export const DEFAULT_FINISH_TIMEOUT_MS = 5000;

export class Service {
  /** The service directory (changes only by relocate()). */
  dir: string;
  readonly name: string;
  private abs: string;
  private readonly clock: Clock;
  private stdio: StdioOptions;
  private readonly warnLine: (line: string) => void;
  private svdir: SuperviseDir;
  private readonly policyOverride: Partial<Policy>;
  private readonly prog: string;
  private readonly hooks: ServiceHooks;
  private readonly runner: Runner | undefined;
  private readonly prepare: ServiceOptions['prepare'];
  private readonly runFinish: boolean;
  /** An operator asked for the current incarnation's death. */
  private asked = false;
  /** A finish script is running: the next start waits for it. */
  private finishing = false;
  private holds = 0;
  private spawnPending = false;
  private stopTimer: NodeJS.Timeout | undefined;
  private adoptee: ServiceOptions['adopt'];
  private readonly carried: ServiceOptions['want'];
  private pollTimer: NodeJS.Timeout | undefined;
  private adoptedPid = 0;
  private st: State | undefined;
  private readonly queue: Event[] = [];
  private busy = false;
  private pendingStatus: Uint8Array | undefined;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private resolveDone!: () => void;
  /** Settles when supervision is over (after `x`, or stop()), with every fd and the lock released. */
  readonly done: Promise<void>;

  constructor(opts: ServiceOptions) {
    this.dir = opts.dir;
    this.name = opts.name ?? opts.dir;
    this.abs = resolve(opts.dir);
    this.clock = opts.clock ?? wallClock();
    this.stdio = opts.stdio ?? 'inherit';
    this.warnLine = opts.warn ?? ((line) => process.stderr.write(`${line}\n`));
    this.policyOverride = opts.policy ?? {};
    this.prog = opts.prog ?? 'supervise';
    this.hooks = opts.hooks ?? {};
    this.runner = opts.runner;
    this.prepare = opts.prepare;
    this.runFinish = opts.finish ?? false;
    this.adoptee = opts.adopt;
    this.carried = opts.want;
    this.svdir = new SuperviseDir(this.abs, this.name);
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** The current state (for tests and svscan). */
  get state(): State | undefined {
    return this.st;
  }

  /**
   * daemontools' start-up order: `down`, mkdir supervise, lock, control, first status, ok, then the
   * service unless it is wanted down. Throws FatalError (nothing left open) if any step fails.
   */
  async start(): Promise<void> {
    let downFile: boolean;
    try {
      statSync(join(this.abs, 'down'));
      downFile = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new FatalError(`unable to stat ${this.name}/down`, err);
      }
      downFile = false;
    }
    const policy: Policy = { ...DEFAULT_POLICY, ...this.policyOverride, ...this.readServicePolicy() };
    try {
      await this.svdir.lock();
      this.openControl(this.svdir);
      // An adopted process runs: it is supervised as running, whatever `down` says.
      const down = this.carried !== undefined ? true : downFile;
      this.st = initialState(this.clock.nowMicros(), down && !this.adoptee, policy);
      this.writeStatus(this.st);
      this.svdir.openOk();
    } catch (err) {
      this.svdir.close();
      throw err;
    }
    const adopting = this.adoptee !== undefined;
    this.dispatch({ type: 'boot', now: this.clock.nowMicros() });
    if (adopting && this.carried && this.st.pid !== 0) this.controlByte(this.carried === 'down' ? 0x64 : 0x6f);
  }

  private openControl(d: SuperviseDir): void {
    d.openControl(
      (bytes) => {
        for (const byte of bytes) {
          this.hooks.control?.(String.fromCharCode(byte));
          this.controlByte(byte);
        }
      },
      (err) => this.warn(`unable to read ${this.name}/supervise/control: ${describeError(err)}`),
    );
  }

  /**
   * Serves `supervise/` from another directory from now on, without touching the running process (svscan:
   * a deploy whose logger stays the same). The new place is complete (lock, control, status, ok) before
   * the old one is released, so svok succeeds on the new one when this returns and fails on the old one.
   * Throws FatalError (the old place still served) if the new one cannot be taken.
   */
  async relocate(dir: string): Promise<void> {
    if (!this.st || this.st.phase === 'exited') throw new Error(`unable to relocate ${this.name}: not supervised`);
    const next = new SuperviseDir(resolve(dir), this.name);
    try {
      await next.lock();
      this.openControl(next);
      const w = next.writeStatus(packStatus(statusOf(this.st)));
      if (w !== undefined) this.warn(w);
      next.openOk();
    } catch (err) {
      next.close();
      throw err;
    }
    const old = this.svdir;
    this.svdir = next;
    this.dir = dir;
    this.abs = resolve(dir);
    old.close();
  }

  /**
   * Stop the service (TERM, CONT) and end supervision once it is down; a second call sends KILL to its
   * process group. With `killAfterMs`, that second step happens by itself after so many ms.
   */
  stop(killAfterMs?: number): void {
    if (!this.st) return;
    if (this.st.pid !== 0) this.asked = true;
    this.dispatch({ type: 'terminate', now: this.clock.nowMicros() });
    if (killAfterMs !== undefined && killAfterMs > 0 && this.stopTimer === undefined && this.st.phase !== 'exited') {
      this.stopTimer = setTimeout(() => {
        if (this.st && this.st.phase !== 'exited') this.dispatch({ type: 'terminate', now: this.clock.nowMicros() });
      }, killAfterMs);
    }
  }

  /** The next starts get these fds (svscan: held sockets bound again after a takeover). */
  setStdio(stdio: StdioOptions): void {
    this.stdio = stdio;
  }

  /** Sends control bytes as if they had been written to supervise/control. */
  control(bytes: string): void {
    for (const c of Buffer.from(bytes, 'latin1')) this.controlByte(c);
  }

  /** The pid of the running incarnation, 0 if none. */
  get pid(): number {
    return this.st?.pid ?? 0;
  }

  /** The effective policy (after the service's setting files), once started. */
  get policy(): Policy | undefined {
    return this.st?.policy;
  }

  private controlByte(byte: number): void {
    if (!this.st) return;
    // d, t, k, x (and i, h, a, which may kill too) on a running process: an exit that follows was asked for.
    if (this.st.pid !== 0 && 'dtkxiha'.includes(String.fromCharCode(byte))) this.asked = true;
    const want = this.st.want;
    this.dispatch({ type: 'control', byte, now: this.clock.nowMicros() });
    if (this.st.want !== want) this.hooks.want?.(this.st.want);
  }

  private readServicePolicy(): Partial<Policy> {
    // s6's `timeout-kill`: milliseconds; leading digits as djb's scan_ulong, 0 = never.
    const p: { -readonly [K in keyof Policy]?: Policy[K] } = {};
    const kill = readMsFile(join(this.abs, 'timeout-kill'));
    if (kill !== undefined) p.killTimeoutMs = kill;
    // upkeep's own: the restart policy per service (milliseconds).
    const min = readMsFile(join(this.abs, 'min-uptime'));
    if (min !== undefined) p.minUptimeMs = min;
    const base = readMsFile(join(this.abs, 'backoff-base'));
    if (base !== undefined && base > 0) p.backoffBaseMs = base;
    const max = readMsFile(join(this.abs, 'backoff-max'));
    if (max !== undefined && max > 0) p.backoffMaxMs = max;
    // upkeep's `down-group`: d (and a stop of the tree) signals the whole process group.
    try {
      statSync(join(this.abs, 'down-group'));
      p.downGroup = true;
    } catch {
      /* absent */
    }
    // s6's `down-signal`: a signal name (TERM or SIGTERM) sent by `d` instead of SIGTERM.
    try {
      const word = readFileSync(join(this.abs, 'down-signal'), 'latin1').trim().toUpperCase();
      const name = (word.startsWith('SIG') ? word : `SIG${word}`) as Signal;
      if (DOWN_SIGNALS.includes(name)) p.downSignal = name;
      else this.warn(`unable to use ${this.name}/down-signal: unknown signal ${word}`);
    } catch {
      /* absent */
    }
    return p;
  }

  private dispatch(ev: Event, first = false): void {
    if (first) this.queue.unshift(ev);
    else this.queue.push(ev);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
        const r = step(this.st!, e);
        this.st = r.state;
        for (const eff of r.effects) this.run(eff);
      }
    } finally {
      this.busy = false;
      this.flushStatus();
    }
  }

  // One burst of events (a death and the restart it causes) rewrites `status` once, after the spawn: the
  // rewrite (open, write, close, rename: ~0.25 ms measured) is off the death-to-restart path, and no reader
  // can tell, since a status that is replaced within the same synchronous step was never observable.
  private flushStatus(): void {
    const b = this.pendingStatus;
    if (b === undefined) return;
    this.pendingStatus = undefined;
    this.writeBytes(b);
  }

  private run(e: Effect): void {
    switch (e.type) {
      case 'status':
        this.pendingStatus = packStatus(e.status);
        return;
      case 'spawn':
        this.spawn();
        return;
      case 'signal':
        if (this.runner) {
          this.runner.signal(e.pid, e.signal, e.group);
          return;
        }
        try {
          process.kill(e.group ? -e.pid : e.pid, e.signal);
        } catch {
          /* already gone: its exit event is on its way */
        }
        return;
      case 'arm':
        if (!this.timers.has(e.timer)) {
          const t = setTimeout(() => {
            this.timers.delete(e.timer);
            this.dispatch({ type: 'timer', timer: e.timer, now: this.clock.nowMicros() });
          }, e.ms);
          this.timers.set(e.timer, t);
          if (e.timer === 'restart') this.hooks.backoff?.(e.ms, this.st?.failures ?? 0);
        }
        return;
      case 'disarm': {
        const t = this.timers.get(e.timer);
        if (t) clearTimeout(t);
        this.timers.delete(e.timer);
        return;
      }
      case 'exit':
        this.flushStatus();
        for (const t of this.timers.values()) clearTimeout(t);
        this.timers.clear();
        if (this.stopTimer) clearTimeout(this.stopTimer);
        this.stopTimer = undefined;
        if (this.pollTimer) clearInterval(this.pollTimer);
        this.pollTimer = undefined;
        this.svdir.close();
        this.resolveDone();
        return;
      default: {
        const never: never = e;
        throw new Error(`unhandled effect ${JSON.stringify(never)}`);
      }
    }
  }

  // ./run with no arguments, cwd = the service dir, in its own session and process group (as s6 does),
  // so a stop escalated to SIGKILL reaches the whole group and a terminal's ^C reaches only supervise.
  // While a finish script of the previous run is still running, the start waits for it.
  private spawn(): void {
    if (this.finishing || this.holds > 0) {
      this.spawnPending = true;
      return;
    }
    const a = this.adoptee;
    this.adoptee = undefined;
    if (a && procAlive(a.pid, a.start)) {
      this.pollTimer = setInterval(() => {
        if (procAlive(a.pid, a.start)) return;
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
        this.onExit(a.pid, null, null);
      }, ADOPT_POLL_MS);
      this.asked = false;
      this.adoptedPid = a.pid;
      this.dispatch({ type: 'spawned', pid: a.pid, now: a.since }, true);
      if (this.hooks.adopted) this.hooks.adopted(a.pid);
      else this.hooks.start?.(a.pid);
      return;
    }
    if (this.runner) {
      let pid: number;
      try {
        pid = this.runner.start((code, signal) => this.onExit(pid, code, signal));
      } catch (err) {
        this.warnStart(err);
        this.dispatch({ type: 'spawn-failed', now: this.clock.nowMicros() }, true);
        return;
      }
      this.asked = false;
      this.dispatch({ type: 'spawned', pid, now: this.clock.nowMicros() }, true);
      this.hooks.start?.(pid);
      return;
    }
    let child: ChildProcess;
    let notify = readNotificationFd(this.abs);
    if (notify !== undefined && Array.isArray(this.stdio) && notify < this.stdio.length) {
      // a held fd (io/held-fds.ts) already has that number: readiness is off rather than the fd lost
      this.warn(`unable to use ${this.name}/notification-fd ${notify}: fd ${notify} is taken (held fds come first)`);
      notify = undefined;
    }
    try {
      child = spawn('./run', [], { env: inheritedEnv(), ...this.prepare?.(), cwd: this.abs, stdio: withNotification(this.stdio, notify), detached: true });
    } catch (err) {
      this.warnStart(err);
      this.dispatch({ type: 'spawn-failed', now: this.clock.nowMicros() }, true);
      return;
    }
    const pid = child.pid;
    if (pid === undefined) {
      // ENOENT, EACCES...: Node reports them on the next tick; the attempt has failed now.
      child.once('error', (err) => this.warnStart(err));
      this.dispatch({ type: 'spawn-failed', now: this.clock.nowMicros() }, true);
      return;
    }
    child.on('error', () => {
      /* kill() errors: the exit event settles the state */
    });
    child.once('exit', (code, signal) => this.onExit(pid, code, signal));
    this.asked = false;
    const startedAt = this.clock.nowMicros();
    this.dispatch({ type: 'spawned', pid, now: startedAt }, true);
    this.hooks.start?.(pid);
    this.hooks.child?.(child);
    if (notify !== undefined) this.watchReadiness(child, notify, pid, startedAt);
  }

  // s6's readiness protocol: the service writes a line (a newline) to fd N when it is ready.
  private watchReadiness(child: ChildProcess, fd: number, pid: number, startedAt: number): void {
    const stream = child.stdio[fd] as NodeJS.ReadableStream | null | undefined;
    if (!stream) return;
    const onData = (b: Buffer): void => {
      if (!b.includes(10)) return;
      stream.removeListener('data', onData);
      (stream as unknown as { destroy(): void }).destroy();
      if (this.st?.pid === pid) this.hooks.ready?.(pid, (this.clock.nowMicros() - startedAt) / 1e6);
    };
    stream.on('data', onData);
    stream.on('error', () => {});
  }

  private onExit(pid: number, code: number | null, signal: string | null): void {
    const s = this.st;
    if (s && s.pid === pid) {
      const now = this.clock.nowMicros();
      this.hooks.exit?.({
        pid,
        code,
        signal,
        uptime: Math.max(0, now - s.stamp) / 1e6,
        operator: this.asked || s.exiting || s.want === 'down',
        wanted: s.want,
        ...(pid === this.adoptedPid ? { adopted: true } : {}),
      });
      if (this.runFinish && !this.runner) this.startFinish(code, signal);
    }
    this.dispatch({ type: 'exited', pid, now: this.clock.nowMicros() });
  }

  /** s6's finish: `./finish CODE SIGNUM NAME` (CODE 256 when killed by a signal), killed after timeout-finish. */
  private startFinish(code: number | null, signal: string | null): void {
    const path = join(this.abs, 'finish');
    // existsSync first: a missing file costs no thrown error (~10 us each, more when cold) on the way to
    // the next start; the same below for notification-fd and in settings.ts for user.
    if (!existsSync(path)) return;
    try {
      accessSync(path, FC.X_OK);
    } catch {
      return; // no finish script (or not executable): nothing to wait for, as s6
    }
    const signum = signal === null ? 0 : (OS.signals as Record<string, number>)[signal] ?? 0;
    const args = [String(signal === null ? code ?? 0 : 256), String(signum), this.name];
    let child: ChildProcess;
    try {
      child = spawn('./finish', args, { env: inheritedEnv(), ...this.prepare?.(), cwd: this.abs, stdio: this.stdio, detached: true });
    } catch (err) {
      this.warn(`unable to start ${this.name}/finish: ${describeError(err)}`);
      return;
    }
    if (child.pid === undefined) {
      child.once('error', (err) => this.warn(`unable to start ${this.name}/finish: ${describeError(err)}`));
      return;
    }
    const fpid = child.pid;
    this.finishing = true;
    const ms = readMsFile(join(this.abs, 'timeout-finish')) ?? DEFAULT_FINISH_TIMEOUT_MS;
    const timer =
      ms > 0
        ? setTimeout(() => {
            this.warn(`${this.name}/finish still running after ${ms} ms: killing it`);
            try {
              process.kill(-fpid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }, ms)
        : undefined;
    child.on('error', () => {});
    child.once('exit', (fcode, fsig) => {
      if (timer) clearTimeout(timer);
      this.finishing = false;
      this.hooks.finished?.(fcode, fsig);
      this.resumeSpawn();
    });
  }

  /**
   * Holds the next start until the returned function is called (svscan: until the exit note is in the
   * pipe, so that it sits before the next incarnation's first byte). Called from the exit hook.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.resumeSpawn();
    };
  }

  /** A start waited (finish script, hold): do it now, unless the service was meanwhile wanted down. */
  private resumeSpawn(): void {
    if (this.finishing || this.holds > 0 || !this.spawnPending) return;
    this.spawnPending = false;
    const st = this.st;
    if (!st || st.phase !== 'starting') return;
    if (st.exiting || st.want === 'down') this.dispatch({ type: 'spawn-cancelled', now: this.clock.nowMicros() });
    else this.spawn();
  }

  private warnStart(err: unknown): void {
    const text = `unable to start ${this.name}/run: ${describeError(err)}`;
    this.hooks.spawnFailed?.(describeError(err));
    this.warn(text);
  }

  private writeStatus(s: State): void {
    this.writeBytes(packStatus(statusOf(s)));
  }

  private writeBytes(b: Uint8Array): void {
    const w = this.svdir.writeStatus(b);
    if (w !== undefined) this.warn(w);
  }

  private warn(text: string): void {
    this.warnLine(`${this.prog}: warning: ${text}`);
  }
}

/** A setting file holding milliseconds (leading digits, as djb's scan_ulong); undefined if absent. */
export function readMsFile(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'latin1');
    const m = /^\s*(\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return undefined;
  }
}

/** s6's `notification-fd`: the fd (3 and up) on which the service writes a newline once it is ready. */
export function readNotificationFd(dir: string): number | undefined {
  const path = join(dir, 'notification-fd');
  if (!existsSync(path)) return undefined;
  try {
    const m = /^\s*(\d+)/.exec(readFileSync(path, 'latin1'));
    const n = m ? Number(m[1]) : NaN;
    return n >= 3 && n < 1024 ? n : undefined;
  } catch {
    return undefined;
  }
}

function withNotification(stdio: StdioOptions, fd: number | undefined): StdioOptions {
  if (fd === undefined) return stdio;
  const base = typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio];
  while (base.length < fd) base.push('ignore');
  base[fd] = 'pipe';
  return base as StdioOptions;
}

// Without a prepare hook (upkeep supervise), a service inherits the supervisor's environment. Node copies
// `process.env` (an exotic object, slow to walk) into every spawn; a plain snapshot taken once is cheaper on
// the death-to-restart path (about 0.6 ms measured, bench/svscan.md). The supervisor never changes its env.
let envSnapshot: NodeJS.ProcessEnv | undefined;
function inheritedEnv(): NodeJS.ProcessEnv {
  return (envSnapshot ??= { ...process.env });
}
