#!/usr/bin/env node
// Issue 3, memory: PSS of a whole supervision tree (supervisor + loggers, services excluded) for N services
// that each have a logger, upkeep svscan beside Debian's daemontools (svscan + supervise + multilog) in the
// same run. Also records the time from starting the tree to every service and logger up (status pid != 0).
//
//   node bench/svscan-memory.mjs [--n 100,1000] [--settle 3] [--only upkeep|daemontools] [--json FILE]
//                                [--upkeep PATH]   (another build's bin/upkeep, for before/after figures)
//
// "All up": every NAME/supervise/status and NAME/log/supervise/status shows a pid, and every logger has
// created NAME/log/main/current (its log directory is locked and open).
//
// Each service: run = `echo started; exec sleep 100000` (one line through the logger, so its buffers are
// used once), logger: daemontools `log/run` = `exec multilog t ./main`; upkeep `log/script` = `t`, `./main`
// (the shared logger process). PSS is the sum of /proc/PID/smaps_rollup's Pss over the supervision
// processes: daemontools: svscan, every supervise, every multilog; upkeep: svscan's node and every other
// descendant that is not a service (loghost's node, helpers still alive). Services (sleep) are excluded.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UPKEEP = process.argv.includes('--upkeep') ? process.argv[process.argv.indexOf('--upkeep') + 1] : join(ROOT, 'bin', 'upkeep');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const NS = arg('n', '100,1000').split(',').map(Number);
const SETTLE = Number(arg('settle', '3'));
const ONLY = arg('only', '');
const JSON_OUT = arg('json', '');
const KEEP = process.argv.includes('--keep');

/** The journal's RFC 3339 `time` with microseconds -> UNIX microseconds. */
export function micros(t) {
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{6})(.*)$/.exec(t);
  return Date.parse(m[1] + m[3]) * 1000 + Number(m[2]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeTree(n, kind) {
  const dir = mkdtempSync(join(tmpdir(), `svmem-${kind}-`));
  for (let i = 0; i < n; i++) {
    const s = join(dir, `s${String(i).padStart(4, '0')}`);
    mkdirSync(join(s, 'log'), { recursive: true });
    writeFileSync(join(s, 'run'), '#!/bin/sh\necho started\nexec sleep 100000\n');
    chmodSync(join(s, 'run'), 0o755);
    if (kind === 'daemontools') {
      writeFileSync(join(s, 'log', 'run'), '#!/bin/sh\nexec multilog t ./main\n');
      chmodSync(join(s, 'log', 'run'), 0o755);
    } else {
      writeFileSync(join(s, 'log', 'script'), 't\n./main\n');
    }
  }
  return dir;
}

function statusPid(path) {
  try {
    const b = readFileSync(path);
    return b.length >= 18 ? b.readUInt32LE(12) : 0;
  } catch {
    return 0;
  }
}

function allUp(dir) {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    if (!statusPid(join(dir, name, 'supervise', 'status'))) return false;
    if (!statusPid(join(dir, name, 'log', 'supervise', 'status'))) return false;
    // the logger has really opened its log directory (upkeep's shared logger reports up before it has)
    if (!existsSync(join(dir, name, 'log', 'main', 'current'))) return false;
  }
  return true;
}

function children() {
  const kids = new Map();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push({ pid: Number(p), comm });
    } catch {
      /* gone */
    }
  }
  return kids;
}

function descendants(root) {
  const kids = children();
  const out = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop();
    for (const c of kids.get(p.pid) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

function rollup(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k) => Number((t.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) ?? [0, 0])[1]);
    return { pss: kb('Pss'), rss: kb('Rss') };
  } catch {
    return { pss: 0, rss: 0 };
  }
}

const SERVICE_COMMS = new Set(['sleep', 'run']);

