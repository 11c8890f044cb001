// The analyzer: journal records in, a report model out. Pure and incremental: `add` is called once per
// record in journal order, and the memory it keeps grows with the number of services and of exits in the
// window, never with the journal's length (records outside the window only move a service's state).
import { causeOf, type JournalRecord, type LineCounts } from './journal.js';
import {
  burstFlaps, weightedFlaps, DEFAULT_BURST, DEFAULT_WEIGHTED, WEIGHTED_WINDOWS,
  type BurstRule, type FlapInterval, type Happening, type WeightedRule, type RuleName,
} from './flap.js';

const US = 1e6;

export interface AnalyzerOptions {
  /** UNIX microseconds; null = from the journal's beginning. */
  since: number | null;
  until: number;
  burst: BurstRule;
  weighted: WeightedRule;
  /** Bucket size for "restarts per window", seconds. */
  restartWindow: number;
  /** Only these services (empty: all). */
  services: readonly string[];
}

export const DEFAULT_ANALYZER: Omit<AnalyzerOptions, 'until'> = {
  since: null,
  burst: DEFAULT_BURST,
  weighted: DEFAULT_WEIGHTED,
  restartWindow: 3600,
  services: [],
};

export interface ExitInfo {
  at: number;
  pid: number;
  cause: string;
  code: number | null;
  signal: string | null;
  uptime: number;
  operator: boolean;
  /** A failure: not asked for by an operator, and not a `once` service finishing with 0. */
  failure: boolean;
  next: string;
  context: string[];
  /** How the context was found: after the exit note (exact), by time (approximate), or not at all. */
  contextKind: 'exact' | 'approximate' | 'none';
}

export interface DeployInfo {
  at: number;
  kind: 'deploy' | 'rollback';
  from: string;
  to: string;
}

export interface FlapInfo extends FlapInterval {
  deaths: number;
  causes: Record<string, number>;
  /** The nearest deploy or rollback to the flap's start. */
  deploy: { kind: 'deploy' | 'rollback'; name: string; to: string; offset: number } | null;
}

export interface Stats {
  min: number;
  median: number;
  p90: number;
  max: number;
}

export interface ServiceReport {
  name: string;
  host: string;
  starts: number;
  deaths: number;
  stops: number;
  causes: Record<string, number>;
  flapping: boolean;
  flaps: FlapInfo[];
  uptime: Stats | null;
  /** Seconds of up time per failure; null without failures. */
  mtbf: number | null;
  /** Seconds spent waiting in backoff before restarts. */
  backoff: number;
  /** Up time / (up time + time down while wanted up); null when never observed. */
  availability: number | null;
  /** Seconds observed in the window (from the service's first sign of life). */
  observed: number;
  upSeconds: number;
  /** Seconds down while wanted up (the unavailability). */
  downSeconds: number;
  restarts: { total: number; window: number; max: number; buckets: { start: number; count: number }[] };
  deploys: DeployInfo[];
  exits: ExitInfo[];
  /** Up spans [start, end] in the window, for the timeline. */
  spans: [number, number][];
}

export interface ReportModel {
  since: number | null;
  until: number;
  /** Earliest time shown (since, or the first event seen). */
  from: number;
  burst: BurstRule;
  weighted: WeightedRule;
  restartWindow: number;
  counts: LineCounts;
  files: number;
  flapping: boolean;
  services: ServiceReport[];
}

interface State {
  name: string;
  host: string;
  up: boolean;
  upSince: number;
  wantedDown: boolean;
  segStart: number; // start of the current state segment
  firstSeen: number | null;
  starts: number;
  upUs: number;
  downUs: number;
  backoffUs: number;
  pendingBackoff: { at: number; delay: number } | null;
  restarts: Map<number, number>;
  exits: ExitInfo[];
  deploys: DeployInfo[];
  spans: [number, number][];
  happenings: Happening[];
  seenExit: boolean;
}

export class Analyzer {
  private readonly svc = new Map<string, State>();
  private readonly since: number;
  private readonly until: number;
  private readonly lookback: number;
  private readonly only: Set<string> | null;
  private first = Infinity;

  constructor(private readonly opts: AnalyzerOptions) {
    this.since = opts.since ?? -Infinity;
    this.until = opts.until;
    // Failures this long before `since` still feed the flap rules, so a flap already under way is found.
    this.lookback = 2 * Math.max(opts.burst.within, opts.burst.quiet, WEIGHTED_WINDOWS * opts.weighted.window) * US;
    this.only = opts.services.length > 0 ? new Set(opts.services) : null;
  }

  /** Whether records of this service are wanted (the reader may ask before parsing further). */
  wants(service: string): boolean {
    return this.only === null || this.only.has(service);
  }

