// The per-service supervisor as a pure transition function: step(state, event) -> { state, effects }.
// Behaviour is daemontools 0.76 supervise.c (control letters, status announcements, the exit flag) with
// one deliberate change, the restart policy: instead of sleeping 1 s after every start (which makes the
// controls deaf), a service that ran long enough restarts at once and a crash loop backs off
// exponentially, while controls stay responsive. Effects are data; src/io/service.ts executes them.
import { fromUnix } from './tai64n.js';
import { WANT_DOWN, WANT_NONE, WANT_UP, type Status } from './status.js';

/** Restart and stop timing. The defaults live here and only here (documented in upkeep-supervise(8)). */
export interface Policy {
  /** A run that lasted at least this long is restarted at once and resets the crash counter. */
  readonly minUptimeMs: number;
  /** First delay of a crash loop; doubles with every further short run ... */
  readonly backoffBaseMs: number;
  /** ... up to this cap. The supervisor never gives up. */
  readonly backoffMaxMs: number;
  /** After `d` (TERM+CONT), SIGKILL the service's process group after this long; 0 = never (daemontools). */
  readonly killTimeoutMs: number;
  /** The signal `d` sends before CONT (s6's `down-signal`; default SIGTERM). */
  readonly downSignal?: Signal;
  /** `d` signals the service's whole process group (no orphans left holding its pipe), not just its pid. */
  readonly downGroup?: boolean;
}

export const DEFAULT_POLICY: Policy = {
  minUptimeMs: 1000,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  killTimeoutMs: 0,
};

/** What the service should do: daemontools' flagwant/flagwantup. 'once' = run, but do not restart. */
export type Want = 'up' | 'down' | 'once';

/**
 * - down:     no process, none scheduled
 * - starting: a spawn effect was emitted; the executor answers with 'spawned' or 'spawn-failed' at once,
 *             or, while a finish script of the previous run still runs, once it has ended ('spawn-cancelled'
 *             if by then the service is wanted down or exiting)
 * - up:       a process runs (pid != 0)
 * - backoff:  no process, a restart is scheduled (timer 'restart')
 * - exited:   supervision is over (the exit effect was emitted); every further event is ignored
 */
export type Phase = 'down' | 'starting' | 'up' | 'backoff' | 'exited';

export interface State {
  readonly phase: Phase;
  readonly pid: number;
  readonly want: Want;
  readonly paused: boolean;
  /** `x` (or a stop request) received: exit as soon as no process runs, never restart. */
  readonly exiting: boolean;
  /** UNIX microseconds of the last pid change: the status file's timestamp. */
  readonly stamp: number;
  /** UNIX microseconds of the last start. */
  readonly startedAt: number;
  /** Consecutive runs shorter than minUptimeMs (spawn failures count too). */
  readonly failures: number;
  /**
   * An operator asked for this run's death (`t` or `k` while it runs: a restart). It is restarted at once and
   * the death is no failure: the crash counter stays as it was.
   */
  readonly restartAsked: boolean;
  readonly policy: Policy;
}

export type TimerName = 'restart' | 'kill';

export type Event =
  | { readonly type: 'boot'; readonly now: number }
  | { readonly type: 'control'; readonly byte: number; readonly now: number }
  | { readonly type: 'spawned'; readonly pid: number; readonly now: number }
  | { readonly type: 'spawn-failed'; readonly now: number }
  /** The executor dropped a pending spawn (e.g. `d` or `x` arrived while a finish script still ran). */
  | { readonly type: 'spawn-cancelled'; readonly now: number }
  | { readonly type: 'exited'; readonly pid: number; readonly now: number }
  | { readonly type: 'timer'; readonly timer: TimerName; readonly now: number }
  | { readonly type: 'terminate'; readonly now: number };

export type Signal =
  | 'SIGTERM' | 'SIGCONT' | 'SIGSTOP' | 'SIGHUP' | 'SIGALRM' | 'SIGINT' | 'SIGKILL'
  | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2' | 'SIGWINCH' | 'SIGPWR';

