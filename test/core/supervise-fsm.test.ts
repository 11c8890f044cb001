import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  backoffMs,
  DEFAULT_POLICY,
  initialState,
  step,
  type Effect,
  type Event,
  type Policy,
  type State,
} from '../../src/core/supervise-fsm.js';

const T0 = 1_795_343_000_000_000; // UNIX microseconds
const ms = (n: number): number => T0 + n * 1000;
const ctl = (c: string, at = 0): Event => ({ type: 'control', byte: c.charCodeAt(0), now: ms(at) });

/** Effects rendered compactly: status:<pid>/<paused>/<want>, spawn, TERM>pid, arm:restart:1000 ... */
function show(e: Effect): string {
  switch (e.type) {
    case 'status':
      return `status:${e.status.pid}/${e.status.paused}/${e.status.want ? String.fromCharCode(e.status.want) : '0'}`;
    case 'spawn':
      return 'spawn';
    case 'signal':
      return `${e.signal.slice(3)}>${e.group ? '-' : ''}${e.pid}`;
    case 'arm':
      return `arm:${e.timer}:${e.ms}`;
    case 'disarm':
      return `disarm:${e.timer}`;
    case 'exit':
      return 'exit';
  }
}

class Run {
  state: State;
  log: string[] = [];
  constructor(down = false, policy: Policy = DEFAULT_POLICY) {
    this.state = initialState(T0, down, policy);
  }
  send(ev: Event): string[] {
    const r = step(this.state, ev);
    this.state = r.state;
    const out = r.effects.map(show);
    this.log.push(...out);
    return out;
  }
  /** boot and, when a spawn is requested, answer it with `pid`. */
  boot(pid = 100, at = 0): string[] {
    const out = this.send({ type: 'boot', now: ms(at) });
    if (out.includes('spawn')) out.push(...this.send({ type: 'spawned', pid, now: ms(at) }));
    return out;
  }
}