  add(r: JournalRecord): void {
    if (r.t > this.until) return;
    if (r.event === 'supervisor-stop') {
      // The tree was stopped: every service of that host is down as asked, and any flap ends.
      for (const s of this.svc.values()) if (s.host === r.host) this.stopped(s, r.t);
      return;
    }
    if (!this.wants(r.service)) return;
    if (r.event !== 'start' && r.event !== 'exit' && r.event !== 'backoff' && r.event !== 'deploy' && r.event !== 'rollback' && r.event !== 'remove') return;
    const key = `${r.host}\u0000${r.service}`;
    const t = r.t;
    let s = this.svc.get(key);
    if (!s) {
      // A service first seen by its exit was up for `uptime` before it.
      const born = r.event === 'exit' ? t - Math.round(r.uptime * US) : t;
      s = {
        name: r.service, host: r.host, up: false, upSince: 0, wantedDown: false, segStart: born, firstSeen: null,
        starts: 0, upUs: 0, downUs: 0, backoffUs: 0, pendingBackoff: null, restarts: new Map(), exits: [],
        deploys: [], spans: [], happenings: [], seenExit: false,
      };
      this.svc.set(key, s);
    }
    const inWin = t >= this.since;
    if (inWin && s.firstSeen === null) {
      s.firstSeen = Math.max(this.since, s.segStart);
      this.first = Math.min(this.first, s.firstSeen);
    }
    if (t >= this.since - this.lookback) this.prune(s, t);
    switch (r.event) {
      case 'start': {
        this.closeSegment(s, t);
        this.settleBackoff(s, t);
        if (inWin) {
          s.starts++;
          const k = Math.floor(t / (this.opts.restartWindow * US));
          if (s.seenExit) s.restarts.set(k, (s.restarts.get(k) ?? 0) + 1);
        }
        if (t >= this.since - this.lookback) s.happenings.push({ kind: 'start', at: t });
        s.up = true;
        s.upSince = t;
        s.wantedDown = false;
        break;
      }
      case 'exit': {
        if (!s.up) {
          // No start seen (the journal begins mid-run, or a line was lost): the run began `uptime` ago.
          const began = Math.max(s.segStart, t - Math.round(r.uptime * US));
          this.closeSegment(s, began);
          s.up = true;
          s.upSince = began;
        }
        this.closeSegment(s, t);
        s.up = false;
        s.seenExit = true;
        const failure = !r.operator && !(r.wanted === 'once' && r.code === 0 && r.signal === null);
        s.wantedDown = r.wanted !== 'up';
        if (inWin) {
          s.exits.push({
            at: t, pid: r.pid, cause: causeOf(r), code: r.code, signal: r.signal, uptime: r.uptime,
            operator: r.operator, failure, next: r.wanted, context: [], contextKind: 'none',
          });
        }
        if (t >= this.since - this.lookback) {
          if (failure) s.happenings.push({ kind: 'failure', at: t });
          else if (r.operator && r.wanted !== 'up') s.happenings.push({ kind: 'stopped', at: t });
        }
        break;
      }
      case 'remove':
        // Left the tree: from now on it is neither up nor missed.
        this.stopped(s, t);
        break;
      case 'backoff':
        this.settleBackoff(s, t);
        s.pendingBackoff = { at: t, delay: r.delay };
        break;
      case 'deploy':
      case 'rollback':
        s.deploys.push({ at: t, kind: r.event, from: r.from, to: r.to });
        break;
    }
  }

  /** The service was taken down on purpose (removed, or its tree stopped). */
  private stopped(s: State, t: number): void {
    this.closeSegment(s, t);
    this.settleBackoff(s, t);
    s.up = false;
    s.wantedDown = true;
    if (t >= this.since - this.lookback) s.happenings.push({ kind: 'stopped', at: t });
  }

  /** Drops happenings that can no longer matter for the flap rules (keeps memory bounded before `since`). */
  private prune(s: State, t: number): void {
    if (t >= this.since) return;
    const keepFrom = t - this.lookback;
    let i = 0;
    while (i < s.happenings.length && s.happenings[i]!.at < keepFrom) i++;
    if (i > 0) s.happenings.splice(0, i);
  }

  /** Ends the current state segment at `t`, adding its overlap with the window to the totals. */
  private closeSegment(s: State, t: number): void {
    const a = Math.max(s.segStart, this.since);
    const b = Math.min(t, this.until);
    if (b > a) {
      if (s.up) {
        s.upUs += b - a;
        s.spans.push([a, b]);
      } else if (!s.wantedDown) s.downUs += b - a;
    } else if (s.up && b === a && t >= this.since) s.spans.push([a, a]);
    s.segStart = t;
  }

