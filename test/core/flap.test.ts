import { describe, expect, it } from 'vitest';
import { burstFlaps, weightedFlaps, weightedValue, DEFAULT_BURST, DEFAULT_WEIGHTED, type Happening } from '../../src/core/flap.js';

const S = 1e6;
const T0 = 1_795_341_600 * S; // a multiple of 30 s
const fail = (s: number): Happening => ({ kind: 'failure', at: T0 + s * S });
const start = (s: number): Happening => ({ kind: 'start', at: T0 + s * S });
const stopped = (s: number): Happening => ({ kind: 'stopped', at: T0 + s * S });
const rel = (f: { start: number; detected: number; end: number; ongoing: boolean }) => ({
  start: (f.start - T0) / S, detected: (f.detected - T0) / S, end: (f.end - T0) / S, ongoing: f.ongoing,
});

describe('burst rule', () => {
  it('fires at the 5th death within 300 s and ends 300 s after the last restart', () => {
    const ev: Happening[] = [start(0)];
    for (let k = 0; k < 6; k++) ev.push(fail(10 + 10 * k), start(11 + 10 * k));
    const f = burstFlaps(ev, DEFAULT_BURST, T0 + 3600 * S);
    expect(f.map(rel)).toEqual([{ start: 10, detected: 50, end: 61 + 300, ongoing: false }]);
  });
  it('does not fire for 4 deaths, nor for 5 spread over more than 300 s', () => {
    const four = [fail(0), fail(1), fail(2), fail(3)];
    expect(burstFlaps(four, DEFAULT_BURST, T0 + 3600 * S)).toEqual([]);
    const spread = [0, 76, 152, 228, 304].map(fail);
    expect(burstFlaps(spread, DEFAULT_BURST, T0 + 3600 * S)).toEqual([]);
    const tight = [0, 75, 150, 225, 300].map(fail); // exactly 300 s: inside
    expect(burstFlaps(tight, DEFAULT_BURST, T0 + 3600 * S)).toHaveLength(1);
  });
  it('keeps flapping while runs stay shorter than the quiet time, then ends', () => {
    const ev = [fail(0), start(1), fail(2), start(3), fail(4), start(5), fail(6), start(7), fail(8), start(9),
      fail(250), start(251), fail(551), start(552)];
    // After +9 the service ran 241 s (< 300) before dying at +250; after +251 it ran 300 s: ends at +551.
    const f = burstFlaps(ev, DEFAULT_BURST, T0 + 3600 * S);
    expect(f.map(rel)).toEqual([{ start: 0, detected: 8, end: 551, ongoing: false }]);
  });
  it('ends when an operator stops the service, and is ongoing at the end of the window otherwise', () => {
    const ev = [0, 1, 2, 3, 4].map(fail);
    expect(burstFlaps([...ev, stopped(20)], DEFAULT_BURST, T0 + 3600 * S).map(rel)).toEqual([{ start: 0, detected: 4, end: 20, ongoing: false }]);
    expect(burstFlaps(ev, DEFAULT_BURST, T0 + 100 * S).map(rel)).toEqual([{ start: 0, detected: 4, end: 100, ongoing: true }]);
    expect(burstFlaps([...ev, start(5)], DEFAULT_BURST, T0 + 100 * S).map(rel)).toEqual([{ start: 0, detected: 4, end: 100, ongoing: true }]);
  });
  it('finds two separate bursts', () => {
    const ev: Happening[] = [];
    for (const base of [0, 1000]) for (let k = 0; k < 5; k++) ev.push(fail(base + k * 2), start(base + k * 2 + 1));
    expect(burstFlaps(ev, DEFAULT_BURST, T0 + 3600 * S).map(rel)).toEqual([
      { start: 0, detected: 8, end: 309, ongoing: false },
      { start: 1000, detected: 1008, end: 1309, ongoing: false },
    ]);
  });
  it('is configurable', () => {
    const ev = [fail(0), start(1), fail(2), start(3)];
    expect(burstFlaps(ev, { deaths: 2, within: 5, quiet: 10 }, T0 + 3600 * S).map(rel)).toEqual([{ start: 0, detected: 2, end: 13, ongoing: false }]);
  });
});

