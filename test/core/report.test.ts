import { describe, expect, it } from 'vitest';
import { Analyzer, DEFAULT_ANALYZER, rank } from '../../src/core/report.js';
import { newCounts, type JournalEvent, type JournalRecord } from '../../src/core/journal.js';
import { reportJson } from '../../src/core/report-json.js';
import { reportText } from '../../src/core/report-text.js';
import { reportHtml } from '../../src/core/report-html.js';
import { ContextCollector, formatExitNote, parseExitNote, splitLabel } from '../../src/core/report-context.js';
import { formatRfc3339Micros, formatUtc } from '../../src/core/timespec.js';

const S = 1e6;
const T0 = 1_795_341_600 * S;
const rec = (off: number, e: JournalEvent, host = 'h'): JournalRecord =>
  ({ ...e, v: 1, level: 30, time: formatRfc3339Micros(T0 + off * S), tai64n: '@', host, msg: '', t: T0 + off * S }) as JournalRecord;
const start = (off: number, service: string, pid = 1) => rec(off, { event: 'start', service, pid, target: '/x' });
const exit = (off: number, service: string, o: Partial<{ code: number | null; signal: string | null; uptime: number; operator: boolean; wanted: 'up' | 'down' | 'once'; pid: number }> = {}) =>
  rec(off, { event: 'exit', service, pid: o.pid ?? 1, code: o.code ?? null, signal: o.signal ?? null, uptime: o.uptime ?? 1, operator: o.operator ?? false, wanted: o.wanted ?? 'up' });

function analyze(recs: JournalRecord[], opts: Partial<typeof DEFAULT_ANALYZER> = {}, until = 1000) {
  const a = new Analyzer({ ...DEFAULT_ANALYZER, ...opts, until: T0 + until * S });
  for (const r of recs) a.add(r);
  return a.finish(newCounts(), 1);
}

