// `upkeep report` end to end: the built CLI against ground-truth trees whose journals were written by the
// real writer with a fake clock (fixtures/journals/generate.mjs), a real multilog log directory, stdin from
// several hosts, exit codes, and the HTML timeline opened in headless Chromium.
// The journal as written by the real supervisor: test/e2e/report-svscan.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable, Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROOT, itWithPeer, run, tmpdir, upkeep, waitFor, which } from '../helpers/index.js';
import { openJournal } from '../../src/io/journal.js';
import { FakeClock } from '../../src/io/clock.js';
import { runReport } from '../../src/programs/report.js';

const FIXTURE = join(ROOT, 'fixtures/journals/mixed');
const UNTIL = '2026-11-22T11:00:00Z';

interface Expected {
  args: string[];
  input: { truncated: number; corrupt: number; unknown: number };
  flapping: boolean;
  services: Record<string, {
    host: string; starts: number; deaths: number; stops: number; causes: Record<string, number>; flapping: boolean;
    flaps: { rule: string; start: string; detected: string; end: string; deaths: number; deployName: string | null; deployOffset?: number }[];
    uptime: Record<string, number>; availability: number; mtbf: number | null; backoff: number; deathTimes: string[];
    context?: { kind: string; lines: string[] }[]; contextTail?: { kind: string; last: string[] }[];
  }>;
}

/** Checks a JSON report against a tree's expected.json: every death, cause and flap interval, exactly. */
function checkGroundTruth(tree: string, stdout: Buffer): void {
  const exp = JSON.parse(readFileSync(join(tree, 'expected.json'), 'utf8')) as Expected;
  const rep = JSON.parse(stdout.toString());
  expect(rep.flapping).toBe(exp.flapping);
  expect(rep.input).toMatchObject(exp.input);
  expect(rep.services.map((s: { name: string }) => s.name).sort()).toEqual(Object.keys(exp.services).sort());
  for (const s of rep.services) {
    const e = exp.services[s.name]!;
    const tag = `service ${s.name}`;
    expect({ host: s.host, starts: s.starts, deaths: s.deaths, stops: s.stops, causes: s.causes, flapping: s.flapping }, tag)
      .toEqual({ host: e.host, starts: e.starts, deaths: e.deaths, stops: e.stops, causes: e.causes, flapping: e.flapping });
    expect(s.flaps.map((f: { rule: string; start: string; detected: string; end: string; deaths: number; deploy: { name: string; offset: number } | null }) =>
      ({ rule: f.rule, start: f.start, detected: f.detected, end: f.end, deaths: f.deaths, deployName: f.deploy?.name ?? null, ...(f.deploy ? { deployOffset: f.deploy.offset } : {}) })), tag)
      .toEqual(e.flaps.map((f) => ({ ...f, ...(f.deployName === null ? {} : { deployOffset: f.deployOffset }) })));
    expect(s.uptime, tag).toEqual(e.uptime);
    expect(s.availability, tag).toBeCloseTo(e.availability, 6);
    if (e.mtbf === null) expect(s.mtbf, tag).toBeNull();
    else expect(s.mtbf, tag).toBeCloseTo(e.mtbf, 3);
    expect(s.backoff, tag).toBe(e.backoff);
    const deaths = s.exits.filter((x: { failure: boolean }) => x.failure);
    expect(deaths.map((x: { at: string }) => x.at), tag).toEqual(e.deathTimes);
    if (e.context) expect(deaths.map((x: { contextKind: string; context: string[] }) => ({ kind: x.contextKind, lines: x.context })), tag).toEqual(e.context);
    if (e.contextTail) {
      expect(deaths.map((x: { contextKind: string; context: string[] }) => ({ kind: x.contextKind, last: x.context.slice(-2) })), tag).toEqual(e.contextTail);
      for (const x of deaths) expect(x.context.length).toBeLessThanOrEqual(10);
    }
  }
}