export type Effect =
  | { readonly type: 'status'; readonly status: Status }
  | { readonly type: 'spawn' }
  /** `group`: signal the whole process group (-pid) rather than the pid. */
  | { readonly type: 'signal'; readonly pid: number; readonly signal: Signal; readonly group: boolean }
  /** Start a timer; a timer of that name that is already armed keeps its earlier deadline. */
  | { readonly type: 'arm'; readonly timer: TimerName; readonly ms: number }
  | { readonly type: 'disarm'; readonly timer: TimerName }
  | { readonly type: 'exit' };

export interface Step {
  readonly state: State;
  readonly effects: Effect[];
}

/** The state before boot: supervise has started (a pid change at `now`), want from the `down` file. */
export function initialState(now: number, downFile: boolean, policy: Policy = DEFAULT_POLICY): State {
  return {
    phase: 'down',
    pid: 0,
    want: downFile ? 'down' : 'up',
    paused: false,
    exiting: false,
    stamp: now,
    startedAt: now,
    failures: 0,
    restartAsked: false,
    policy,
  };
}

/** The status record of a state (what supervise/status must contain). */
export function statusOf(s: State): Status {
  const sec = Math.floor(s.stamp / 1e6);
  const usec = s.stamp - sec * 1e6;
  return {
    stamp: fromUnix(BigInt(sec), usec * 1000 + 500, 'daemontools'),
    pid: s.pid,
    paused: s.paused && s.pid !== 0 ? 1 : 0, // daemontools: status[16] = pid ? flagpaused : 0
    want: s.want === 'up' ? WANT_UP : s.want === 'down' ? WANT_DOWN : WANT_NONE,
  };
}

/** Delay before restart number `failures` (>= 1) of a crash loop: base * 2^(failures-1), capped. */
export function backoffMs(failures: number, policy: Policy = DEFAULT_POLICY): number {
  const exp = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(policy.backoffBaseMs * 2 ** exp, policy.backoffMaxMs);
}

const CHAR_SIGNAL: Record<string, Signal> = { h: 'SIGHUP', a: 'SIGALRM', i: 'SIGINT', t: 'SIGTERM', k: 'SIGKILL' };

export function step(s: State, ev: Event): Step {
  if (s.phase === 'exited') return { state: s, effects: [] };
  switch (ev.type) {
    case 'boot':
      return s.want === 'down' ? { state: s, effects: [] } : start(s, ev.now, []);
    case 'control':
      return control(s, ev.byte, ev.now);
    case 'spawned': {
      const next: State = { ...s, phase: 'up', pid: ev.pid, stamp: ev.now, paused: false };
      return { state: next, effects: [announce(next)] };
    }
    case 'spawn-failed':
      // Like daemontools' child that could not exec ./run: a zero-length run (no pid change recorded).
      return afterRun({ ...s, phase: 'down', pid: 0 }, ev.now, []);
    case 'spawn-cancelled':
      if (s.phase !== 'starting') return { state: s, effects: [] };
      return s.exiting ? finish({ ...s, phase: 'down' }, []) : { state: { ...s, phase: 'down' }, effects: [] };
    case 'exited': {
      if (s.pid === 0 || ev.pid !== s.pid) return { state: s, effects: [] };
      const next: State = { ...s, phase: 'down', pid: 0, stamp: ev.now };
      const effects: Effect[] = [announce(next)];
      if (s.policy.killTimeoutMs > 0) effects.push({ type: 'disarm', timer: 'kill' });
      return afterRun(next, ev.now, effects);
    }
    case 'timer':
      if (ev.timer === 'restart') {
        if (s.phase !== 'backoff' || s.want !== 'up' || s.exiting) return { state: s, effects: [] };
        return start({ ...s, phase: 'down' }, ev.now, []); // the timer has fired: nothing to disarm
      }
      // 'kill': the service ignored TERM for killTimeoutMs after a stop request.
      if (s.pid === 0) return { state: s, effects: [] };
      return { state: s, effects: [{ type: 'signal', pid: s.pid, signal: 'SIGKILL', group: true }] };
    case 'terminate': {
      // The supervisor itself is told to stop (SIGTERM/SIGINT): `svc -dx`. A second request escalates.
      if (s.exiting && s.want === 'down' && s.pid !== 0) {
        return { state: s, effects: [{ type: 'signal', pid: s.pid, signal: 'SIGKILL', group: true }] };
      }
      const down = control(s, 0x64 /* d */, ev.now);
      const x = control(down.state, 0x78 /* x */, ev.now);
      return { state: x.state, effects: [...down.effects, ...x.effects] };
    }
    default:
      return assertNever(ev);
  }
}

