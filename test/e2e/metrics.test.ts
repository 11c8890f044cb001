// `upkeep metrics` against a real `upkeep svscan` tree: a running service with a log/run logger, a crashing
// one in backoff with a log/script logger (which also uses the % directives: header and JSON lines), and
// one that is normally down. The output is checked with a Prometheus text-format parser written here.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { upkeep, waitFor } from '../helpers/index.js';
import { files, startScan, statusPid, tree } from './svscan-helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Text exposition format 0.0.4, strictly: HELP/TYPE before a family's samples, once each; valid names, labels, values. */
function parseProm(text: string): Sample[] {
  expect(text.endsWith('\n')).toBe(true);
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seen = new Set<string>();
  const out: Sample[] = [];
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) throw new Error(`bad comment: ${line}`);
      expect(m[2]).toMatch(NAME);
      if (m[1] === 'TYPE') {
        if (types.has(m[2]!)) throw new Error(`TYPE twice: ${m[2]}`);
        expect(['counter', 'gauge', 'untyped', 'histogram', 'summary']).toContain(m[3]);
        if (out.some((s) => s.name === m[2])) throw new Error(`TYPE after samples: ${m[2]}`);
        types.set(m[2]!, m[3]!);
      } else {
        if (helps.has(m[2]!)) throw new Error(`HELP twice: ${m[2]}`);
        helps.add(m[2]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad sample: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest !== '') {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!l) throw new Error(`bad labels: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    if (!/^([-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+)|NaN|[-+]Inf)$/.test(m[3]!)) throw new Error(`bad value: ${line}`);
    if (!types.has(m[1]!)) throw new Error(`sample before TYPE: ${line}`);
    if (types.get(m[1]!) === 'counter') expect(m[1]!.endsWith('_total')).toBe(true);
    const key = m[1] + JSON.stringify(labels);
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const get = (s: Sample[], name: string, service: string): Sample | undefined => s.find((x) => x.name === name && x.labels.service === service);

describe('upkeep metrics', () => {
  it('reports up/down, restarts, last exit, backoff and logger state of a real svscan tree', async () => {
    const dir = tree();
    files(dir, {
      'good/run': '#!/bin/sh\necho hello\nexec sleep 1000\n',
      'good/log/run': '#!/bin/sh\nexec multilog t ./main\n',
      'crash/run': '#!/bin/sh\necho boom\nexit 3\n',
      'crash/log/script': 't\n%header\n%json\n./main\n',
      'off/run': '#!/bin/sh\nexec sleep 1000\n',
      'off/down': '',
    });
    const s = startScan(dir);
    await waitFor(() => statusPid(join(dir, 'good')) && statusPid(join(dir, 'good/log')), 'good and its logger up');
    const stats = (): { restarts: number; backoff: unknown } | null => {
      try {
        return JSON.parse(readFileSync(join(dir, 'crash/supervise/upkeep.json'), 'utf8'));
      } catch {
        return null;
      }
    };
    await waitFor(() => (stats()?.restarts ?? 0) >= 1 && stats()!.backoff !== null, 'crash restarted and backing off');
    await waitFor(() => existsSync(join(dir, 'off/supervise/status')), 'off supervised');
    const r = await upkeep(['metrics', dir]);
    expect(r.stderr.toString()).toBe('');
    expect(r.code).toBe(0);
    const m = parseProm(r.stdout.toString());
    expect(get(m, 'upkeep_service_up', 'good')!.value).toBe(1);
    expect(get(m, 'upkeep_service_supervised', 'good')!.value).toBe(1);
    expect(get(m, 'upkeep_logger_up', 'good')!.labels.kind).toBe('run');
    expect(get(m, 'upkeep_logger_up', 'good')!.value).toBe(1);
    expect(get(m, 'upkeep_service_restarts_total', 'good')!.value).toBe(0);
    const now = Date.now() / 1000;
    expect(Math.abs(get(m, 'upkeep_service_state_change_timestamp_seconds', 'good')!.value - now)).toBeLessThan(60);
    expect(get(m, 'upkeep_service_restarts_total', 'crash')!.value).toBeGreaterThanOrEqual(1);
    expect(get(m, 'upkeep_service_last_exit_code', 'crash')!.value).toBe(3);
    expect(get(m, 'upkeep_service_last_exit_signaled', 'crash')!.value).toBe(0);
    expect(get(m, 'upkeep_service_backoff_delay_seconds', 'crash')!.value).toBeGreaterThan(0);
    expect(get(m, 'upkeep_service_backoff_deaths', 'crash')!.value).toBeGreaterThanOrEqual(1);
    expect(get(m, 'upkeep_service_backoff_seconds', 'crash')).toBeDefined();
    expect(get(m, 'upkeep_logger_up', 'crash')!.labels.kind).toBe('script');
    expect(get(m, 'upkeep_logger_up', 'crash')!.value).toBe(1);
    expect(get(m, 'upkeep_service_up', 'off')!.value).toBe(0);
    expect(get(m, 'upkeep_service_normally_up', 'off')!.value).toBe(0);
    expect(get(m, 'upkeep_service_want_up', 'off')!.value).toBe(0);
    expect(get(m, 'upkeep_logger_up', 'off')).toBeUndefined();

    // --output: atomically written, same content shape; --service filters
    const out = join(dir, '..', 'upkeep.prom');
    const w = await upkeep(['metrics', '--output', out, '--service', 'good', '--dir', dir]);
    expect(w.code).toBe(0);
    expect(w.stdout.length).toBe(0);
    const fm = parseProm(readFileSync(out, 'utf8'));
    expect(new Set(fm.map((x) => x.labels.service))).toEqual(new Set(['good']));
    expect(readdirSync(join(dir, '..')).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    // the % directives in a log/script: a header line, then one JSON object per line
    await waitFor(() => readFileSync(join(dir, 'crash/log/main/current'), 'utf8').includes('"boom"'), 'boom logged');
    const lines = readFileSync(join(dir, 'crash/log/main/current'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].upkeep_header).toBe(true);
    expect(lines.slice(1).some((o: { message: string }) => o.message === 'boom')).toBe(true);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);

    // after svscan is gone: no supervisor
    const after = parseProm((await upkeep(['metrics', dir])).stdout.toString());
    expect(get(after, 'upkeep_service_supervised', 'good')!.value).toBe(0);
  }, 30_000);

  it('a tree that cannot be read: exit 111', async () => {
    const r = await upkeep(['metrics', '/nonexistent/tree']);
    expect(r.code).toBe(111);
    expect(r.stderr.toString()).toBe('upkeep metrics: fatal: unable to read /nonexistent/tree: file does not exist\n');
  });
});