describe('supervise state machine: daemontools semantics', () => {
  it('starts at boot unless the down file exists', () => {
    expect(new Run().boot(100)).toEqual(['spawn', 'status:100/0/u']);
    const down = new Run(true);
    expect(down.boot()).toEqual([]);
    expect(down.state.want).toBe('down');
  });

  it('d: TERM then CONT, paused cleared, status with want d; no restart at exit', () => {
    const r = new Run();
    r.boot(100);
    r.send(ctl('p', 10));
    expect(r.send(ctl('d', 20))).toEqual(['TERM>100', 'CONT>100', 'status:100/0/d']);
    expect(r.send({ type: 'exited', pid: 100, now: ms(30) })).toEqual(['status:0/0/d']);
    expect(r.state.phase).toBe('down');
  });

  it('u while down starts at once; u while up only rewrites the status', () => {
    const r = new Run(true);
    r.boot();
    expect(r.send(ctl('u', 5))).toEqual(['status:0/0/u', 'spawn']);
    r.send({ type: 'spawned', pid: 7, now: ms(5) });
    expect(r.send(ctl('u', 6))).toEqual(['status:7/0/u']);
  });

  it('o: want none, starts if down, not restarted after exit', () => {
    const r = new Run(true);
    r.boot();
    expect(r.send(ctl('o', 1))).toEqual(['status:0/0/0', 'spawn']);
    r.send({ type: 'spawned', pid: 8, now: ms(1) });
    expect(r.send({ type: 'exited', pid: 8, now: ms(5000) })).toEqual(['status:0/0/0']);
    expect(r.state.phase).toBe('down');
  });

  it('p and c: status first, then STOP / CONT; the paused byte is 0 while down', () => {
    const r = new Run();
    r.boot(9);
    expect(r.send(ctl('p'))).toEqual(['status:9/1/u', 'STOP>9']);
    expect(r.send(ctl('c'))).toEqual(['status:9/0/u', 'CONT>9']);
    const d = new Run(true);
    d.boot();
    expect(d.send(ctl('p'))).toEqual(['status:0/0/d']);
  });

  it('h a i t k send their signal only while running; unknown bytes are ignored', () => {
    const r = new Run();
    r.boot(11);
    expect(['h', 'a', 'i', 't', 'k', 'z', '\n'].flatMap((c) => r.send(ctl(c)))).toEqual([
      'HUP>11',
      'ALRM>11',
      'INT>11',
      'TERM>11',
      'KILL>11',
    ]);
    const d = new Run(true);
    d.boot();
    expect(['h', 'a', 'i', 't', 'k'].flatMap((c) => d.send(ctl(c)))).toEqual([]);
  });

  it('x while up: exits after the service ends, never restarts it', () => {
    const r = new Run();
    r.boot(12);
    expect(r.send(ctl('x', 1))).toEqual(['status:12/0/u']);
    expect(r.send({ type: 'exited', pid: 12, now: ms(5000) })).toEqual(['status:0/0/u', 'status:0/0/u', 'exit']);
    expect(r.state.phase).toBe('exited');
    expect(r.send(ctl('u'))).toEqual([]);
  });

  it('x while down exits at once; dx stops and exits', () => {
    const r = new Run(true);
    r.boot();
    expect(r.send(ctl('x'))).toEqual(['status:0/0/d', 'status:0/0/d', 'exit']);
    const s = new Run();
    s.boot(13);
    expect([...s.send(ctl('d')), ...s.send(ctl('x'))]).toEqual(['TERM>13', 'CONT>13', 'status:13/0/d', 'status:13/0/d']);
    expect(s.send({ type: 'exited', pid: 13, now: ms(1) })).toEqual(['status:0/0/d', 'status:0/0/d', 'exit']);
  });

  it('du on a running service restarts it when it exits (the u arrives before the death)', () => {
    const r = new Run();
    r.boot(14);
    r.send(ctl('d', 5000));
    r.send(ctl('u', 5000));
    expect(r.send({ type: 'exited', pid: 14, now: ms(5001) })).toEqual(['status:0/0/u', 'spawn']);
  });

  it('the timestamp changes only on pid changes', () => {
    const r = new Run();
    r.boot(15, 100);
    const up = r.state.stamp;
    expect(up).toBe(ms(100));
    for (const c of 'pcohuaxz') r.send(ctl(c, 2000));
    expect(r.state.stamp).toBe(up);
    r.send({ type: 'exited', pid: 15, now: ms(3000) });
    expect(r.state.stamp).toBe(ms(3000));
  });

  it('ignores the exit of a pid that is not the service', () => {
    const r = new Run();
    r.boot(16);
    expect(r.send({ type: 'exited', pid: 99, now: ms(1) })).toEqual([]);
    expect(r.state.pid).toBe(16);
  });
});

