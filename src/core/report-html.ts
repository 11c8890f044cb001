// The report as one self-contained HTML file: a summary table and one SVG timeline per service
// (up spans, deaths coloured by cause, flapping intervals shaded, deploys marked), then the details.
// No script, no external resource: it can be mailed or archived as is.
import type { ReportModel, ServiceReport } from './report.js';
import { formatDuration as dur } from './timespec.js';

export interface HtmlOptions {
  time(us: number): string;
  zone: string;
}

const US = 1e6;
const W = 1100; // timeline width in SVG units
const LABEL = 170; // left column for the service name
const ROW = 34;

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const SIGNAL_COLOURS = ['#d62728', '#8e0000', '#e377c2', '#9467bd', '#c51b7d'];
const EXIT_COLOURS = ['#ff7f0e', '#bcbd22', '#8c564b', '#17becf', '#e6ab02'];

/**
 * Colours of the causes seen: signals in reds and purples, non-zero exits in oranges and browns, exit 0 blue;
 * each cause its own colour (they repeat only past five of a kind).
 */
export function causeColours(causes: Iterable<string>): Map<string, string> {
  const m = new Map<string, string>();
  let sig = 0;
  let ex = 0;
  for (const c of [...new Set(causes)].sort()) {
    if (c === 'exit:0') m.set(c, '#1f77b4');
    else if (c.startsWith('signal:')) m.set(c, SIGNAL_COLOURS[sig++ % SIGNAL_COLOURS.length]!);
    else m.set(c, EXIT_COLOURS[ex++ % EXIT_COLOURS.length]!);
  }
  return m;
}

const TICKS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400];