describe('weighted rule (Icinga 2)', () => {
  it('weighs the oldest of 20 windows 0.80 and the newest 1.18', () => {
    const h = Array<boolean>(20).fill(false);
    h[19] = true;
    expect(weightedValue(h)).toBeCloseTo(5.9, 10);
    h.fill(false);
    h[0] = true;
    expect(weightedValue(h)).toBeCloseTo(4.0, 10);
    expect(weightedValue(Array<boolean>(20).fill(true))).toBeCloseTo(99, 10); // (16 + 0.02 * 190) * 5
  });
  it('fires above 30 % and ends at 25 % or below (hand-worked example)', () => {
    // Deaths in windows 33 36 38 41 44 46 49 52 54 (see fixtures/journals/generate.mjs for the sums).
    const deaths = [1005, 1085, 1165, 1245, 1325, 1405, 1485, 1565, 1645].map((s) => T0 + s * S);
    const f = weightedFlaps(deaths, DEFAULT_WEIGHTED, T0 + 3600 * S);
    expect(f.map(rel)).toEqual([{ start: 1005, detected: 1410, end: 1860, ongoing: false }]);
  });
  it('counts a window once however many deaths it holds', () => {
    const deaths = Array.from({ length: 50 }, (_, i) => T0 + (i * 0.5 + 1) * S); // 50 deaths in one window
    expect(weightedFlaps(deaths, DEFAULT_WEIGHTED, T0 + 3600 * S)).toEqual([]);
  });
  it('a death in every window flaps from the 6th window and stops after the deaths stop', () => {
    const deaths = Array.from({ length: 30 }, (_, i) => T0 + (i * 30 + 5) * S);
    const f = weightedFlaps(deaths, DEFAULT_WEIGHTED, T0 + 3600 * S);
    // 6 newest windows: 1.08+1.10+1.12+1.14+1.16+1.18 = 6.78 > 6 (5 windows: 5.70): detected at the end of window 5.
    expect(f).toHaveLength(1);
    expect(rel(f[0]!).start).toBe(5);
    expect(rel(f[0]!).detected).toBe(180);
    // After the last death window (29) the changes age: the end is the first window k whose remaining
    // changes (windows k-19 .. 29) weigh 5 or less, computed here from Icinga's weights directly.
    let k = 29;
    for (;;) {
      k++;
      let sum = 0;
      for (let j = k - 19; j <= k; j++) if (j <= 29) sum += 0.8 + 0.02 * (j - (k - 19));
      if (sum * 5 <= 25) break;
    }
    expect(rel(f[0]!).end).toBe((k + 1) * 30);
    expect(f[0]!.ongoing).toBe(false);
  });
  it('is ongoing at the end of the window', () => {
    const deaths = Array.from({ length: 30 }, (_, i) => T0 + (i * 30 + 5) * S);
    const f = weightedFlaps(deaths, DEFAULT_WEIGHTED, T0 + 600 * S);
    expect(f.map(rel)).toEqual([{ start: 5, detected: 180, end: 600, ongoing: true }]);
  });
  it('is configurable: a 60 s window and thresholds 10/5', () => {
    const deaths = [T0 + 5 * S, T0 + 65 * S];
    const f = weightedFlaps(deaths, { window: 60, high: 10, low: 5 }, T0 + 3600 * S);
    // window 1 holds the 2nd death: 1.16 + 1.18 = 2.34 -> 11.7 % > 10, detected at its end (+120 s).
    expect(f).toHaveLength(1);
    expect(rel(f[0]!).detected).toBe(120);
    // It ends at the first window k whose two aged changes weigh 1 or less (value <= 5 %).
    let k = 1;
    for (;;) {
      k++;
      let sum = 0;
      for (const j of [0, 1]) if (j >= k - 19) sum += 0.8 + 0.02 * (j - (k - 19));
      if (sum * 5 <= 5) break;
    }
    expect(rel(f[0]!).end).toBe((k + 1) * 60);
  });
});