describe('supervise state machine: restart policy', () => {
  it('restarts at once after a run of at least minUptimeMs, and resets the crash counter', () => {
    const r = new Run();
    r.boot(1, 0);
    r.send({ type: 'exited', pid: 1, now: ms(10) }); // short: backoff
    r.send({ type: 'timer', timer: 'restart', now: ms(1010) });
    r.send({ type: 'spawned', pid: 2, now: ms(1010) });
    expect(r.state.failures).toBe(1);
    expect(r.send({ type: 'exited', pid: 2, now: ms(2010) })).toEqual(['status:0/0/u', 'spawn']);
    expect(r.state.failures).toBe(0);
  });

  it('t or k on a short run restarts it at once: an operator restart is no failure, the crash counter stays', () => {
    const r = new Run();
    r.boot(1, 0);
    r.send({ type: 'exited', pid: 1, now: ms(10) }); // a crash: backoff, failures 1
    r.send({ type: 'timer', timer: 'restart', now: ms(1010) });
    r.send({ type: 'spawned', pid: 2, now: ms(1010) });
    for (const [c, sig] of [['t', 'TERM'], ['k', 'KILL']] as const) {
      const pid = r.state.pid;
      expect(r.send(ctl(c, 1020))).toEqual([`${sig}>${pid}`]);
      // Dies 20 ms after its start: short, but asked for. Restarted at once, no backoff, counter unchanged.
      expect(r.send({ type: 'exited', pid, now: ms(1030) })).toEqual(['status:0/0/u', 'spawn']);
      expect(r.state.failures).toBe(1);
      r.send({ type: 'spawned', pid: pid + 1, now: ms(1030) });
    }
    // The next death that nobody asked for is a crash again, and backs off 2 s.
    expect(r.send({ type: 'exited', pid: r.state.pid, now: ms(1040) })).toContain('arm:restart:2000');
  });

  it('backs off 1 s, 2 s, 4 s ... 60 s in a crash loop and never gives up', () => {
    const r = new Run();
    r.boot(1, 0);
    let now = 0;
    const delays: number[] = [];
    for (let pid = 1; pid <= 10; pid++) {
      const out = r.send({ type: 'exited', pid, now: ms(now + 5) });
      const arm = out.find((e) => e.startsWith('arm:restart:'))!;
      delays.push(Number(arm.split(':')[2]));
      expect(r.state.phase).toBe('backoff');
      now += 5 + delays.at(-1)!;
      expect(r.send({ type: 'timer', timer: 'restart', now: ms(now) })).toEqual(['spawn']);
      r.send({ type: 'spawned', pid: pid + 1, now: ms(now) });
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000]);
  });

  it('backoffMs follows the policy', () => {
    const p: Policy = { ...DEFAULT_POLICY, backoffBaseMs: 10, backoffMaxMs: 35 };
    expect([1, 2, 3, 4, 100].map((n) => backoffMs(n, p))).toEqual([10, 20, 35, 35, 35]);
  });

  it('u and o start a backed-off service at once; d and x cancel the pending restart', () => {
    for (const c of ['u', 'o']) {
      const r = new Run();
      r.boot(1);
      r.send({ type: 'exited', pid: 1, now: ms(1) });
      expect(r.send(ctl(c, 2))).toEqual([`status:0/0/${c === 'u' ? 'u' : '0'}`, 'disarm:restart', 'spawn']);
    }
    const d = new Run();
    d.boot(1);
    d.send({ type: 'exited', pid: 1, now: ms(1) });
    expect(d.send(ctl('d', 2))).toEqual(['disarm:restart', 'status:0/0/d']);
    expect(d.send({ type: 'timer', timer: 'restart', now: ms(1001) })).toEqual([]);
    const x = new Run();
    x.boot(1);
    x.send({ type: 'exited', pid: 1, now: ms(1) });
    expect(x.send(ctl('x', 2))).toEqual(['status:0/0/u', 'disarm:restart', 'status:0/0/u', 'exit']);
  });

  it('a spawn failure (run missing) backs off like a crash and keeps the timestamp', () => {
    const r = new Run();
    expect(r.send({ type: 'boot', now: ms(0) })).toEqual(['spawn']);
    expect(r.send({ type: 'spawn-failed', now: ms(0) })).toEqual(['arm:restart:1000']);
    expect(r.send({ type: 'timer', timer: 'restart', now: ms(1000) })).toEqual(['spawn']);
    expect(r.send({ type: 'spawn-failed', now: ms(1000) })).toEqual(['arm:restart:2000']);
    expect(r.state.stamp).toBe(T0);
    expect(r.state.want).toBe('up');
  });

  it('timeout-kill: d arms a timer that SIGKILLs the process group; an exit disarms it', () => {
    const p: Policy = { ...DEFAULT_POLICY, killTimeoutMs: 300 };
    const r = new Run(false, p);
    r.boot(20);
    expect(r.send(ctl('d'))).toEqual(['TERM>20', 'CONT>20', 'arm:kill:300', 'status:20/0/d']);
    expect(r.send({ type: 'timer', timer: 'kill', now: ms(300) })).toEqual(['KILL>-20']);
    expect(r.send({ type: 'exited', pid: 20, now: ms(301) })).toEqual(['status:0/0/d', 'disarm:kill']);
  });

  it('terminate (SIGTERM to supervise) = svc -dx; a second one sends KILL to the group', () => {
    const r = new Run();
    r.boot(30);
    expect(r.send({ type: 'terminate', now: ms(1) })).toEqual(['TERM>30', 'CONT>30', 'status:30/0/d', 'status:30/0/d']);
    expect(r.send({ type: 'terminate', now: ms(2) })).toEqual(['KILL>-30']);
    expect(r.send({ type: 'exited', pid: 30, now: ms(3) })).toEqual(['status:0/0/d', 'status:0/0/d', 'exit']);
    const d = new Run(true);
    d.boot();
    expect(d.send({ type: 'terminate', now: ms(1) })).toEqual(['status:0/0/d', 'status:0/0/d', 'status:0/0/d', 'exit']);
  });
});