describe('upkeep report: ground truth', () => {
  for (const name of ['mixed', 'storm']) {
    it(`finds exactly the deaths, causes and flapping intervals of the committed ${name} tree`, async () => {
      const tree = join(ROOT, 'fixtures/journals', name);
      const r = await upkeep(['report', '--format', 'json', '--until', UNTIL, tree]);
      expect(r.stderr.toString()).toBe('');
      expect(r.code).toBe(1);
      checkGroundTruth(tree, r.stdout);
    });
  }
  it('and of trees generated afresh through the writer (several gzip archives)', async () => {
    const out = tmpdir();
    const g = spawnSync(process.execPath, [join(ROOT, 'fixtures/journals/generate.mjs'), out]);
    expect(g.status, g.stderr.toString()).toBe(0);
    for (const name of ['mixed', 'storm']) {
      const tree = join(out, name);
      expect(readdirSync(join(tree, '.upkeep')).filter((n) => /^journal-\d{8}-\d{6}-\d+\.jsonl\.gz$/.test(n)).length).toBeGreaterThan(1);
      const r = await upkeep(['report', '--format', 'json', '--until', UNTIL, tree]);
      expect(r.code).toBe(1);
      checkGroundTruth(tree, r.stdout);
    }
  });
  it('reads the tree from --dir and $SVDIR when no argument is given', async () => {
    const a = await upkeep(['report', '--format', 'json', '--until', UNTIL, '--dir', FIXTURE]);
    checkGroundTruth(FIXTURE, a.stdout);
    const b = await upkeep(['report', '--format', 'json', '--until', UNTIL], { env: { ...process.env, SVDIR: FIXTURE } });
    checkGroundTruth(FIXTURE, b.stdout);
  });
  it('reads single journal files, gzip archives included', async () => {
    const files = readdirSync(join(FIXTURE, '.upkeep')).filter((n) => n.endsWith('.jsonl') || n.endsWith('.gz')).map((n) => join(FIXTURE, '.upkeep', n));
    const r = await upkeep(['report', '--format', 'json', '--until', UNTIL, ...files.sort().reverse()]);
    const rep = JSON.parse(r.stdout.toString());
    expect(rep.services.find((s: { name: string }) => s.name === 'web').deaths).toBe(8);
    expect(rep.input.files).toBe(files.length);
  });
});