  private settleBackoff(s: State, t: number): void {
    const p = s.pendingBackoff;
    if (!p) return;
    const a = Math.max(p.at, this.since);
    const b = Math.min(p.at + p.delay * US, t, this.until);
    if (b > a) s.backoffUs += b - a;
    s.pendingBackoff = null;
  }

  /** The report. `counts` and `files` describe the input. */
  finish(counts: LineCounts, files: number): ReportModel {
    const services: ServiceReport[] = [];
    for (const s of this.svc.values()) {
      if (s.firstSeen === null) {
        // Only seen before the window: it was observed from `since` on, in the state it was left in.
        if (this.since === -Infinity) continue;
        s.firstSeen = this.since;
        this.first = Math.min(this.first, this.since);
      }
      this.closeSegment(s, this.until);
      this.settleBackoff(s, this.until);
      services.push(this.serviceReport(s));
    }
    services.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      since: this.opts.since,
      until: this.until,
      from: this.opts.since ?? (this.first === Infinity ? this.until : this.first),
      burst: this.opts.burst,
      weighted: this.opts.weighted,
      restartWindow: this.opts.restartWindow,
      counts,
      files,
      flapping: services.some((s) => s.flapping),
      services,
    };
  }

  private serviceReport(s: State): ServiceReport {
    const failures = s.exits.filter((e) => e.failure);
    const causes: Record<string, number> = {};
    for (const e of failures) causes[e.cause] = (causes[e.cause] ?? 0) + 1;
    const failTimes = s.happenings.filter((h) => h.kind === 'failure').map((h) => h.at);
    const raw = [
      ...burstFlaps(s.happenings, this.opts.burst, this.until),
      ...weightedFlaps(failTimes, this.opts.weighted, this.until),
    ].filter((f) => f.end >= this.since);
    raw.sort((a, b) => a.start - b.start || (a.rule < b.rule ? -1 : 1));
    const flaps = raw.map((f) => this.flapInfo(f, failures, s.deploys));
    const ups = s.exits.map((e) => e.uptime).sort((a, b) => a - b);
    const observed = (this.until - Math.max(s.firstSeen!, this.since)) / US;
    const buckets = [...s.restarts.entries()].sort((a, b) => a[0] - b[0]).map(([k, count]) => ({ start: k * this.opts.restartWindow * US, count }));
    return {
      name: s.name,
      host: s.host,
      starts: s.starts,
      deaths: failures.length,
      stops: s.exits.length - failures.length,
      causes,
      flapping: flaps.length > 0,
      flaps,
      uptime: ups.length ? { min: ups[0]!, median: rank(ups, 0.5), p90: rank(ups, 0.9), max: ups[ups.length - 1]! } : null,
      mtbf: failures.length ? s.upUs / US / failures.length : null,
      backoff: s.backoffUs / US,
      availability: s.upUs + s.downUs > 0 ? s.upUs / (s.upUs + s.downUs) : null,
      observed,
      upSeconds: s.upUs / US,
      downSeconds: s.downUs / US,
      restarts: {
        total: buckets.reduce((n, b) => n + b.count, 0),
        window: this.opts.restartWindow,
        max: buckets.reduce((n, b) => Math.max(n, b.count), 0),
        buckets,
      },
      deploys: s.deploys.filter((d) => d.at >= this.since),
      exits: s.exits,
      spans: s.spans,
    };
  }

  private flapInfo(f: FlapInterval, failures: ExitInfo[], deploys: DeployInfo[]): FlapInfo {
    const inside = failures.filter((e) => e.at >= f.start && e.at <= f.end);
    const causes: Record<string, number> = {};
    for (const e of inside) causes[e.cause] = (causes[e.cause] ?? 0) + 1;
    let best: DeployInfo | null = null;
    for (const d of deploys) if (!best || Math.abs(d.at - f.start) < Math.abs(best.at - f.start)) best = d;
    return {
      ...f,
      deaths: inside.length,
      causes,
      deploy: best ? { kind: best.kind, name: baseName(best.to), to: best.to, offset: (f.start - best.at) / US } : null,
    };
  }
}

/** Nearest-rank percentile of a sorted array. */
export function rank(sorted: readonly number[], p: number): number {
  const i = Math.max(0, Math.ceil(p * sorted.length) - 1);
  return sorted[Math.min(i, sorted.length - 1)]!;
}

function baseName(p: string): string {
  const t = p.replace(/\/+$/, '');
  return t.slice(t.lastIndexOf('/') + 1) || p;
}

export type { RuleName };