describe('supervise state machine: invariants under random event sequences', () => {
  type Input =
    | { k: 'control'; c: string }
    | { k: 'exit' }
    | { k: 'stranger-exit' }
    | { k: 'timer'; t: 'restart' | 'kill' }
    | { k: 'terminate' }
    | { k: 'wait'; ms: number };
  const input = fc.oneof(
    fc.record({ k: fc.constant('control' as const), c: fc.constantFrom(...'udopchaitkxz') }),
    fc.constant({ k: 'exit' as const }),
    fc.constant({ k: 'stranger-exit' as const }),
    fc.record({ k: fc.constant('timer' as const), t: fc.constantFrom('restart' as const, 'kill' as const) }),
    fc.constant({ k: 'terminate' as const }),
    fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 5000 }) }),
  );

  it('holds for every sequence (the world answers spawns at once; timers fire only when armed)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.array(fc.boolean(), { maxLength: 50 }), fc.array(input, { maxLength: 60 }), (down, kt, spawnOk, inputs: Input[]) => {
        const policy: Policy = { ...DEFAULT_POLICY, killTimeoutMs: kt ? 500 : 0 };
        let s = initialState(T0, down, policy);
        let now = 0;
        let nextPid = 1000;
        let spawnIdx = 0;
        const armed = new Set<string>();
        let exited = false;
        const apply = (ev: Event): void => {
          const before = s;
          const r = step(s, ev);
          s = r.state;
          if (exited) expect(r.effects).toEqual([]);
          if (s.pid !== before.pid) expect(s.stamp).toBe(ev.now);
          else expect(s.stamp).toBe(before.stamp);
          const pending: Event[] = [];
          for (const e of r.effects) {
            switch (e.type) {
              case 'spawn':
                expect(s.pid).toBe(0); // never a second process while one runs
                expect(['up', 'once']).toContain(s.want);
                pending.push(spawnOk[spawnIdx++ % Math.max(spawnOk.length, 1)] === false
                  ? { type: 'spawn-failed', now: ms(now) }
                  : { type: 'spawned', pid: nextPid++, now: ms(now) });
                break;
              case 'status':
                expect(e.status.pid).toBe(s.pid);
                break;
              case 'signal':
                expect(e.pid).toBe(before.pid);
                expect(e.pid).not.toBe(0);
                break;
              case 'arm':
                armed.add(e.timer);
                break;
              case 'disarm':
                armed.delete(e.timer);
                break;
              case 'exit':
                expect(s.pid).toBe(0);
                exited = true;
                break;
            }
          }
          expect(s.phase === 'up').toBe(s.pid !== 0);
          if (!exited && s.phase !== 'starting') expect(armed.has('restart')).toBe(s.phase === 'backoff');
          for (const p of pending) apply(p);
          expect(s.phase).not.toBe('starting'); // always answered at once
          // Never stuck: a service wanted up is running or has a restart scheduled.
          if (s.want === 'up' && !s.exiting) expect(['up', 'backoff']).toContain(s.phase);
        };
        apply({ type: 'boot', now: ms(now) });
        for (const i of inputs) {
          switch (i.k) {
            case 'control':
              apply({ type: 'control', byte: i.c.charCodeAt(0), now: ms(now) });
              break;
            case 'exit':
              if (s.pid !== 0) apply({ type: 'exited', pid: s.pid, now: ms(now) });
              break;
            case 'stranger-exit':
              apply({ type: 'exited', pid: 1, now: ms(now) });
              break;
            case 'timer':
              if (armed.has(i.t)) {
                armed.delete(i.t);
                apply({ type: 'timer', timer: i.t, now: ms(now) });
              }
              break;
            case 'terminate':
              apply({ type: 'terminate', now: ms(now) });
              break;
            case 'wait':
              now += i.ms;
              break;
          }
          if (s.phase === 'exited') expect(exited).toBe(true);
          if (s.pid === 0 && s.phase !== 'exited') expect(armed.has('kill')).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});
