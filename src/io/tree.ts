// A whole service tree in one process (upkeep svscan): a Service per entry of DIR, identified by its NAME
// (core/scan.ts), a persistent log pipe per service that has `log/`, held here for as long as the name
// exists, and the service's logger: a supervised `log/run` (a Service with the pipe's read end as stdin) or
// a `log/script` logger inside the shared logger process (io/loghost-client.ts). Every state change goes to
// the restart journal (docs/journal.md).
import { closeSync, existsSync, mkdirSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { ServiceView } from '../core/control.js';
import { describeError } from '../core/errors.js';
import type { JournalEvent } from '../core/journal.js';
import { isServiceName, reconcile, type Known, type ScanAction } from '../core/scan.js';
import type { Clock } from './clock.js';
import { deploy, rollback } from './deploy.js';
import { mkfifosSync } from './fifo.js';
import type { Journal } from './journal.js';
import { readFdSettings, Rebind, type HeldFds, type ServiceFds } from './held-fds.js';
import { takeListening } from './take-sockets.js';
import { loggerChange, loggerDef, type LoggerDef } from './logger-def.js';
import { createLogPipe, createLogPipes, logPipeOf, type LogPipe } from './logpipe.js';
import { openProcFifo, procAlive, procStartMicros, procStartTime } from './proc.js';
import { scanTree } from './scandir.js';
import { Service, type ExitInfo, type Runner } from './service.js';
import { serviceEnv, serviceUser, stderrToLog } from './settings.js';
import { writeState, type ServiceState, type TreeState } from './state.js';

/** A stop of the tree (or of one service) sends KILL to the process group after this long, unless the
 *  service's `timeout-kill` says otherwise. */
export const DEFAULT_STOP_KILL_MS = 5000;
/** svstat --json's extra status, beside daemontools' 18-byte status. */
export const STATS_FILE = 'upkeep.json';
/** How often a stop that waits for loggers says so on stderr. */
export const DRAIN_WARN_MS = 5000;

/** Where a `log/script` logger lives: svscan's client of the shared logger process. */
export interface ScriptLoggers {
  /** A Runner for NAME/log (the shared logger process's side of one service). */
  runner(name: string, logDir: string, pipe: LogPipe): Runner;
  /** NAME's logger carries on unchanged after a deploy: its definition now lives in `logDir`. */
  move(name: string, logDir: string): void;
  /** The pipe is going away: the logger reads it to its end, then forgets it. Resolves when done. */
  forget(name: string): Promise<void>;
  /**
   * Writes an exit note into the pipe after a death (no-op where notes are off), then calls `written`
   * (the next start waits for it, so the note sits before the next incarnation's first byte).
   */
  note(name: string, info: ExitInfo, next: string, written: () => void): void;
  /** For the state file: loghost's pid and the fd of NAME's pipe inside it. */
  readonly pid: number;
  hostFd(name: string): number | undefined;
  /** The shared logger process also holds (never reads) a read end of each `log/run` pipe: see hold(). */
  hold(name: string, pipe: LogPipe): void;
  release(name: string): void;
  heldFd(name: string): number | undefined;
}

export interface TreeOptions {
  /** The tree as given on the command line (messages) and its real path. */
  dir: string;
  journal: Journal;
  clock: Clock;
  /** One line to svscan's stderr (without newline). */
  say: (line: string) => void;
  scripts?: ScriptLoggers;
  /** A service with a `controller` file started (io/control-plane.ts wires its stdin and stdout). */
  controller?: (name: string, child: ChildProcess) => void;
  /** Listening sockets and shared pipes declared by `listen` and `pipes` (io/held-fds.ts). */
  held?: HeldFds;
}

/** What `upkeep svstat --json` shows beyond daemontools' status: NAME/supervise/upkeep.json. */
export interface ServiceStats {
  restarts: number;
  lastExit: { pid: number; code: number | null; signal: string | null; uptime: number; at: number } | null;
  backoff: { delay: number; deaths: number; until: number } | null;
  /** UNIX seconds of the current run's readiness notification (notification-fd), null until then. */
  readyAt: number | null;
}

interface Entry {
  name: string;
  target: string;
  stats?: ServiceStats;
  statsQueued?: boolean;
  /** A deploy, rollback or hand repoint is restarting it in a new target (exit note: next=restart). */
  retargeting?: boolean;
  /** Deploys, rollbacks and repoints of this entry, one after the other. */
  retargetQueue?: Promise<void>;
  /** A deploy is replacing the logger: the scan must not start one meanwhile. */
  switching?: boolean;
  /** The last exit note is in the pipe (a deploy waits for it before it lets the old logger finish). */
  noteWritten?: Promise<void>;
  /** The definition the current logger was started with (io/logger-def.ts). */
  loggerDef?: LoggerDef;
  pipe?: LogPipe;
  svc?: Service;
  logger?: Service;
  loggerKind?: 'run' | 'script';
  /** Set while the entry is being removed; resolves when it is gone. */
  removal?: Promise<void>;
  /** Added at run time (upkeep ctl add): not in the tree, never touched by the scan. */
  runtime?: boolean;
  /** The start times (/proc ticks) of the service's and its log/run logger's current pids (saveState). */
  starts?: { run?: { pid: number; start: number }; logger?: { pid: number; start: number } };
}

export class Tree {
  private known = new Map<string, Known>();
  private readonly entries = new Map<string, Entry>();
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private stopping = false;
  /** Takeover: what the killed svscan left running, by name (consumed as the first scan adds them). */
  private readonly adoptable = new Map<string, ServiceState>();
  private readonly adoptedPipes = new Map<string, LogPipe>();
  private stateQueued = false;

  constructor(private readonly opts: TreeOptions) {}

  /**
   * Takeover after the previous svscan was killed: obtain every pipe it left (from the running service's
   * stdout, else its log/run logger's stdin, else the old loghost's fd), so no line in a pipe is lost,
   * and remember the live processes to adopt them at the first scan instead of starting second instances.
   */
  takeOver(prev: TreeState): void {
    const host = prev.loghost && procAlive(prev.loghost.pid, prev.loghost.start) ? prev.loghost.pid : 0;
    for (const [name, st] of Object.entries(prev.services)) {
      const runAlive = st.run !== undefined && procAlive(st.run.pid, st.run.start);
      const logAlive = st.logger !== undefined && st.logger.kind === 'run' && procAlive(st.logger.pid, st.logger.start);
      const sources: [number, number][] = [];
      if (runAlive) sources.push([st.run!.pid, 1]);
      if (logAlive) sources.push([st.logger!.pid, 0]);
      const hostFd = st.hostFd ?? st.heldFd;
      if (host && hostFd !== undefined) sources.push([host, hostFd]);
      for (const [pid, fd] of sources) {
        const r = openProcFifo(pid, fd, 'read');
        if (r === undefined) continue;
        const w = openProcFifo(pid, fd, 'write');
        if (w === undefined) {
          closeFd(r);
          continue;
        }
        this.adoptedPipes.set(name, logPipeOf(r, w));
        break;
      }
      this.adoptable.set(name, {
        target: st.target,
        run: runAlive ? st.run : undefined,
        logger: logAlive ? st.logger : undefined,
        want: st.want,
        logWant: st.logWant,
      });
    }
  }

  /**
   * Takeover, after takeOver(): the held fds of the adopted services (io/held-fds.ts), taken back from
   * them. Listening sockets: the very socket each had, so the next start gets it and no connection is ever
   * refused; where that fails, startService binds again once the adopted process has exited (Rebind).
   * Shared pipes: re-opened through /proc with the bytes in them, so writers and readers that are adopted
   * and those started later meet in the same pipe.
   */
  async recoverHeld(): Promise<void> {
    const held = this.opts.held;
    if (!held) return;
    for (const [name, st] of this.adoptable) {
      if (!st.run) continue;
      const pid = st.run.pid;
      let settings: ReturnType<typeof readFdSettings>;
      try {
        settings = readFdSettings(st.target);
      } catch {
        continue;
      }
      const specs = settings.listen;
      if (specs.length && !specs.every((s) => held.has(s))) {
        const got = await takeListening(pid, specs);
        specs.forEach((spec, i) => {
          const h = got[i];
          if (!h) return;
          held.adopt(spec, h);
          this.j({ event: 'warning', service: name, msg: `took ${spec} back from the adopted ${name} (pid ${pid}): held again` });
        });
      }
      settings.pipes.forEach((p, j) => {
        if (!held.adoptPipe(p.name, pid, 3 + specs.length + j)) return;
        this.j({ event: 'warning', service: name, msg: `took the shared pipe ${p.name} back from the adopted ${name} (pid ${pid})` });
      });
    }
  }

  /** An adopted process's start (status, svstat's seconds, its exit's uptime): when it really started. */
  private adoptedSince(start: number): number {
    const now = this.opts.clock.nowMicros();
    const t = procStartMicros(start, now);
    return t !== undefined && t <= now ? t : now;
  }

  /** After the first scan: processes of the old svscan whose names are gone from the tree are stopped. */
  private dropUnadopted(): void {
    for (const [name, st] of this.adoptable) {
      for (const p of [st.run, st.logger]) {
        if (p && procAlive(p.pid, p.start)) {
          this.warn(name, `${name} is no longer in ${this.opts.dir}: stopping pid ${p.pid} left by the previous svscan`);
          try {
            process.kill(-p.pid, 'SIGTERM');
            process.kill(-p.pid, 'SIGCONT');
          } catch {
            /* gone, or not a group leader */
          }
        }
      }
    }
    this.adoptable.clear();
    for (const p of this.adoptedPipes.values()) p.close();
    this.adoptedPipes.clear();
  }

  /** Rewrites DIR/.upkeep/state.json once the current burst of pid changes is over. */
  /**
   * A process's start time for state.json, read in /proc once per pid and kept on the entry: a restart
   * rewrites the state, and reading every service's /proc/PID/stat each time (2000 files at N=1000) would
   * hold the event loop for milliseconds in a crash loop.
   */
  private startOf(e: Entry, which: 'run' | 'logger', pid: number): number | undefined {
    if (!pid) return undefined;
    const memo = (e.starts ??= {});
    const m = memo[which];
    if (m && m.pid === pid) return m.start;
    const start = procStartTime(pid);
    if (start === undefined) delete memo[which];
    else memo[which] = { pid, start };
    return start;
  }

  private saveState(): void {
    if (this.stateQueued) return;
    this.stateQueued = true;
    setImmediate(() => {
      this.stateQueued = false;
      const services: Record<string, ServiceState> = {};
      for (const e of this.entries.values()) {
        const st: ServiceState = { target: e.target };
        const want = e.svc?.state?.want;
        if (want === 'down' || want === 'once') st.want = want;
        const logWant = e.logger?.state?.want;
        if (logWant === 'down' || logWant === 'once') st.logWant = logWant;
        const rp = e.svc?.pid ?? 0;
        const rs = this.startOf(e, 'run', rp);
        if (rp && rs !== undefined) st.run = { pid: rp, start: rs };
        if (e.loggerKind === 'run') {
          const lp = e.logger?.pid ?? 0;
          const ls = this.startOf(e, 'logger', lp);
          if (lp && ls !== undefined) st.logger = { pid: lp, start: ls, kind: 'run' };
          st.heldFd = this.opts.scripts?.heldFd(e.name);
        } else if (e.loggerKind === 'script') {
          st.hostFd = this.opts.scripts?.hostFd(e.name);
        }
        services[e.name] = st;
      }
      const hp = this.opts.scripts?.pid ?? 0;
      const hs = hp ? procStartTime(hp) : undefined;
      try {
        writeState(join(this.opts.dir, '.upkeep'), {
          v: 1,
          svscan: process.pid,
          ...(hp && hs !== undefined ? { loghost: { pid: hp, start: hs } } : {}),
          services,
        });
      } catch (err) {
        this.opts.say(`svscan: warning: unable to write ${this.opts.dir}/.upkeep/state.json: ${describeError(err)}`);
      }
    });
  }

  /** The shared logger process changed (svscan's client calls this). */
  loghostChanged(): void {
    this.saveState();
  }

  private j(ev: JournalEvent): void {
    this.opts.journal.write(ev);
  }

  warn(service: string, text: string): void {
    this.opts.say(`svscan: warning: ${text}`);
    this.j({ event: 'warning', service, msg: text });
  }

  /** Names currently supervised (for tests and the status channel). */
  get names(): string[] {
    return [...this.entries.keys()].sort();
  }

  service(name: string): Service | undefined {
    return this.entries.get(name)?.svc;
  }

  /** Scans now; overlapping requests are merged into one more scan after the current one. */
  scan(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescan = false;
        await this.scanOnce();
      } while (this.rescan && !this.stopping);
    })().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let found;
    try {
      found = scanTree(this.opts.dir);
    } catch (e) {
      this.warn('-', `unable to read ${this.opts.dir}: ${describeError(e)}`);
      return;
    }
    const { next, actions } = reconcile(this.known, found.entries);
    this.known = next;
    const adds = actions.filter((a): a is Extract<ScanAction, { kind: 'add' }> => a.kind === 'add');
    this.prepareFifos(adds.map((a) => a.target));
    const adopted = new Map<string, LogPipe>();
    for (const a of adds) {
      const p = this.adoptedPipes.get(a.name);
      if (p && !this.entries.get(a.name)?.pipe) {
        adopted.set(a.name, p);
        this.adoptedPipes.delete(a.name);
      }
    }
    const needPipe = adds.filter((a) => existsSync(join(a.target, 'log')) && !this.entries.get(a.name)?.pipe && !adopted.has(a.name));
    let pipes: LogPipe[] = [];
    try {
      pipes = createLogPipes(needPipe.length, join(this.opts.dir, '.upkeep'));
    } catch (e) {
      this.warn('-', `unable to create log pipes: ${describeError(e)}`);
    }
    const pipeOf = new Map(needPipe.map((a, i) => [a.name, pipes[i]]));
    for (const [n, p] of adopted) pipeOf.set(n, p);
    const work: Promise<void>[] = [];
    for (const a of actions) {
      if (this.entries.get(a.name)?.runtime) {
        if (a.kind === 'add') this.warn(a.name, `${a.name} in ${this.opts.dir} is ignored: a service of that name was added at run time`);
        continue;
      }
      switch (a.kind) {
        case 'add':
          work.push(this.add(a.name, a.target, pipeOf.get(a.name)));
          break;
        case 'retarget':
          work.push(this.retarget(a.name, a.from, a.to, 'deploy'));
          break;
        case 'missing':
          this.warn(a.name, `${a.name} is missing from ${this.opts.dir} (scan ${a.scans}); stopping it at the next scan if still missing`);
          break;
        case 'remove':
          work.push(this.remove(a.name));
          break;
      }
    }
    await Promise.all(work);
    // A logger dropped by `x` is taken up again by the next scan, as a service is.
    for (const e of this.entries.values()) {
      if (e.pipe && !e.logger && !e.removal && !e.switching && !this.stopping && this.known.has(e.name)) await this.startLogger(e);
    }
    if (this.adoptable.size || this.adoptedPipes.size) this.dropUnadopted();
    this.saveState();
  }

  /** mkdir supervise/ and create every control and ok FIFO of the new services with one mkfifo process. */
  private prepareFifos(targets: string[]): void {
    const paths: string[] = [];
    for (const t of targets) {
      for (const d of existsSync(join(t, 'log')) ? [t, join(t, 'log')] : [t]) {
        try {
          mkdirSync(join(d, 'supervise'), 0o700);
        } catch {
          /* exists, or the Service reports it */
        }
        paths.push(join(d, 'supervise', 'control'), join(d, 'supervise', 'ok'));
      }
    }
    mkfifosSync(paths);
  }

  private async add(name: string, target: string, pipe: LogPipe | undefined): Promise<void> {
    let e = this.entries.get(name);
    if (e?.removal) {
      await e.removal;
      e = undefined;
    }
    if (!e) {
      e = { name, target };
      this.entries.set(name, e);
    }
    e.target = target;
    if (pipe) e.pipe = pipe;
    this.j({ event: 'add', service: name, target });
    await this.startLogger(e);
    await this.startService(e);
  }

  private async startService(e: Entry): Promise<void> {
    if (e.svc) return;
    const name = e.name;
    const dir = e.target;
    const controller = this.opts.controller !== undefined && existsSync(join(dir, 'controller'));
    const stdio: StdioOptions = controller
      ? ['pipe', 'pipe', e.pipe ? e.pipe.writeFd : 'inherit']
      : e.pipe
        ? ['ignore', e.pipe.writeFd, stderrToLog(dir) ? e.pipe.writeFd : 'inherit']
        : ['ignore', 'inherit', 'inherit'];
    let held: ServiceFds = { fds: [], listen: 0 };
    const rec = this.adoptable.get(name)?.run;
    // dead since the takeover read the state: started normally (or not at all if it was wanted down)
    const adopt = rec && procAlive(rec.pid, rec.start) ? rec : undefined;
    let busy: unknown;
    try {
      if (this.opts.held) held = this.opts.held.forService(name, dir);
    } catch (err) {
      // Takeover: the adopted process still holds the listening socket (svscan's own copy died with the
      // previous svscan). It goes on serving; svscan binds again once it can (below).
      if (adopt && isAddrInUse(err) && procAlive(adopt.pid, adopt.start)) busy = err;
      else {
        this.warn(name, `unable to supervise ${name}: ${describeError(err)}`);
        this.known.delete(name); // the next scan tries again
        return;
      }
    }
    const base = [...(stdio as unknown[])];
    if (held.fds.length) (stdio as unknown[]).push(...held.fds);
    if (adopt) this.adoptable.get(name)!.run = undefined;
    const want = this.adoptable.get(name)?.want;
    if (want) this.adoptable.get(name)!.want = undefined;
    let rebind: Rebind | undefined;
    let unhold: (() => void) | undefined;
    const svc = new Service({
      dir,
      name,
      stdio,
      prog: 'svscan',
      finish: true,
      adopt: adopt && { ...adopt, since: this.adoptedSince(adopt.start) },
      want,
      warn: (line) => {
        this.opts.say(line);
        this.j({ event: 'warning', service: name, msg: line.replace(/^svscan: warning: /, '') });
      },
      prepare: () => {
        const p = this.spawnSettings(name, dir);
        return held.listen ? { ...p, env: { ...p.env, LISTEN_FDS: String(held.listen) } } : p;
      },
      hooks: {
        start: (pid) => {
          this.j({ event: 'start', service: name, pid, target: dir });
          this.stat(e, dir, (st) => {
            if (st.lastExit) st.restarts++;
            st.backoff = null;
            st.readyAt = null;
          });
          this.saveState();
        },
        adopted: (pid) => {
          this.warn(name, `adopted ${name} (pid ${pid}) left running by the previous svscan`);
          this.saveState();
        },
        exit: (info) => {
          this.j({ event: 'exit', service: name, ...info });
          if (rebind && !rebind.settled) {
            unhold ??= svc.hold(); // the next start waits for the socket
            rebind.now(); // the adopted process is gone: its socket with it, normally
          }
          this.stat(e, dir, (st) => {
            const { pid, code, signal, uptime } = info;
            st.lastExit = { pid, code, signal, uptime, at: this.opts.clock.nowMicros() / 1e6 };
          });
          this.exitNote(e, svc, info);
          this.saveState();
        },
        spawnFailed: (error) => this.j({ event: 'spawn-failed', service: name, error }),
        ready: (pid, after) => {
          this.j({ event: 'ready', service: name, pid, after });
          this.stat(e, dir, (st) => {
            st.readyAt = this.opts.clock.nowMicros() / 1e6;
          });
        },
        backoff: (ms, deaths) => {
          this.j({ event: 'backoff', service: name, delay: ms / 1000, deaths });
          this.stat(e, dir, (st) => {
            st.backoff = { delay: ms / 1000, deaths, until: (this.opts.clock.nowMicros() + ms * 1000) / 1e6 };
          });
        },
        control: (letter) => this.j({ event: 'control', service: name, command: letter, via: 'control-fifo' }),
        want: () => this.saveState(),
        ...(controller ? { child: (c: ChildProcess) => this.opts.controller?.(name, c) } : {}),
      },
    });
    e.svc = svc;
    if (busy !== undefined) {
      const held2 = this.opts.held!;
      this.warn(name, `${describeError(busy)}: the adopted ${name} (pid ${adopt!.pid}) still holds it and serves it; svscan listens again once that process has exited, then starts ${name} with the held socket`);
      rebind = new Rebind(() => {
        try {
          held = held2.forService(name, dir);
        } catch {
          return false;
        }
        svc.setStdio([...base, ...held.fds] as StdioOptions);
        this.j({ event: 'warning', service: name, msg: `listening again on the sockets of ${name}: its next start gets them` });
        unhold?.();
        unhold = undefined;
        return true;
      });
      void svc.done.then(() => {
        rebind?.cancel();
        unhold?.();
      });
    }
    try {
      await svc.start();
    } catch (err) {
      rebind?.cancel();
      e.svc = undefined;
      this.known.delete(name); // the next scan tries again
      this.warn(name, `unable to supervise ${name}: ${describeError(err)}`);
      return;
    }
    void svc.done.then(() => {
      if (e.svc !== svc) return;
      e.svc = undefined;
      if (e.removal || this.stopping) return;
      // `x`: dropped once down; the next scan takes it up again if its directory is still there.
      this.known.delete(name);
      this.j({ event: 'remove', service: name, target: dir, msg: `${name} left supervision (svc -x)` });
    });
  }

  /** Updates and rewrites NAME/supervise/upkeep.json (tmp + rename, like status). */
  private stat(e: Entry, dir: string, change: (st: ServiceStats) => void): void {
    e.stats ??= { restarts: 0, lastExit: null, backoff: null, readyAt: null };
    change(e.stats);
    // Written after the current burst (an exit and the restart it causes): never between death and restart.
    if (e.statsQueued) return;
    e.statsQueued = true;
    setImmediate(() => {
      e.statsQueued = false;
      const path = join(dir, 'supervise', STATS_FILE);
      try {
        writeFileSync(`${path}.new`, `${JSON.stringify(e.stats)}\n`, { mode: 0o644 });
        renameSync(`${path}.new`, path);
      } catch {
        /* supervise/ gone (service removed): nothing to show */
      }
    });
  }

  /** `upkeep deploy` through the control socket: repoint, then restart the service in the new target now. */
  async deployRequest(name: string, target: string, sender?: string): Promise<{ from: string | null; to: string }> {
    if (!isServiceName(name)) throw new Error(`unable to deploy ${name}: not a service name`);
    this.j({ event: 'control', service: name, command: 'deploy', via: 'socket', ...(sender ? { sender } : {}) });
    const r = deploy(this.opts.dir, name, target);
    await this.applyRepoint(name, 'deploy');
    return { from: r.from ?? null, to: r.to };
  }

  /** `upkeep rollback` through the control socket. */
  async rollbackRequest(name: string, sender?: string): Promise<{ from: string | null; to: string }> {
    if (!isServiceName(name)) throw new Error(`unable to roll back ${name}: not a service name`);
    this.j({ event: 'control', service: name, command: 'rollback', via: 'socket', ...(sender ? { sender } : {}) });
    const r = rollback(this.opts.dir, name);
    await this.applyRepoint(name, 'rollback');
    return { from: r.from ?? null, to: r.to };
  }

  private async applyRepoint(name: string, why: 'deploy' | 'rollback'): Promise<void> {
    if (this.scanning) await this.scanning.catch(() => {});
    const to = this.realTarget(name);
    const e = this.entries.get(name);
    if (!e || !e.svc) {
      await this.scan(); // a new service (or one dropped by x): the scan takes it up now
      return;
    }
    // The target it is going to (a deploy still under way has set it), not the one it still runs in.
    const current = this.known.get(name)?.target ?? e.target;
    if (to === undefined || current === to) return;
    await this.retarget(name, current, to, why);
  }

  /** The exit note for log/script loggers: where the service's life ended, written after its last byte. */
  private exitNote(e: Entry, svc: Service, info: ExitInfo): void {
    if (e.loggerKind !== 'script' || !this.opts.scripts) return;
    // The state machine decides next after this hook: derive it the same way (want, backoff on a short run).
    const st = svc.state;
    let next = 'restart';
    if (e.retargeting) next = 'restart';
    else if (st?.exiting || info.wanted === 'down') next = 'down';
    else if (info.wanted === 'once') next = 'once';
    else if (st && info.uptime * 1000 < st.policy.minUptimeMs) {
      const failures = st.failures + 1;
      const ms = Math.min(st.policy.backoffBaseMs * 2 ** Math.min(failures - 1, 30), st.policy.backoffMaxMs);
      next = `backoff:${ms / 1000}`;
    }
    const release = svc.hold();
    const scripts = this.opts.scripts;
    e.noteWritten = new Promise((written) =>
      scripts.note(e.name, info, next, () => {
        release();
        written();
      }),
    );
  }

  private spawnSettings(name: string, dir: string): { env: Record<string, string>; uid?: number; gid?: number } {
    const env = serviceEnv(dir, (t) => this.warn(name, t));
    try {
      const u = serviceUser(dir);
      return u ? { env, uid: u.uid, gid: u.gid } : { env };
    } catch (err) {
      this.warn(name, `unable to use ${dir}/user: ${describeError(err)}`);
      return { env };
    }
  }

  private async startLogger(e: Entry): Promise<void> {
    if (e.logger || !e.pipe) return;
    const def = loggerDef(e.target, this.opts.scripts !== undefined);
    // Its real path: a log/ that versions share through a symlink stays the same directory after a deploy,
    // whichever version's link it was reached by (io/logger-def.ts).
    const logDir = def.kind === 'none' ? join(e.target, 'log') : def.logDir;
    const name = `${e.name}/log`;
    const kind: 'run' | 'script' = def.kind === 'script' ? 'script' : 'run';
    if (existsSync(join(logDir, 'run')) && existsSync(join(logDir, 'script'))) this.warn(name, `${name} has both run and script: log/run wins`);
    const pipe = e.pipe;
    // svscan holds a read end, but dies with it: loghost, which survives svscan, holds one too, so that a
    // log/run logger dying while no svscan runs never leaves the service a pipe without a reader (SIGPIPE).
    if (kind === 'run') this.opts.scripts?.hold(e.name, pipe);
    const adoptRec = this.adoptable.get(e.name)?.logger;
    if (adoptRec) this.adoptable.get(e.name)!.logger = undefined;
    const logWant = this.adoptable.get(e.name)?.logWant;
    if (logWant) this.adoptable.get(e.name)!.logWant = undefined;
    const adopt = kind === 'run' && adoptRec ? { pid: adoptRec.pid, start: adoptRec.start, since: this.adoptedSince(adoptRec.start) } : undefined;
    if (!adopt && adoptRec && procAlive(adoptRec.pid, adoptRec.start)) {
      try {
        process.kill(-adoptRec.pid, 'SIGTERM'); // a log/run turned into log/script meanwhile: never two loggers
      } catch {
        /* gone */
      }
    }
    const logger = new Service({
      dir: logDir,
      name,
      adopt,
      want: logWant,
      stdio: [pipe.readFd, 'inherit', 'inherit'],
      prog: 'svscan',
      finish: kind === 'run',
      runner: kind === 'script' ? this.opts.scripts!.runner(e.name, logDir, pipe) : undefined,
      warn: (line) => {
        this.opts.say(line);
        this.j({ event: 'warning', service: name, msg: line.replace(/^svscan: warning: /, '') });
      },
      prepare: () => this.spawnSettings(name, logDir),
      hooks: {
        start: (pid) => {
          this.j({ event: 'logger-start', service: name, pid, kind });
          this.saveState();
        },
        adopted: (pid) => {
          this.warn(name, `adopted ${name} (pid ${pid}) left running by the previous svscan`);
          this.saveState();
        },
        exit: (info) => {
          this.j({ event: 'logger-exit', service: name, pid: info.pid, code: info.code, signal: info.signal, kind });
          this.saveState();
        },
        spawnFailed: (error) => this.j({ event: 'spawn-failed', service: name, error }),
        backoff: (ms, deaths) => this.j({ event: 'backoff', service: name, delay: ms / 1000, deaths }),
        control: (letter) => this.j({ event: 'control', service: name, command: letter, via: 'control-fifo' }),
        want: () => this.saveState(),
      },
    });
    e.logger = logger;
    e.loggerKind = kind;
    e.loggerDef = def;
    try {
      await logger.start();
    } catch (err) {
      e.logger = undefined;
      this.warn(name, `unable to supervise ${name}: ${describeError(err)}`);
      return;
    }
    void logger.done.then(() => {
      if (e.logger === logger) e.logger = undefined;
    });
  }

  /**
   * The entry NAME now leads to `to` (deploy, rollback, a symlink repointed by hand): the service is
   * stopped and started in the new target. Its logger follows (docs/design-supervisor.md, "Deploy and the
   * logger"): the same logger carries on and only its supervise/ moves to the new target's log/; another
   * one first reads the old pipe to its end (every line of the old version in the old logger's log), then
   * the new one starts on a new pipe, which the new version has been writing into meanwhile.
   */
  retarget(name: string, _from: string, to: string, why: 'deploy' | 'rollback'): Promise<void> {
    const e = this.entries.get(name);
    if (!e) return Promise.resolve();
    const k = this.known.get(name);
    if (k) this.known.set(name, { ...k, target: to });
    const next = (e.retargetQueue ?? Promise.resolve()).then(() => this.retargetNow(e, to, why));
    e.retargetQueue = next.catch(() => {});
    return next;
  }

  private async retargetNow(e: Entry, to: string, why: 'deploy' | 'rollback'): Promise<void> {
    const name = e.name;
    const from = e.target;
    if (from === to || e.removal || this.stopping || this.entries.get(name) !== e) return;
    this.j({ event: why, service: name, from, to });
    const oldDef: LoggerDef = e.pipe ? (e.loggerDef ?? loggerDef(from, this.opts.scripts !== undefined)) : { kind: 'none' };
    const newDef = loggerDef(to, this.opts.scripts !== undefined);
    const change = loggerChange(oldDef, newDef);
    const old = e.svc;
    e.svc = undefined;
    if (old) {
      e.retargeting = true;
      old.stop(old.policy && old.policy.killTimeoutMs > 0 ? undefined : DEFAULT_STOP_KILL_MS);
      try {
        await old.done;
        await e.noteWritten; // the old version's exit note, into the old pipe
      } finally {
        e.retargeting = false;
      }
    }
    e.target = to;
    const logName = `${name}/log`;
    const fromLog = oldDef.kind === 'none' ? join(from, 'log') : oldDef.logDir;
    const toLog = newDef.kind === 'none' ? join(to, 'log') : newDef.logDir;
    if (change === null) {
      if (e.logger) await this.moveLogger(e, oldDef, newDef);
      else if (e.pipe) await this.startLogger(e); // dropped by x: taken up in the new target
      await this.startService(e);
      return;
    }
    e.switching = true;
    try {
      this.j({ event: 'logger-move', service: logName, from: fromLog, to: toLog, restart: true, reason: change });
      const oldPipe = e.pipe;
      const oldLogger = e.logger;
      const oldKind = e.loggerKind;
      e.pipe = e.logger = e.loggerKind = e.loggerDef = undefined;
      if (newDef.kind !== 'none') {
        try {
          e.pipe = createLogPipe(join(this.opts.dir, '.upkeep'));
        } catch (err) {
          this.warn(name, `unable to create the log pipe of ${name}: ${describeError(err)}`);
        }
      }
      // The new version starts at once; its lines wait in its own pipe while the old logger finishes.
      await this.startService(e);
      if (oldPipe) await this.drainLogger(name, oldPipe, oldLogger, oldKind, `the deploy of ${name} waits`);
    } finally {
      e.switching = false;
    }
    if (e.pipe) await this.startLogger(e); // a stop of the tree waits for this deploy, then drains it
  }

  /** The same logger in the new target: it carries on; its supervise/ moves to the new log/ at once. */
  private async moveLogger(e: Entry, oldDef: LoggerDef, newDef: LoggerDef): Promise<void> {
    const lg = e.logger!;
    const logName = `${e.name}/log`;
    const toLog = newDef.kind === 'none' ? join(e.target, 'log') : newDef.logDir;
    const fromLog = lg.dir;
    // Another path to the same log/ (both versions link to one): its supervise/ is already the new one's.
    const sameDir = oldDef.kind !== 'none' && newDef.kind !== 'none' && oldDef.logDir === newDef.logDir;
    if (!sameDir) {
      try {
        await lg.relocate(toLog);
      } catch (err) {
        this.warn(logName, `unable to move the supervise/ of ${logName} to ${toLog}: ${describeError(err)}`);
        return;
      }
    }
    if (e.loggerKind === 'script') this.opts.scripts?.move(e.name, toLog);
    e.loggerDef = newDef;
    this.j({ event: 'logger-move', service: logName, from: fromLog, to: toLog, restart: false, reason: 'same logger' });
  }

  private remove(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e) return Promise.resolve();
    if (e.removal) return e.removal;
    e.removal = (async () => {
      await this.stopService(e);
      await this.stopLogger(e);
      this.entries.delete(name);
      this.opts.held?.release(name);
      this.j({ event: 'remove', service: name, target: e.target });
    })();
    return e.removal;
  }

  private async stopService(e: Entry): Promise<void> {
    const svc = e.svc;
    if (!svc) return;
    svc.stop(svc.policy && svc.policy.killTimeoutMs > 0 ? undefined : DEFAULT_STOP_KILL_MS);
    await svc.done;
  }

  /** After the service is gone: let the logger read the pipe to its end, then close it. */
  private async stopLogger(e: Entry): Promise<void> {
    const pipe = e.pipe;
    if (!pipe) return;
    await this.drainLogger(e.name, pipe, e.logger, e.loggerKind);
    if (e.pipe === pipe) e.pipe = undefined;
  }

  /**
   * Closes svscan's write end of `pipe` (every incarnation of the service is gone): the logger reads the
   * pipe to its end (EOF: nothing of it is left behind), finishes and leaves supervision; then the pipe is
   * closed. `waiting`: a deploy says every DRAIN_WARN_MS that it waits (a leftover child of the old
   * version that holds the pipe open keeps it waiting).
   */
  private async drainLogger(name: string, pipe: LogPipe, lg: Service | undefined, kind: Entry['loggerKind'], waiting?: string): Promise<void> {
    if (kind === 'script' && this.opts.scripts) {
      if (waiting) lg?.control('co'); // as below: a paused or down logger reads the old lines too
      const forgotten = this.opts.scripts.forget(name);
      pipe.closeWrite();
      await forgotten;
      lg?.control('dx');
    } else {
      pipe.closeWrite();
      // multilog exits at the end of its input; supervision ends with it. At a deploy, a logger that is
      // paused (p) is continued and one that is down (d) is started once, to read the old lines to their
      // end before the new logger takes over (else they would be dropped with the old pipe).
      lg?.control(waiting ? 'cox' : 'x');
    }
    if (lg) {
      const timer = waiting ? setInterval(() => this.opts.say(`svscan: warning: ${waiting} for ${name}/log to drain the old pipe`), DRAIN_WARN_MS) : undefined;
      try {
        await lg.done;
      } finally {
        if (timer) clearInterval(timer);
      }
    }
    this.opts.scripts?.release(name);
    pipe.close();
  }

  /** SIGTERM: every service down (TERM, then KILL after its timeout), then every logger drains its pipe. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.scanning) await this.scanning.catch(() => {});
    await Promise.all([...this.entries.values()].map((e) => e.retargetQueue));
    const all = [...this.entries.values()];
    await Promise.all(all.map((e) => e.removal ?? this.stopService(e)));
    const waiting = new Set(all.filter((e) => !e.removal));
    let ticks = 0;
    const timer = setInterval(() => {
      if (ticks++ % (DRAIN_WARN_MS / 1000) !== 0) return; // after 1 s, then every 5 s
      const names = [...waiting].filter((e) => e.logger).map((e) => `${e.name}/log`);
      if (names.length) this.opts.say(`svscan: warning: waiting for ${names.join(', ')} to drain its pipe (send SIGTERM again to stop at once)`);
    }, 1000);
    try {
      await Promise.all(
        all.map(async (e) => {
          await (e.removal ?? this.stopLogger(e));
          waiting.delete(e);
        }),
      );
    } finally {
      clearInterval(timer);
    }
  }

  /** A second SIGTERM: loggers are killed (TERM, then KILL to their process group). */
  kill(): void {
    for (const e of this.entries.values()) {
      e.svc?.stop();
      e.svc?.stop();
      e.logger?.stop();
      e.logger?.stop();
    }
  }

  /** Every service as the control plane shows it (snapshot, status). */
  snapshot(): ServiceView[] {
    const out: ServiceView[] = [];
    for (const e of [...this.entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const st = e.svc?.state;
      out.push({
        name: e.name,
        state: st ? st.phase : 'down',
        want: st ? st.want : 'down',
        pid: st ? st.pid : 0,
        since: st ? st.stamp / 1e6 : 0,
        ready: st && st.pid && e.stats?.readyAt ? e.stats.readyAt : null,
        source: e.runtime ? 'runtime' : 'dir',
        target: e.target,
      });
    }
    return out;
  }

  isRuntime(name: string): boolean {
    return this.entries.get(name)?.runtime === true;
  }

  /** A service added at run time, from its generated directory (io/control-plane.ts). */
  async addRuntime(name: string, dir: string): Promise<void> {
    const e: Entry = { name, target: dir, runtime: true };
    this.entries.set(name, e);
    this.prepareFifos([dir]);
    this.j({ event: 'add', service: name, target: dir });
    await this.startService(e);
    this.saveState();
  }

  removeRuntime(name: string): Promise<void> {
    return this.remove(name);
  }

  /** The real path an entry leads to now (for deploy requests). */
  realTarget(name: string): string | undefined {
    try {
      return realpathSync(join(this.opts.dir, name));
    } catch {
      return undefined;
    }
  }
}

function isAddrInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}