function measure(rootPid, rootComm, dir) {
  const procs = [{ pid: rootPid, comm: rootComm }, ...descendants({ pid: rootPid })].filter((p) => !SERVICE_COMMS.has(p.comm));
  if (rootComm === 'node') {
    procs[0].comm = 'svscan(node)';
    try {
      const host = JSON.parse(readFileSync(join(dir, '.upkeep', 'state.json'), 'utf8')).loghost?.pid;
      for (const p of procs) if (p.pid === host) p.comm = 'loghost(node)';
    } catch {
      /* no state yet */
    }
  }
  const by = {};
  let pss = 0;
  let rss = 0;
  for (const p of procs) {
    const r = rollup(p.pid);
    by[p.comm] ??= { count: 0, pssKB: 0, rssKB: 0 };
    by[p.comm].count++;
    by[p.comm].pssKB += r.pss;
    by[p.comm].rssKB += r.rss;
    pss += r.pss;
    rss += r.rss;
  }
  return { pssKB: pss, rssKB: rss, processes: procs.length, by };
}

async function one(kind, n) {
  const dir = makeTree(n, kind);
  const t0 = process.hrtime.bigint();
  const child =
    kind === 'daemontools'
      ? spawn('svscan', [dir], { stdio: ['ignore', 'ignore', 'ignore'], cwd: dir })
      : spawn(UPKEEP, ['svscan', dir], { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, ...(KEEP ? {} : {}) } });
  let upMs = null;
  for (let i = 0; i < 6000; i++) {
    if (allUp(dir)) {
      upMs = Number(process.hrtime.bigint() - t0) / 1e6;
      break;
    }
    await sleep(20);
  }
  if (upMs === null) console.error(`${kind} N=${n}: not all up after 120 s`);
  await sleep(SETTLE * 1000);
  const samples = [];
  for (let i = 0; i < 3; i++) {
    samples.push(measure(child.pid, kind === 'daemontools' ? 'svscan' : 'node', dir));
    await sleep(500);
  }
  samples.sort((a, b) => a.pssKB - b.pssKB);
  const m = samples[1];
  let journal;
  if (kind === 'upkeep') {
    // first and last `start` in the journal: how long the services' spawns took
    try {
      const starts = readFileSync(join(dir, '.upkeep', 'journal.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"start"'))
        .map((l) => micros(JSON.parse(l).time));
      journal = { firstStart: starts[0], lastStart: starts[starts.length - 1], spanMs: (starts[starts.length - 1] - starts[0]) / 1000 };
    } catch {
      /* none */
    }
  }
  // stop: daemontools' svscan leaves supervise and multilog running, so the whole process tree is signalled
  const all = [child.pid, ...descendants({ pid: child.pid }).map((p) => p.pid)];
  if (kind === 'daemontools') {
    for (const p of all) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } else {
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 30000);
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    clearTimeout(t);
    for (const p of all) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  await sleep(500);
  rmSync(dir, { recursive: true, force: true });
  return { kind, n, upMs, ...m, ...(journal ? { journal } : {}) };
}

const results = [];
for (const n of NS) {
  for (const kind of ['daemontools', 'upkeep']) {
    if (ONLY && ONLY !== kind) continue;
    const r = await one(kind, n);
    results.push(r);
    const parts = Object.entries(r.by)
      .map(([c, v]) => `${c} x${v.count} ${(v.pssKB / 1024).toFixed(1)} MB`)
      .join(', ');
    console.log(`${kind.padEnd(11)} N=${String(n).padStart(4)}  PSS ${(r.pssKB / 1024).toFixed(1)} MB  RSS ${(r.rssKB / 1024).toFixed(1)} MB  all up in ${r.upMs?.toFixed(0)} ms${r.journal ? ` (starts span ${r.journal.spanMs.toFixed(0)} ms)` : ''}  (${parts})`);
  }
}
const get = (k, n) => results.find((r) => r.kind === k && r.n === n);
console.log('');
for (const n of NS) {
  const d = get('daemontools', n);
  const u = get('upkeep', n);
  if (d && u) console.log(`N=${n}: upkeep/daemontools PSS = ${(u.pssKB / d.pssKB).toFixed(2)}`);
}
if (NS.length >= 2) {
  const [a, b] = [Math.min(...NS), Math.max(...NS)];
  for (const k of ['daemontools', 'upkeep']) {
    const x = get(k, a);
    const y = get(k, b);
    if (x && y) console.log(`${k}: marginal PSS per service ${((y.pssKB - x.pssKB) / (b - a)).toFixed(1)} KB`);
  }
}
console.log(`(${new Date().toISOString()}, nproc ${cpus().length}, node ${process.version})`);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), nproc: cpus().length, node: process.version, results }, null, 2));