export function reportHtml(m: ReportModel, o: HtmlOptions): string {
  const from = m.from;
  const span = Math.max(m.until - from, US);
  const x = (t: number): number => LABEL + ((Math.min(Math.max(t, from), m.until) - from) / span) * (W - LABEL - 10);
  const tick = TICKS.find((t) => (span / US) / t <= 10) ?? TICKS[TICKS.length - 1]!;
  const ticks: string[] = [];
  const firstTick = Math.ceil(from / (tick * US)) * tick * US;
  for (let t = firstTick; t <= m.until - (span * 40) / (W - LABEL); t += tick * US) {
    ticks.push(`<line x1="${x(t).toFixed(1)}" y1="0" x2="${x(t).toFixed(1)}" y2="100%" class="grid"/><text x="${x(t).toFixed(1)}" y="12" class="tick">${esc(o.time(t).slice(5, 16))}</text>`);
  }
  const colours = causeColours(m.services.flatMap((s) => s.exits.filter((e) => e.failure).map((e) => e.cause)));
  const rows = m.services.map((s, i) => row(s, i, x, o, colours));
  const height = 22 + m.services.length * ROW + 6;
  const legend = [...colours].map(([c, col]) => `<span class="key"><i style="background:${col}"></i>${esc(c)}</span>`).join(' ');
  const summary = m.services
    .map(
      (s) =>
        `<tr class="${s.flapping ? 'flapping' : ''}"><td>${esc(s.host)}</td><td>${esc(s.name)}</td><td>${s.starts}</td><td>${s.deaths}</td><td>${s.flaps.length || '-'}</td><td>${
          s.availability === null ? '-' : (s.availability * 100).toFixed(2) + '%'
        }</td><td>${s.uptime ? dur(s.uptime.median) : '-'}</td><td>${s.mtbf === null ? '-' : dur(s.mtbf)}</td><td>${esc(causeText(s.causes))}</td></tr>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>upkeep report ${esc(o.time(from))} .. ${esc(o.time(m.until))}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:18px 0 4px}
.meta{color:#555;margin:0 0 10px}
table{border-collapse:collapse;margin:8px 0} td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}
tr.flapping td{color:#b00;font-weight:600}
svg{display:block;border:1px solid #ccc;background:#fafafa}
.grid{stroke:#e3e3e3} .tick{font-size:10px;fill:#777;text-anchor:middle}
.name{font-size:13px;fill:#222;dominant-baseline:middle} .name.flapping{fill:#b00;font-weight:700}
.lane{fill:#eee} .up{fill:#7bc47f} .flap{fill:#ff9800;fill-opacity:.28;stroke:#e65100;stroke-dasharray:3 2}
.deploy{stroke:#5e35b1;stroke-width:2;stroke-dasharray:4 2} .stop{fill:#999}
.legend{margin:6px 0;font-size:12px} .key{margin-right:12px} .key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:5px}
pre{background:#f4f4f4;padding:4px 8px;margin:2px 0 8px 20px;font-size:12px;white-space:pre-wrap}
.approx{color:#777;font-style:italic}
.count{font-size:11px;fill:#b34700;dominant-baseline:middle}
</style></head><body>
<h1>upkeep report</h1>
<p class="meta">${esc(o.time(from))} .. ${esc(o.time(m.until))} (${esc(o.zone)}) &middot; ${m.services.length} services &middot; ${
    m.flapping ? `<b style="color:#b00">${m.services.filter((s) => s.flapping).length} flapping</b>` : 'none flapping'
  } &middot; input ${m.counts.lines} lines, ${m.counts.truncated} truncated, ${m.counts.corrupt} corrupt, ${m.counts.unknown} unknown</p>
<table><tr><th>host</th><th>service</th><th>starts</th><th>deaths</th><th>flaps</th><th>availability</th><th>uptime p50</th><th>MTBF</th><th>causes</th></tr>
${summary}
</table>
<div class="legend"><span class="key"><i style="background:#7bc47f;border-radius:0"></i>up</span><span class="key"><i style="background:#ffcc80;border-radius:0"></i>flapping</span><span class="key"><i style="background:#5e35b1;border-radius:0;width:3px"></i>deploy / rollback</span><span class="key"><i style="background:#999"></i>operator stop</span>${legend}</div>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}">
${ticks.join('\n')}
${rows.join('\n')}
</svg>
${m.services.map((s) => details(s, o)).join('\n')}
<p class="meta">rules: burst = ${m.burst.deaths} deaths within ${m.burst.within}s, ends after ${m.burst.quiet}s up; weighted = Icinga 2 state change over 20 windows of ${m.weighted.window}s, &gt; ${m.weighted.high}% starts, &le; ${m.weighted.low}% ends</p>
</body></html>
`;
}

function row(s: ServiceReport, i: number, x: (t: number) => number, o: HtmlOptions, colours: Map<string, string>): string {
  const y = 22 + i * ROW;
  const mid = y + ROW / 2;
  const parts: string[] = [];
  parts.push(`<g class="timeline" data-service="${esc(s.name)}" data-host="${esc(s.host)}">`);
  parts.push(`<text x="6" y="${mid}" class="name${s.flapping ? ' flapping' : ''}">${esc(s.name.length > 22 ? s.name.slice(0, 21) + '…' : s.name)}</text>`);
  parts.push(`<rect class="lane" x="${LABEL}" y="${y + 8}" width="${W - LABEL - 10}" height="${ROW - 16}"/>`);
  for (const [a, b] of s.spans) {
    parts.push(`<rect class="up" x="${x(a).toFixed(2)}" y="${y + 8}" width="${Math.max(x(b) - x(a), 0.5).toFixed(2)}" height="${ROW - 16}"><title>up ${esc(o.time(a))} .. ${esc(o.time(b))}</title></rect>`);
  }
  for (const f of s.flaps) {
    parts.push(`<rect class="flap" data-rule="${f.rule}" x="${x(f.start).toFixed(2)}" y="${y + 2}" width="${Math.max(x(f.end) - x(f.start), 1).toFixed(2)}" height="${ROW - 4}"><title>flapping (${f.rule} rule) ${esc(o.time(f.start))} .. ${esc(o.time(f.end))}: ${f.deaths} deaths</title></rect>`);
  }
  if (s.flaps.length) {
    // Deaths of a crash loop pile up at this scale: one label per row says how many, and which rules fired.
    const same = s.flaps.every((f) => f.deaths === s.flaps[0]!.deaths);
    const label = same
      ? `${s.flaps[0]!.deaths} deaths (${[...new Set(s.flaps.map((f) => f.rule))].join(', ')})`
      : s.flaps.map((f) => `${f.rule} ${f.deaths}`).join(', ') + ' deaths';
    const right = Math.max(...s.flaps.map((f) => x(f.end)));
    const left = Math.min(...s.flaps.map((f) => x(f.start)));
    const room = label.length * 6.2 + 8;
    const at = right + room < W ? `x="${(right + 4).toFixed(2)}"` : left - room > LABEL ? `x="${(left - 4).toFixed(2)}" text-anchor="end"` : `x="${(left + 4).toFixed(2)}" dy="-11"`;
    parts.push(`<text class="count" ${at} y="${mid}">${esc(label)}</text>`);
  }
  for (const d of s.deploys) {
    parts.push(`<line class="deploy" data-kind="${d.kind}" x1="${x(d.at).toFixed(2)}" y1="${y + 1}" x2="${x(d.at).toFixed(2)}" y2="${y + ROW - 1}"><title>${d.kind} ${esc(d.from)} -&gt; ${esc(d.to)} at ${esc(o.time(d.at))}</title></line>`);
  }
  for (const e of s.exits) {
    if (e.failure) {
      parts.push(`<circle class="death" data-cause="${esc(e.cause)}" cx="${x(e.at).toFixed(2)}" cy="${mid}" r="4.5" fill="${colours.get(e.cause)}" stroke="#fff" stroke-width="1"><title>${esc(e.cause)} at ${esc(o.time(e.at))} after ${dur(e.uptime)}</title></circle>`);
    } else {
      parts.push(`<rect class="stop" x="${(x(e.at) - 3).toFixed(2)}" y="${mid - 3}" width="6" height="6"><title>operator stop at ${esc(o.time(e.at))}</title></rect>`);
    }
  }
  parts.push('</g>');
  return parts.join('');
}

function details(s: ServiceReport, o: HtmlOptions): string {
  const out: string[] = [`<h2>${esc(s.name)} on ${esc(s.host)}${s.flapping ? ' <span style="color:#b00">flapping</span>' : ''}</h2><ul>`];
  for (const f of s.flaps) {
    const dep = f.deploy ? `; began ${dur(Math.abs(f.deploy.offset))} ${f.deploy.offset >= 0 ? 'after' : 'before'} ${f.deploy.kind} of ${esc(f.deploy.name)}` : '';
    out.push(`<li>flapping ${esc(o.time(f.start))} .. ${esc(o.time(f.end))}${f.ongoing ? ' (ongoing)' : ''}, ${f.rule} rule: ${f.deaths} deaths (${esc(causeText(f.causes))})${dep}</li>`);
  }
  if (s.uptime) out.push(`<li>uptime min ${dur(s.uptime.min)}, median ${dur(s.uptime.median)}, p90 ${dur(s.uptime.p90)}, max ${dur(s.uptime.max)}; backoff ${dur(s.backoff)}</li>`);
  out.push('</ul>');
  // The last deaths' context only: a long crash loop would make the page unreadable (JSON has them all).
  for (const e of s.exits.filter((x) => x.failure && x.context.length).slice(-20)) {
    out.push(`<div>${esc(o.time(e.at))} ${esc(e.cause)} pid ${e.pid}${e.contextKind === 'approximate' ? ' <span class="approx">(context matched by time: approximate)</span>' : ''}</div><pre>${esc(e.context.join('\n'))}</pre>`);
  }
  return out.join('\n');
}

function causeText(c: Record<string, number>): string {
  return Object.entries(c).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} x${n}`).join(', ') || '-';
}