describe('upkeep report: options and exit status', () => {
  it('exits 0 when nothing flapped in the window (--service, --since)', async () => {
    const a = await upkeep(['report', '--until', UNTIL, '--service', 'db', '--service', 'api', FIXTURE]);
    expect(a.code).toBe(0);
    expect(a.stdout.toString()).toMatch(/^api\s+3\s+2\s/m);
    expect(a.stdout.toString()).not.toMatch(/^web/m);
    // web stopped flapping at 10:07:05; worker flapped until 10:31:00.
    const b = await upkeep(['report', '--format', 'json', '--since', '2026-11-22T10:10:00Z', '--until', UNTIL, FIXTURE]);
    const rep = JSON.parse(b.stdout.toString());
    expect(b.code).toBe(1);
    expect(rep.services.filter((s: { flapping: boolean }) => s.flapping).map((s: { name: string }) => s.name)).toEqual(['worker']);
    const c = await upkeep(['report', '--since', '2026-11-22 10:40', '--until', UNTIL, '--utc', FIXTURE], { env: { ...process.env, TZ: 'UTC' } });
    expect(c.code).toBe(0);
    expect(c.stdout.toString()).toContain('none flapping');
  });
  it('reads local times in the zone of TZ (date-fns), and shows them there', async () => {
    const env = { ...process.env, TZ: 'Europe/Paris' }; // UTC+1 in November
    const r = await upkeep(['report', '--format', 'json', '--since', '2026-11-22 11:10', '--until', '2026-11-22 12:00', FIXTURE], { env });
    const rep = JSON.parse(r.stdout.toString());
    expect(rep.window).toMatchObject({ since: '2026-11-22T10:10:00.000000Z', until: '2026-11-22T11:00:00.000000Z' });
    const t = await upkeep(['report', '--since', '2026-11-22 11:10', '--until', '2026-11-22 12:00', '--service', 'worker', FIXTURE], { env });
    expect(t.stdout.toString()).toContain('upkeep report: 2026-11-22 11:10:00 .. 2026-11-22 12:00:00 (local time)');
    expect(t.stdout.toString()).toContain('flapping 2026-11-22 11:16:45 .. 2026-11-22 11:31:00');
  });
  it('uses configurable rules', async () => {
    // With a burst of 10 deaths, web's 8 are no longer a flap.
    const r = await upkeep(['report', '--format', 'json', '--until', UNTIL, '--burst-deaths', '10', '--service', 'web', FIXTURE]);
    expect(r.code).toBe(0);
  });
  it('exits 100 on usage errors, 111 on unreadable input', async () => {
    for (const args of [['--since', 'soon'], ['--format', 'xml'], ['--lines', 'many'], ['--bogus'], ['--since', '1h', '--until', '2h']]) {
      const r = await upkeep(['report', ...args, FIXTURE]);
      expect(r.code, args.join(' ')).toBe(100);
      expect(r.stderr.toString()).toMatch(/^upkeep report: usage: /);
    }
    const missing = await upkeep(['report', join(tmpdir(), 'nope')]);
    expect(missing.code).toBe(111);
    expect(missing.stderr.toString()).toMatch(/^upkeep report: fatal: unable to read .*nope: file does not exist\n$/);
    const empty = tmpdir();
    const none = await upkeep(['report', empty]);
    expect(none.code).toBe(111);
  });
  it('ends quietly when its reader goes away (| head)', async () => {
    const dir = tmpdir();
    const r = await run('/bin/sh', ['-c', `"${join(ROOT, 'bin/upkeep')}" report --until ${UNTIL} --format html "${FIXTURE}" 2>"${dir}/err" | head -c 10`]);
    expect(r.stdout.toString()).toBe('<!DOCTYPE ');
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('');
  });
  it('prints its help', async () => {
    const r = await upkeep(['help', 'report']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/^usage: upkeep report/);
  });
});

describe('upkeep report: stdin from many hosts', () => {
  it('groups by host and service', async () => {
    // alpha: the fixture's lines, archives decompressed; beta: a second journal with a crash loop of its own web.
    const alpha: Buffer[] = [];
    for (const n of readdirSync(join(FIXTURE, '.upkeep')).sort()) {
      const p = join(FIXTURE, '.upkeep', n);
      if (n.endsWith('.gz')) alpha.push(gunzipSync(readFileSync(p)));
      else if (n.endsWith('.jsonl')) alpha.push(readFileSync(p), Buffer.from('\n'));
    }
    const dir = tmpdir();
    const clock = new FakeClock(Date.parse('2026-11-22T10:30:00Z') * 1000);
    const j = openJournal(dir, { host: 'beta', clock });
    j.write({ event: 'start', service: 'web', pid: 1, target: '/srv/web' });
    for (let k = 0; k < 6; k++) {
      clock.advance(5e6);
      j.write({ event: 'exit', service: 'web', pid: k + 1, code: 137, signal: null, uptime: 5, operator: false, wanted: 'up' });
      j.write({ event: 'start', service: 'web', pid: k + 2, target: '/srv/web' });
    }
    await j.close();
    const beta = readFileSync(join(dir, '.upkeep', 'journal.jsonl'));
    const r = await upkeep(['report', '--format', 'json', '--until', UNTIL, '-'], { input: Buffer.concat([...alpha, beta]) });
    const rep = JSON.parse(r.stdout.toString());
    const webs = rep.services.filter((s: { name: string }) => s.name === 'web').map((s: { host: string; deaths: number; causes: object; flaps: { rule: string; start: string }[] }) =>
      [s.host, s.deaths, s.causes, s.flaps.map((f) => `${f.rule} ${f.start}`)]);
    expect(webs).toEqual([
      ['alpha', 8, { 'signal:SIGSEGV': 8 }, ['burst 2026-11-22T10:01:43.000000Z']],
      ['beta', 6, { 'exit:137': 6 }, ['burst 2026-11-22T10:30:05.000000Z']],
    ]);
    expect(rep.input.truncated).toBe(1);
  });
});