describe('Analyzer', () => {
  it('counts starts, deaths by cause, stops, uptime and availability', () => {
    const m = analyze([
      start(0, 'a'), exit(100, 'a', { code: 3, uptime: 100 }), start(110, 'a'),
      exit(200, 'a', { signal: 'SIGSEGV', uptime: 90 }), start(200, 'a'),
      exit(500, 'a', { signal: 'SIGTERM', uptime: 300, operator: true, wanted: 'down' }), start(900, 'a'),
    ]);
    const a = m.services[0]!;
    expect(a).toMatchObject({ name: 'a', host: 'h', starts: 4, deaths: 2, stops: 1, causes: { 'exit:3': 1, 'signal:SIGSEGV': 1 }, flapping: false });
    expect(a.uptime).toEqual({ min: 90, median: 100, p90: 300, max: 300 });
    // up 100 + 90 + 300 + 100 = 590; down while wanted up: 10 (100..110); 500..900 was wanted down.
    expect(a.upSeconds).toBe(590);
    expect(a.availability).toBeCloseTo(590 / 600, 12);
    expect(a.mtbf).toBe(295);
    expect(a.restarts.total).toBe(3);
    expect(a.spans.map(([x, y]) => [(x - T0) / S, (y - T0) / S])).toEqual([[0, 100], [110, 200], [200, 500], [900, 1000]]);
  });
  it('reconstructs a run whose start is not in the journal from the exit uptime', () => {
    const m = analyze([exit(50, 'b', { code: 1, uptime: 30 })], {}, 100);
    expect(m.services[0]!.spans.map(([x, y]) => [(x - T0) / S, (y - T0) / S])).toEqual([[20, 50]]);
    expect(m.services[0]!.availability).toBeCloseTo(30 / 80, 12);
  });
  it('does not count a once service finishing with 0, nor operator restarts', () => {
    const m = analyze([start(0, 'c'), exit(5, 'c', { code: 0, wanted: 'once' }), start(0, 'd'), exit(5, 'd', { signal: 'SIGTERM', operator: true }), start(5, 'd')]);
    expect(m.services.map((s) => [s.name, s.deaths, s.stops])).toEqual([['c', 0, 1], ['d', 0, 1]]);
    expect(m.flapping).toBe(false);
  });
  it('applies --since/--until and --service, and keeps state from before the window', () => {
    const recs = [start(0, 'a'), start(0, 'b'), exit(100, 'a', { code: 1, uptime: 100 }), start(101, 'a'), exit(600, 'a', { code: 2, uptime: 499 }), start(601, 'a'), exit(1500, 'a', { code: 9 })];
    const m = analyze(recs, { since: T0 + 500 * S, services: ['a'] }, 1000);
    expect(m.services.map((s) => s.name)).toEqual(['a']);
    const a = m.services[0]!;
    expect(a.deaths).toBe(1);
    expect(a.causes).toEqual({ 'exit:2': 1 });
    expect(a.upSeconds).toBe(100 + 399);
    expect(a.observed).toBe(500);
  });
  it('stops counting a service removed from the tree', () => {
    const m = analyze([start(0, 'a'), exit(100, 'a', { signal: 'SIGTERM', operator: true, uptime: 100 }), rec(100, { event: 'remove', service: 'a', target: '/x' })]);
    expect(m.services[0]!.availability).toBe(1);
    expect(m.services[0]!.upSeconds).toBe(100);
  });
  it('ends flaps and down time when the tree is stopped (supervisor-stop)', () => {
    const recs = [start(0, 'c')];
    for (let k = 0; k < 5; k++) recs.push(exit(10 + k, 'c', { code: 1 }), start(10.5 + k, 'c'));
    recs.push(exit(16, 'c', { code: 1 }), rec(17, { event: 'supervisor-stop', service: '-', pid: 1, reason: 'SIGTERM' }));
    const m = analyze(recs, {}, 1000);
    const c = m.services[0]!;
    expect(c.flaps.map((f) => [f.rule, (f.end - T0) / S, f.ongoing])).toEqual([['burst', 17, false]]);
    // up 0..10, four half-second runs, 14.5..16; down while wanted up 5 x 0.5 s and 16..17; nothing after.
    expect(c.upSeconds).toBeCloseTo(10 + 4 * 0.5 + 1.5, 9);
    expect(c.availability).toBeCloseTo(13.5 / 17, 9);
  });
  it('groups by host and service', () => {
    const m = analyze([start(0, 'a', 1), rec(0, { event: 'start', service: 'a', pid: 2, target: '/' }, 'g'), exit(5, 'a')]);
    expect(m.services.map((s) => `${s.host}/${s.name}`)).toEqual(['g/a', 'h/a']);
  });
  it('finds a burst flap with its deaths, causes and nearest deploy', () => {
    const recs = [start(0, 'w'), rec(40, { event: 'deploy', service: 'w', from: '/r/v1', to: '/r/myapp-v2/' })];
    for (let k = 0; k < 6; k++) recs.push(exit(52 + 2 * k, 'w', { signal: k % 2 ? 'SIGSEGV' : 'SIGABRT' }), start(53 + 2 * k, 'w'));
    const m = analyze(recs);
    const f = m.services[0]!.flaps;
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ rule: 'burst', deaths: 6, causes: { 'signal:SIGABRT': 3, 'signal:SIGSEGV': 3 }, deploy: { kind: 'deploy', name: 'myapp-v2', offset: 12 } });
    expect((f[0]!.end - T0) / S).toBe(63 + 300);
    expect(m.flapping).toBe(true);
  });
  it('tallies backoff time, cut short by an earlier start', () => {
    const m = analyze([start(0, 'a'), exit(10, 'a'), rec(10, { event: 'backoff', service: 'a', delay: 8, deaths: 3 }), start(15, 'a')]);
    expect(m.services[0]!.backoff).toBe(5);
  });
  it('nearest-rank percentiles', () => {
    expect(rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBe(5);
    expect(rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(rank([7], 0.9)).toBe(7);
  });
});

