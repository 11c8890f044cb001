// One supervised service: owns its SuperviseDir, feeds events (control bytes, child exits, timers, stop
// requests) to the pure state machine in core/supervise-fsm and executes the effects it returns.
// No globals, no process.exit, no blocking waits: one Node process can run many of these.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeError, FatalError } from '../core/errors.js';
import { packStatus } from '../core/status.js';
import {
  DEFAULT_POLICY,
  initialState,
  statusOf,
  step,
  type Effect,
  type Event,
  type Policy,
  type State,
  type TimerName,
} from '../core/supervise-fsm.js';
import { wallClock, type Clock } from './clock.js';
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
}

export class Service {
  readonly dir: string;
  readonly name: string;
  private readonly abs: string;
  private readonly clock: Clock;
  private readonly stdio: StdioOptions;
  private readonly warnLine: (line: string) => void;
  private readonly svdir: SuperviseDir;
  private readonly policyOverride: Partial<Policy>;
  private st: State | undefined;
  private readonly queue: Event[] = [];
  private busy = false;
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
      this.svdir.openControl(
        (bytes) => {
          for (const byte of bytes) this.dispatch({ type: 'control', byte, now: this.clock.nowMicros() });
        },
        (err) => this.warn(`unable to read ${this.name}/supervise/control: ${describeError(err)}`),
      );
      this.st = initialState(this.clock.nowMicros(), downFile, policy);
      this.writeStatus(this.st);
      this.svdir.openOk();
    } catch (err) {
      this.svdir.close();
      throw err;
    }
    this.dispatch({ type: 'boot', now: this.clock.nowMicros() });
  }

  /** Stop the service (TERM, CONT) and end supervision once it is down; a second call sends KILL. */
  stop(): void {
    if (this.st) this.dispatch({ type: 'terminate', now: this.clock.nowMicros() });
  }

  /** Sends control bytes as if they had been written to supervise/control. */
  control(bytes: string): void {
    for (const c of Buffer.from(bytes, 'latin1')) this.dispatch({ type: 'control', byte: c, now: this.clock.nowMicros() });
  }

  private readServicePolicy(): Partial<Policy> {
    // s6's `timeout-kill`: milliseconds; leading digits as djb's scan_ulong, 0 = never.
    try {
      const text = readFileSync(join(this.abs, 'timeout-kill'), 'latin1');
      const m = /^\s*(\d+)/.exec(text);
      return { killTimeoutMs: m ? Number(m[1]) : 0 };
    } catch {
      return {};
    }
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
    }
  }

  private run(e: Effect): void {
    switch (e.type) {
      case 'status':
        this.writeBytes(packStatus(e.status));
        return;
      case 'spawn':
        this.spawn();
        return;
      case 'signal':
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
        }
        return;
      case 'disarm': {
        const t = this.timers.get(e.timer);
        if (t) clearTimeout(t);
        this.timers.delete(e.timer);
        return;
      }
      case 'exit':
        for (const t of this.timers.values()) clearTimeout(t);
        this.timers.clear();
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
  private spawn(): void {
    let child: ChildProcess;
    try {
      child = spawn('./run', [], { cwd: this.abs, stdio: this.stdio, detached: true });
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
    child.once('exit', () => {
      this.dispatch({ type: 'exited', pid, now: this.clock.nowMicros() });
    });
    this.dispatch({ type: 'spawned', pid, now: this.clock.nowMicros() }, true);
  }

  private warnStart(err: unknown): void {
    this.warn(`unable to start ${this.name}/run: ${describeError(err)}`);
  }

  private writeStatus(s: State): void {
    this.writeBytes(packStatus(statusOf(s)));
  }

  private writeBytes(b: Uint8Array): void {
    const w = this.svdir.writeStatus(b);
    if (w !== undefined) this.warn(w);
  }

  private warn(text: string): void {
    this.warnLine(`supervise: warning: ${text}`);
  }
}
