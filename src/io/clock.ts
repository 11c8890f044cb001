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
    // Sample Date at a millisecond edge so the anchor is accurate to ~1 us rather than 1 ms.
    const start = Date.now();
    let ms = start;
    let hr = hrtime.bigint();
    for (let i = 0; i < 100000 && ms === start; i++) {
      hr = hrtime.bigint();
      ms = Date.now();
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
