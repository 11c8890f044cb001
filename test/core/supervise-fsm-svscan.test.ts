// The state machine's additions for svscan: a start held back (finish script, exit note) and then
// cancelled, s6's down-signal, and down-group.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, initialState, step, type Effect, type Event, type Policy, type State } from '../../src/core/supervise-fsm.js';

const T0 = 1_795_343_000_000_000;
const at = (ms: number): number => T0 + ms * 1000;

function run(s: State, evs: Event[]): { state: State; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const ev of evs) {
    const r = step(s, ev);
    s = r.state;
    effects.push(...r.effects);
  }
  return { state: s, effects };
}

function upWith(policy: Policy): State {
  return run(initialState(T0, false, policy), [
    { type: 'boot', now: at(0) },
    { type: 'spawned', pid: 42, now: at(0) },
  ]).state;
}

describe('supervise FSM for svscan', () => {
  it('spawn-cancelled: a held start that is no longer wanted leaves the service down, or ends supervision after x', () => {
    const up = upWith(DEFAULT_POLICY);
    // the run ends after 5 s: an immediate restart is asked for (a spawn effect) ...
    const ended = run(up, [{ type: 'exited', pid: 42, now: at(5000) }]);
    expect(ended.state.phase).toBe('starting');
    // ... but `d` arrives while the executor holds the start (finish script running): it is cancelled
    const d = run(ended.state, [{ type: 'control', byte: 0x64, now: at(5001) }, { type: 'spawn-cancelled', now: at(5002) }]);
    expect(d.state).toMatchObject({ phase: 'down', want: 'down', pid: 0 });
    expect(d.effects.some((e) => e.type === 'spawn')).toBe(false);
    // with x instead, supervision ends
    const x = run(ended.state, [{ type: 'control', byte: 0x78, now: at(5001) }, { type: 'spawn-cancelled', now: at(5002) }]);
    expect(x.state.phase).toBe('exited');
    expect(x.effects.at(-1)).toEqual({ type: 'exit' });
    // a stray cancel in any other phase changes nothing
    expect(step(up, { type: 'spawn-cancelled', now: at(1) }).state).toBe(up);
  });

  it('down-signal replaces TERM; down-group signals the process group', () => {
    const plain = run(upWith(DEFAULT_POLICY), [{ type: 'control', byte: 0x64, now: at(1) }]).effects.filter((e) => e.type === 'signal');
    expect(plain).toEqual([
      { type: 'signal', pid: 42, signal: 'SIGTERM', group: false },
      { type: 'signal', pid: 42, signal: 'SIGCONT', group: false },
    ]);
    const p: Policy = { ...DEFAULT_POLICY, downSignal: 'SIGHUP', downGroup: true };
    const custom = run(upWith(p), [{ type: 'control', byte: 0x64, now: at(1) }]).effects.filter((e) => e.type === 'signal');
    expect(custom).toEqual([
      { type: 'signal', pid: 42, signal: 'SIGHUP', group: true },
      { type: 'signal', pid: 42, signal: 'SIGCONT', group: true },
    ]);
  });
});
