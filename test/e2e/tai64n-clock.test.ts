// The wall clock behind tai64n's stamps (src/io/clock.ts): microsecond resolution, in step with Date,
// and following a step of the system clock (simulated by moving Date.now).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { wallClock } from '../../src/io/clock.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('wallClock', () => {
  it('has sub-millisecond resolution', () => {
    const c = wallClock();
    // Sample for 2 ms; on a busy machine a sample can be starved, so up to 10 tries.
    let ok = false;
    for (let attempt = 0; attempt < 10 && !ok; attempt++) {
      const seen = new Set<number>();
      const start = c.nowMicros();
      while (c.nowMicros() - start < 2000) seen.add(c.nowMicros());
      const values = [...seen].sort((a, b) => a - b);
      expect(values.every(Number.isSafeInteger)).toBe(true);
      const gaps = values.slice(1).map((v, i) => v - values[i]!);
      // many distinct microsecond values, most not on a millisecond boundary, some < 1 ms apart
      ok =
        values.length > 20 &&
        values.filter((v) => v % 1000 !== 0).length > values.length / 2 &&
        Math.min(...gaps) < 1000;
    }
    expect(ok).toBe(true);
  });

  it('agrees with Date within a few milliseconds', () => {
    const c = wallClock();
    for (let i = 0; i < 2000; i++) {
      const d0 = Date.now();
      const us = c.nowMicros();
      const d1 = Date.now();
      expect(us / 1000).toBeGreaterThanOrEqual(d0 - 3);
      expect(us / 1000).toBeLessThanOrEqual(d1 + 3);
    }
  });

  it('follows a step of the wall clock within 50 ms', () => {
    const c = wallClock();
    const real = Date.now.bind(Date);
    const before = c.nowMicros();
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 10_000);
    const t0 = real();
    let us = c.nowMicros();
    while (real() < t0 + 120 && us < before + 5_000_000) us = c.nowMicros();
    expect(us - before).toBeGreaterThanOrEqual(10_000_000 - 3000);
    expect(Math.abs(us / 1000 - (real() + 10_000))).toBeLessThan(5);
  });
});