describe('upkeep report: text output', () => {
  class Sink extends Writable {
    text = '';
    constructor(readonly isTTY: boolean) { super(); }
    override _write(c: Buffer, _e: string, cb: () => void): void { this.text += c.toString(); cb(); }
  }
  const io = (tty: boolean, env: NodeJS.ProcessEnv) => {
    const stdout = new Sink(tty);
    const stderr = new Sink(false);
    return { stdout, stderr, stdin: Readable.from([]), env, now: () => Date.parse(UNTIL) * 1000 };
  };
  it('colours only on a terminal, and never with NO_COLOR', async () => {
    const tty = io(true, {});
    expect(await runReport({ inputs: [FIXTURE] }, tty)).toBe(1);
    expect(tty.stdout.text).toContain('\x1b[31m');
    const nocolor = io(true, { NO_COLOR: '1' });
    await runReport({ inputs: [FIXTURE] }, nocolor);
    expect(nocolor.stdout.text).not.toContain('\x1b[');
    const pipe = await upkeep(['report', '--until', UNTIL, FIXTURE]);
    expect(pipe.stdout.toString()).not.toContain('\x1b[');
    expect(pipe.stdout.toString()).toMatch(/flapping .* burst rule: 8 deaths \(signal:SIGSEGV x8\); began 3s? after deploy of myapp-v1\.2\.4/);
    expect(pipe.stdout.toString()).toContain('input: 6 files');
  });
  it('shows a progress bar on a terminal for a large input', async () => {
    const dir = tmpdir();
    const f = join(dir, 'big.jsonl');
    const l = '{"level":30,"time":"2026-11-22T10:00:00.000000Z","tai64n":"@400000006b02c12e10a72d0c","v":1,"host":"h","event":"ready","service":"s","pid":1,"after":0.1,"msg":"s ready"}\n';
    writeFileSync(f, l.repeat(Math.ceil((65 * 1048576) / l.length)));
    const t = io(false, {});
    (t.stderr as unknown as { isTTY: boolean }).isTTY = true;
    await runReport({ inputs: [f], format: 'json' }, t);
    expect(t.stderr.text).toMatch(/\rupkeep report: \[#+\.*\] 50% of 65 MiB/);
    expect(t.stderr.text.endsWith('\r\x1b[K')).toBe(true);
  });
});

describe('upkeep report: crash context from a real multilog log directory', () => {
  itWithPeer(['multilog'])('matches the lines before each death by TAI64N time across current and rotated files (approximate)', async () => {
    const tree = tmpdir();
    const logdir = join(tree, 'app', 'log');
    mkdirSync(logdir, { recursive: true });
    writeFileSync(join(logdir, 'run'), '#!/bin/sh\nexec multilog t s4096 ./main\n', { mode: 0o755 });
    const ml = spawn(which('multilog')!, ['t', 's4096', './main'], { cwd: logdir, stdio: ['pipe', 'ignore', 'inherit'] });
    const j = openJournal(tree, { host: 'h' }); // the wall clock, as multilog's stamps
    // Everything multilog wrote so far, oldest file first; '' while a rotation moves a file under us.
    const allLogged = (): string => {
      try {
        const names = readdirSync(join(logdir, 'main')).filter((n) => n.startsWith('@') || n === 'current');
        names.sort((a, b) => (a === 'current' ? 1 : b === 'current' ? -1 : a < b ? -1 : 1));
        return names.map((n) => readFileSync(join(logdir, 'main', n), 'utf8')).join('');
      } catch {
        return '';
      }
    };
    j.write({ event: 'start', service: 'app', pid: 1000, target: '/srv/app' });
    for (let k = 0; k < 4; k++) {
      const batch = Array.from({ length: 60 }, (_, i) => `app run ${k} line ${String(i).padStart(2, '0')} ${'x'.repeat(40)}`);
      ml.stdin!.write(batch.join('\n') + '\n');
      await waitFor(() => allLogged().includes(batch[59]!), `multilog to write run ${k}`);
      j.write({ event: 'exit', service: 'app', pid: 1000 + k, code: 3, signal: null, uptime: 1, operator: false, wanted: 'up' });
      j.write({ event: 'start', service: 'app', pid: 1001 + k, target: '/srv/app' });
    }
    ml.stdin!.end();
    await new Promise((r) => ml.on('close', r));
    await j.close();
    expect(readdirSync(join(logdir, 'main')).filter((n) => /^@[0-9a-f]{24}\.s$/.test(n)).length).toBeGreaterThan(2);
    const r = await upkeep(['report', '--format', 'json', tree]);
    const app = JSON.parse(r.stdout.toString()).services[0];
    expect(app.deaths).toBe(4);
    for (let k = 0; k < 4; k++) {
      expect(app.exits[k].contextKind).toBe('approximate');
      expect(app.exits[k].context).toEqual(Array.from({ length: 10 }, (_, i) => `app run ${k} line ${50 + i} ${'x'.repeat(40)}`));
    }
    // The log dir is configurable; -n sets the number of lines.
    mkdirSync(join(tree, 'elsewhere'));
    const moved = await upkeep(['report', '--format', 'json', '-n', '3', '--logdir-pattern', '{dir}/{service}/log/main', tree]);
    expect(JSON.parse(moved.stdout.toString()).services[0].exits[3].context).toHaveLength(3);
    const none = await upkeep(['report', '--format', 'json', '--logdir-pattern', '{dir}/elsewhere/{service}', tree]);
    expect(JSON.parse(none.stdout.toString()).services[0].exits[3].contextKind).toBe('none');
  });
});

describe('upkeep report: HTML timeline in headless Chromium', () => {
  itWithPeer(['chromium'])('has one timeline row per service and one mark per death, and is kept as a screenshot', async () => {
    const dir = tmpdir();
    const html = join(dir, 'report.html');
    const r = await upkeep(['report', '--format', 'html', '-o', html, '--until', UNTIL, '--utc', FIXTURE]);
    expect(r.code).toBe(1);
    const flags = (profile: string) => ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`];
    const dom = spawnSync(which('chromium')!, [...flags(join(dir, 'p1')), '--dump-dom', `file://${html}`], { timeout: 60_000 });
    const text = dom.stdout.toString();
    expect(text).toContain('<svg id="timeline"');
    expect(text.match(/<g class="timeline"/g)).toHaveLength(5);
    expect(text.match(/<circle class="death"/g)).toHaveLength(8 + 9 + 2); // web, worker, api
    expect(text.match(/<rect class="flap"/g)).toHaveLength(2);
    expect(text.match(/<line class="deploy"/g)).toHaveLength(1);
    const outDir = join(ROOT, 'test-artifacts');
    mkdirSync(outDir, { recursive: true });
    const png = join(outDir, 'report-timeline.png');
    spawnSync(which('chromium')!, [...flags(join(dir, 'p2')), `--screenshot=${png}`, '--window-size=1400,900', `file://${html}`], { timeout: 60_000 });
    expect(existsSync(png)).toBe(true);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    process.stderr.write(`report timeline screenshot: ${png}\n`);
  });
});
