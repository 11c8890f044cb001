// The wall clock with microsecond resolution. Date is millisecond-grained and hrtime is monotonic
// (it ignores clock steps), so we anchor hrtime to Date.now() and re-anchor whenever the two drift
// apart by more than a few milliseconds (an NTP step or a manual `date -s`).
import { hrtime } from 'node:process';

export interface Clock {
  /** UNIX time in whole microseconds (an exact integer: fits in 2^53 until year 2255). */
  nowMicros(): number;
}

const REANCHOR_MS = 2; // drift beyond this between hrtime and Date means the wall clock stepped

class WallClock implements Clock {
  private baseWallUs = 0;
  private baseHr = 0n;
  private lastCheckHr = 0n;

  constructor() {
    this.anchor();
  }

  private anchor(): void {
    // Sample Date at a millisecond edge so the anchor is accurate to ~1 us rather than 1 ms. The edge lies
    // between the previous Date.now() and the one that sees the new millisecond; if the process was
    // preempted in between (a loaded machine), that window is milliseconds wide: wait for another edge.
    let hr = hrtime.bigint();
    let ms = Date.now();
    for (let tries = 0; tries < 20; tries++) {
      const start = ms;
      let prev = hrtime.bigint();
      let after = prev;
      for (let i = 0; i < 100000 && ms === start; i++) {
        prev = hr;
        hr = hrtime.bigint();
        ms = Date.now();
        after = hrtime.bigint();
      }
      if (after - prev < 50_000n) break; // the edge is known to within 50 us
    }
    this.baseWallUs = ms * 1000;
    this.baseHr = hr;
    this.lastCheckHr = hr;
  }

  nowMicros(): number {
    const hr = hrtime.bigint();
    const us = this.baseWallUs + Number((hr - this.baseHr) / 1000n);
    // Cheap drift check at most every 50 ms of monotonic time.
    if (hr - this.lastCheckHr > 50_000_000n) {
      this.lastCheckHr = hr;
      const wall = Date.now() * 1000;
      if (Math.abs(wall - us) > REANCHOR_MS * 1000 + 1000) {
        this.anchor();
        return this.nowMicros();
      }
    }
    return us;
  }
}

let shared: Clock | undefined;

/** The process-wide wall clock. */
export function wallClock(): Clock {
  return (shared ??= new WallClock());
}

/** A clock that returns what the test sets (for io tests). */
export class FakeClock implements Clock {
  constructor(public micros = 1_700_000_000_000_000) {}
  nowMicros(): number {
    return this.micros;
  }
  advance(us: number): void {
    this.micros += us;
  }
}