describe('crash context', () => {
  it('parses and formats the exit note', () => {
    const n = { pid: 1234, code: null, signal: 'SIGSEGV', uptime: 3.204, next: 'restart' };
    expect(formatExitNote(n)).toBe('upkeep: exit pid=1234 code=- signal=SIGSEGV uptime=3.204 next=restart');
    expect(parseExitNote(formatExitNote(n))).toEqual(n);
    expect(parseExitNote('upkeep: exit pid=7 code=1 signal=- uptime=0.010 next=backoff:4')).toEqual({ pid: 7, code: 1, signal: null, uptime: 0.01, next: 'backoff:4' });
    expect(parseExitNote('upkeep: exit pid=7')).toBeNull();
  });
  it('splits a daemontools TAI64N label', () => {
    expect(splitLabel('@400000006b02c12e10a72d0c hello')).toEqual({ t: 1795342628 * S + 279391, text: 'hello' });
    expect(splitLabel('hello')).toEqual({ t: null, text: 'hello' });
    expect(splitLabel('@400000006b02c12e10a72d0cX hello').t).toBeNull();
  });
  const exitInfo = (at: number, pid: number) => ({ at, pid, cause: 'exit:1', code: 1, signal: null, uptime: 1, operator: false, failure: true, next: 'up', context: [] as string[], contextKind: 'none' as const });
  it('takes the lines before the exit note, exactly', () => {
    const e = [exitInfo(T0 + 10 * S, 5), exitInfo(T0 + 20 * S, 6)];
    const c = new ContextCollector(e, 2);
    for (const l of ['a', 'b', 'c', formatExitNote({ pid: 5, code: 1, signal: null, uptime: 1, next: 'restart' }), 'd', formatExitNote({ pid: 6, code: 1, signal: null, uptime: 1, next: 'restart' })]) c.line(l);
    c.finish();
    expect(e.map((x) => [x.contextKind, x.context])).toEqual([['exact', ['b', 'c']], ['exact', ['d']]]);
  });
  it('matches by time when there is no note, and says so', () => {
    const lab = (s: number) => `@${(0x400000000000000an + BigInt(T0 / S + s)).toString(16)}000001f4`;
    const e = [exitInfo(T0 + 10 * S, 5), exitInfo(T0 + 99 * S, 6)];
    const c = new ContextCollector(e, 3);
    for (const [s, t] of [[1, 'a'], [5, 'b'], [10, 'c'], [11, 'after']] as const) c.line(`${lab(s)} ${t}`);
    c.finish();
    expect(e.map((x) => [x.contextKind, x.context])).toEqual([['approximate', ['a', 'b', 'c']], ['approximate', ['b', 'c', 'after']]]);
  });
});

describe('renderers', () => {
  const recs = [start(0, 'w')];
  for (let k = 0; k < 5; k++) recs.push(exit(10 + k, 'w', { signal: 'SIGSEGV', pid: 10 + k }), start(10.5 + k, 'w'));
  recs.push(start(0, 'ok'), exit(500, 'ok', { code: 0, operator: true, wanted: 'down' }));
  const m = analyze(recs);
  m.services.find((s) => s.name === 'w')!.exits[0]!.context = ['<script>alert(1)</script>'];
  it('json has the documented schema', () => {
    const j = JSON.parse(reportJson(m));
    expect(Object.keys(j)).toEqual(['schema', 'window', 'rules', 'input', 'flapping', 'services']);
    const w = j.services.find((s: { name: string }) => s.name === 'w');
    expect(Object.keys(w)).toEqual(expect.arrayContaining(['name', 'host', 'starts', 'deaths', 'causes', 'flapping', 'flaps', 'uptime', 'availability', 'exits']));
    expect(w.flaps[0]).toMatchObject({ start: '2026-11-22T10:00:10.000000Z', rule: 'burst', deaths: 5 });
    expect(w.exits[0]).toEqual({ at: '2026-11-22T10:00:10.000000Z', pid: 10, cause: 'signal:SIGSEGV', uptime: 1, operator: false, failure: true, context: ['<script>alert(1)</script>'], contextKind: 'none' });
    expect(w.uptime).toEqual({ min: 1, median: 1, p90: 1, max: 1 });
  });
  it('text: a table then details, colour only when asked', () => {
    const plain = reportText(m, { colour: false, time: (us) => formatUtc(us), zone: 'UTC' });
    expect(plain).not.toContain('\x1b[');
    expect(plain).toMatch(/^SERVICE\s+STARTS\s+DEATHS/m);
    expect(plain).toMatch(/^w\s+6\s+5\s+1\s/m);
    expect(plain).toContain('flapping 2026-11-22 10:00:10 .. ');
    expect(reportText(m, { colour: true, time: (us) => formatUtc(us), zone: 'UTC' })).toContain('\x1b[31m');
  });
  it('html: one timeline per service, one mark per death, escaped text', () => {
    const h = reportHtml(m, { time: (us) => formatUtc(us), zone: 'UTC' });
    expect(h.match(/<g class="timeline"/g)).toHaveLength(2);
    expect(h.match(/<circle class="death"/g)).toHaveLength(5);
    expect(h).not.toContain('<script>');
  });
});
