// Flapping: intervals with a start and an end, decided by two rules (documented in docs/readme/report.md
// and man/upkeep-report.8). Pure: times are UNIX microseconds, inputs sorted by time.
//
// burst     N failures within S seconds start a flap; it ends when the service has stayed up Q seconds
//           (end = the start that began that long run + Q), or when an operator stopped it (svc -d,
//           removal from the tree, a stop of the tree).
//           Defaults N=5, S=300, Q=300. The interval starts at the first of the N failures.
// weighted  Icinga 2's state-change percentage (lib/icinga/checkable-flapping.cpp, 2.8 and later), over
//           fixed windows of W seconds aligned to the UNIX epoch (default 30 s): each window is one
//           "check", and counts as a state change when the service failed in it. The last 20 windows are
//           kept; the i-th oldest (i = 0..19) weighs 0.8 + 0.02 i (0.80 for the oldest, 1.18 for the newest),
//           and the value is 100 * (sum of the weights of the windows with a change) / 20. As in Icinga,
//           flapping starts when the value exceeds the high threshold (value > 30) and ends when it no
//           longer exceeds the low one (value <= 25): the hysteresis keeps the label from flapping itself.
//           The interval starts at the first failure among the 20 windows when the rule fired and ends at
//           the end of the window where the value fell to the low threshold or below.
// A flap still open at the end of the report's window ends there, marked `ongoing`.

export interface BurstRule {
  deaths: number;
  within: number; // seconds
  quiet: number; // seconds
}

export interface WeightedRule {
  window: number; // seconds
  high: number; // percent
  low: number; // percent
}

export const DEFAULT_BURST: BurstRule = { deaths: 5, within: 300, quiet: 300 };
export const DEFAULT_WEIGHTED: WeightedRule = { window: 30, high: 30, low: 25 };
export const WEIGHTED_WINDOWS = 20;

export type RuleName = 'burst' | 'weighted';

export interface FlapInterval {
  rule: RuleName;
  start: number;
  /** When the rule's condition was met. */
  detected: number;
  end: number;
  ongoing: boolean;
}

/** What the rules look at, in time order. */
export type Happening =
  | { kind: 'failure'; at: number }
  | { kind: 'start'; at: number }
  | { kind: 'stopped'; at: number }; // an operator stopped the service (wanted down)

const US = 1e6;

export function burstFlaps(events: readonly Happening[], rule: BurstRule, until: number): FlapInterval[] {
  const out: FlapInterval[] = [];
  const recent: number[] = []; // failure times within `within` of the newest
  let open: { start: number; detected: number } | null = null;
  let quietEnd: number | null = null; // when the current up run will have lasted `quiet`
  const close = (end: number, ongoing = false): void => {
    out.push({ rule: 'burst', start: open!.start, detected: open!.detected, end, ongoing });
    open = null;
    quietEnd = null;
  };
  for (const e of events) {
    if (e.at > until) break;
    if (open && quietEnd !== null && quietEnd <= e.at) close(quietEnd);
    if (e.kind === 'start') {
      if (open) quietEnd = e.at + rule.quiet * US;
    } else if (e.kind === 'stopped') {
      if (open) close(e.at);
    } else {
      quietEnd = null;
      recent.push(e.at);
      while (recent.length > 0 && recent[0]! < e.at - rule.within * US) recent.shift();
      if (!open && recent.length >= rule.deaths) open = { start: recent[recent.length - rule.deaths]!, detected: e.at };
    }
  }
  if (open) {
    if (quietEnd !== null && quietEnd <= until) close(quietEnd);
    else close(until, true);
  }
  return out;
}

/** Icinga 2's weighted percentage for a 20-bit history, bit i = window i counted from the oldest. */
export function weightedValue(history: readonly boolean[]): number {
  let sum = 0;
  for (let i = 0; i < history.length; i++) if (history[i]) sum += 0.8 + 0.02 * i;
  return (100 * sum) / WEIGHTED_WINDOWS;
}

const MASK = (1 << WEIGHTED_WINDOWS) - 1;

/** weightedValue for a history packed in bits, bit 0 the newest window (the hot path). */
function weightedBits(bits: number): number {
  let sum = 0;
  for (let b = 0; bits !== 0; b++, bits >>>= 1) if (bits & 1) sum += 0.8 + 0.02 * (WEIGHTED_WINDOWS - 1 - b);
  return (100 * sum) / WEIGHTED_WINDOWS;
}

export function weightedFlaps(failures: readonly number[], rule: WeightedRule, until: number): FlapInterval[] {
  const out: FlapInterval[] = [];
  if (failures.length === 0) return out;
  const w = rule.window * US;
  const lastWin = Math.floor(until / w); // the window containing `until` is evaluated when it ends, or at until
  // Windows with a failure, and the first failure in each.
  const firstIn = new Map<number, number>();
  for (const t of failures) {
    const k = Math.floor(t / w);
    if (!firstIn.has(k)) firstIn.set(k, t);
  }
  const wins = [...firstIn.keys()].sort((a, b) => a - b);
  let flapping = false;
  let open: { start: number; detected: number } | null = null;
  let i = 0; // next index in wins
  let k = wins[0]!;
  // The last 20 windows as bits: bit 0 is the newest window (k), bit 19 the oldest (k - 19).
  let hist = 0;
  while (k <= lastWin) {
    const changed = firstIn.has(k);
    if (changed) i++;
    hist = ((hist << 1) | (changed ? 1 : 0)) & MASK;
    const v = weightedBits(hist);
    const winEnd = Math.min((k + 1) * w, until);
    if (!flapping && v > rule.high) {
      flapping = true;
      let start = winEnd;
      for (let j = k - WEIGHTED_WINDOWS + 1; j <= k; j++) if (firstIn.has(j)) { start = firstIn.get(j)!; break; }
      open = { start, detected: winEnd };
    } else if (flapping && v <= rule.low) {
      flapping = false;
      out.push({ rule: 'weighted', start: open!.start, detected: open!.detected, end: winEnd, ongoing: false });
      open = null;
    }
    // Nothing can change while the history is empty: jump to the next window with a failure.
    if (!flapping && hist === 0) {
      if (i >= wins.length) break;
      k = wins[i]!;
    } else k++;
  }
  if (open) out.push({ rule: 'weighted', start: open.start, detected: open.detected, end: until, ongoing: true });
  return out;
}
