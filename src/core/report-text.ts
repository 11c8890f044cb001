// The report as text: a summary table, then the details of each service. Colours (ANSI) only when the
// caller says so (a terminal, and NO_COLOR unset).
import type { ReportModel, FlapInfo } from './report.js';
import { formatDuration as dur } from './timespec.js';

export interface TextOptions {
  colour: boolean;
  /** UNIX microseconds -> `YYYY-MM-DD HH:MM:SS` (local or UTC, chosen by the caller). */
  time(us: number): string;
  /** Label of the zone, e.g. `local` or `UTC`. */
  zone: string;
}

const US = 1e6;
/** Deaths listed per service in the text report (JSON and HTML list them all). */
const SHOWN = 20;

export function reportText(m: ReportModel, o: TextOptions): string {
  const c = (code: string) => (s: string) => (o.colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const bold = c('1'), red = c('31'), yellow = c('33'), dim = c('2'), green = c('32');
  const out: string[] = [];
  const nflap = m.services.filter((s) => s.flapping).length;
  out.push(bold(`upkeep report: ${o.time(m.from)} .. ${o.time(m.until)} (${o.zone})`));
  out.push(`${m.services.length} service${m.services.length === 1 ? '' : 's'}, ${nflap ? red(`${nflap} flapping`) : green('none flapping')}`);
  const k = m.counts;
  const bad = k.truncated + k.corrupt + k.unknown;
  out.push(
    `input: ${m.files} file${m.files === 1 ? '' : 's'}, ${k.lines} lines, ${k.events} events used, ${k.skipped} skipped` +
      (bad ? yellow(`, ${k.truncated} truncated, ${k.corrupt} corrupt, ${k.unknown} unknown`) : ', no bad lines'),
  );
  out.push('');
  const multiHost = new Set(m.services.map((s) => s.host)).size > 1;
  const head = [...(multiHost ? ['HOST'] : []), 'SERVICE', 'STARTS', 'DEATHS', 'FLAPS', 'AVAIL', 'UPTIME p50', 'MTBF', 'CAUSES'];
  const rows = m.services.map((s) => [
    ...(multiHost ? [s.host] : []),
    s.name,
    String(s.starts),
    String(s.deaths),
    s.flaps.length ? String(s.flaps.length) : '-',
    s.availability === null ? '-' : `${(s.availability * 100).toFixed(2)}%`,
    s.uptime ? dur(s.uptime.median) : '-',
    s.mtbf === null ? '-' : dur(s.mtbf),
    causes(s.causes) || '-',
  ]);
  if (rows.length === 0) out.push('(no service events in the window)');
  else {
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(w[i]!))).join('  ');
    out.push(bold(fmt(head)));
    m.services.forEach((s, i) => out.push(s.flapping ? red(fmt(rows[i]!)) : fmt(rows[i]!)));
  }
  for (const s of m.services) {
    out.push('');
    out.push(bold(`${s.name}${multiHost || s.host !== '-' ? ` on ${s.host}` : ''}`) + (s.flapping ? ' ' + red('FLAPPING') : ''));
    for (const f of s.flaps) out.push('  ' + red('flapping') + ' ' + flapLine(f, o));
    out.push(
      `  starts ${s.starts}, deaths ${s.deaths}${s.deaths ? ` (${causes(s.causes)})` : ''}, ${s.stops} stop${s.stops === 1 ? "" : "s"} (not failures)`,
    );
    if (s.uptime) {
      out.push(`  uptime min ${dur(s.uptime.min)}, median ${dur(s.uptime.median)}, p90 ${dur(s.uptime.p90)}, max ${dur(s.uptime.max)}`);
    }
    out.push(
      `  mtbf ${s.mtbf === null ? '-' : dur(s.mtbf)}, backoff ${dur(s.backoff)}, availability ${
        s.availability === null ? '-' : `${(s.availability * 100).toFixed(3)}%`
      } (up ${dur(s.upSeconds)}, down ${dur(s.downSeconds)} while wanted up)`,
    );
    out.push(`  restarts ${s.restarts.total}${s.restarts.total ? `, at most ${s.restarts.max} per ${dur(s.restarts.window)}` : ''}`);
    for (const d of s.deploys) out.push(`  ${d.kind} at ${o.time(d.at)}: ${d.from} -> ${d.to}`);
    const fails = s.exits.filter((e) => e.failure);
    if (fails.length) out.push(fails.length > SHOWN ? `  deaths (the last ${SHOWN}; --format json lists all ${fails.length}):` : '  deaths:');
    for (const e of fails.slice(-SHOWN)) {
      out.push(`    ${o.time(e.at)}  ${yellow(e.cause)}  pid ${e.pid} after ${dur(e.uptime)}${e.contextKind === 'approximate' ? dim('  (context by time: approximate)') : ''}`);
      for (const l of e.context) out.push(dim(`      | ${l}`));
    }
  }
  out.push('');
  out.push(
    dim(
      `rules: burst = ${m.burst.deaths} deaths within ${m.burst.within}s, ends after ${m.burst.quiet}s up; ` +
        `weighted = Icinga 2 state change over 20 windows of ${m.weighted.window}s, > ${m.weighted.high}% starts, <= ${m.weighted.low}% ends`,
    ),
  );
  return out.join('\n') + '\n';
}

function flapLine(f: FlapInfo, o: TextOptions): string {
  const len = (f.end - f.start) / US;
  let s = `${o.time(f.start)} .. ${f.ongoing ? 'now (ongoing at ' + o.time(f.end) + ')' : o.time(f.end)} (${dur(len)}), ${f.rule} rule: ${f.deaths} deaths (${causes(f.causes)})`;
  if (f.deploy) {
    const off = f.deploy.offset;
    s += `; began ${dur(Math.abs(off))} ${off >= 0 ? 'after' : 'before'} ${f.deploy.kind} of ${f.deploy.name}`;
  }
  return s;
}

function causes(c: Record<string, number>): string {
  return Object.entries(c)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${k} x${n}`)
    .join(', ');
}