function control(s: State, byte: number, now: number): Step {
  const running = s.pid !== 0;
  const c = String.fromCharCode(byte);
  switch (c) {
    case 'u': {
      const next: State = { ...s, want: 'up' };
      const effects: Effect[] = [announce(next)];
      return canStart(next) ? start(next, now, effects) : { state: next, effects };
    }
    case 'o': {
      const next: State = { ...s, want: 'once' };
      const effects: Effect[] = [announce(next)];
      return canStart(next) ? start(next, now, effects) : { state: next, effects };
    }
    case 'd': {
      const effects: Effect[] = [];
      let next: State = { ...s, want: 'down' };
      if (running) {
        const group = s.policy.downGroup === true;
        effects.push(
          { type: 'signal', pid: s.pid, signal: s.policy.downSignal ?? 'SIGTERM', group },
          { type: 'signal', pid: s.pid, signal: 'SIGCONT', group },
        );
        next = { ...next, paused: false };
        if (s.policy.killTimeoutMs > 0) effects.push({ type: 'arm', timer: 'kill', ms: s.policy.killTimeoutMs });
      } else if (s.phase === 'backoff') {
        effects.push({ type: 'disarm', timer: 'restart' });
        next = { ...next, phase: 'down' };
      }
      effects.push(announce(next));
      return { state: next, effects };
    }
    case 'p': {
      const next: State = { ...s, paused: true };
      const effects: Effect[] = [announce(next)];
      if (running) effects.push(sig(s.pid, 'SIGSTOP'));
      return { state: next, effects };
    }
    case 'c': {
      const next: State = { ...s, paused: false };
      const effects: Effect[] = [announce(next)];
      if (running) effects.push(sig(s.pid, 'SIGCONT'));
      return { state: next, effects };
    }
    case 'h':
    case 'a':
    case 'i':
    case 't':
    case 'k':
      return running ? { state: { ...s, restartAsked: true }, effects: [sig(s.pid, CHAR_SIGNAL[c]!)] } : { state: s, effects: [] };
    case 'x': {
      const next: State = { ...s, exiting: true };
      const effects: Effect[] = [announce(next)];
      if (running || next.phase === 'starting') return { state: next, effects };
      return finish(next, effects);
    }
    default:
      return { state: s, effects: [] }; // unknown bytes are ignored
  }
}

function canStart(s: State): boolean {
  return !s.exiting && (s.phase === 'down' || s.phase === 'backoff');
}

function start(s: State, now: number, effects: Effect[]): Step {
  if (s.phase === 'backoff') effects.push({ type: 'disarm', timer: 'restart' });
  effects.push({ type: 'spawn' });
  return { state: { ...s, phase: 'starting', startedAt: now, paused: false, restartAsked: false }, effects };
}

/** After a run ended (or could not start): exit, restart at once, back off, or stay down. */
function afterRun(s: State, now: number, effects: Effect[]): Step {
  if (s.exiting) return finish(s, effects);
  const short = now - s.startedAt < s.policy.minUptimeMs * 1000; // state times are microseconds
  // A restart an operator asked for (t, k) happens at once and is no failure, however short the run was.
  const failures = s.restartAsked ? s.failures : short ? s.failures + 1 : 0;
  if (s.restartAsked && s.want === 'up') return start({ ...s, failures }, now, effects);
  const next: State = { ...s, failures };
  if (s.want !== 'up') return { state: next, effects };
  if (failures === 0) return start(next, now, effects);
  effects.push({ type: 'arm', timer: 'restart', ms: backoffMs(failures, s.policy) });
  return { state: { ...next, phase: 'backoff' }, effects };
}

function finish(s: State, effects: Effect[]): Step {
  if (s.phase === 'backoff') effects.push({ type: 'disarm', timer: 'restart' });
  const next: State = { ...s, phase: 'exited' };
  effects.push(announce(next), { type: 'exit' });
  return { state: next, effects };
}

function announce(s: State): Effect {
  return { type: 'status', status: statusOf(s) };
}

function sig(pid: number, signal: Signal): Effect {
  return { type: 'signal', pid, signal, group: false };
}

function assertNever(x: never): never {
  throw new Error(`unhandled event ${JSON.stringify(x)}`);
}
