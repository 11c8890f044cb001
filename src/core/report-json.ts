// The report as JSON: a stable, documented schema (docs/readme/report.md, man/upkeep-report.8). Fields are
// only ever added. Times are RFC 3339 UTC strings with microseconds; durations are seconds.
import type { ReportModel, ServiceReport, FlapInfo, ExitInfo } from './report.js';
import { WEIGHTED_WINDOWS } from './flap.js';
import { formatRfc3339Micros as ts } from './timespec.js';

export const REPORT_SCHEMA = 1;

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export function reportJson(m: ReportModel): string {
  return [...reportJsonChunks(m)].join('');
}

/**
 * The same text in pieces (the head, then one service at a time), so that a report with hundreds of
 * thousands of exits is written without building it all in memory at once.
 */
export function* reportJsonChunks(m: ReportModel): Generator<string> {
  const head = {
    schema: REPORT_SCHEMA,
    window: { since: m.since === null ? null : ts(m.since), until: ts(m.until), from: ts(m.from) },
    rules: {
      burst: { ...m.burst },
      weighted: { ...m.weighted, windows: WEIGHTED_WINDOWS },
    },
    input: { files: m.files, ...m.counts },
    flapping: m.flapping,
    services: [] as unknown[],
  };
  const text = JSON.stringify(head, null, 2);
  if (m.services.length === 0) {
    yield text + '\n';
    return;
  }
  yield text.slice(0, text.lastIndexOf('[]')) + '[\n';
  for (let i = 0; i < m.services.length; i++) {
    const one = JSON.stringify(service(m.services[i]!), null, 2).replace(/^/gm, '    ');
    yield one + (i < m.services.length - 1 ? ',\n' : '\n');
  }
  yield '  ]\n}\n';
}

function service(s: ServiceReport): unknown {
  return {
    name: s.name,
    host: s.host,
    starts: s.starts,
    deaths: s.deaths,
    stops: s.stops,
    causes: s.causes,
    flapping: s.flapping,
    flaps: s.flaps.map(flap),
    uptime: s.uptime && { min: r3(s.uptime.min), median: r3(s.uptime.median), p90: r3(s.uptime.p90), max: r3(s.uptime.max) },
    mtbf: s.mtbf === null ? null : r3(s.mtbf),
    backoff: r3(s.backoff),
    availability: s.availability === null ? null : r6(s.availability),
    observed: r3(s.observed),
    up: r3(s.upSeconds),
    down: r3(s.downSeconds),
    restarts: { ...s.restarts, buckets: s.restarts.buckets.map((b) => ({ start: ts(b.start), count: b.count })) },
    deploys: s.deploys.map((d) => ({ at: ts(d.at), kind: d.kind, from: d.from, to: d.to })),
    exits: s.exits.map(exit),
  };
}

function flap(f: FlapInfo): unknown {
  return {
    start: ts(f.start),
    end: ts(f.end),
    ongoing: f.ongoing,
    detected: ts(f.detected),
    rule: f.rule,
    deaths: f.deaths,
    causes: f.causes,
    deploy: f.deploy && { ...f.deploy, offset: r3(f.deploy.offset) },
  };
}

function exit(e: ExitInfo): unknown {
  return {
    at: ts(e.at),
    pid: e.pid,
    cause: e.cause,
    uptime: e.uptime,
    operator: e.operator,
    failure: e.failure,
    context: e.context,
    contextKind: e.contextKind,
  };
}
