#!/usr/bin/env node
// Issue 3, restart latency: "a service that ran long enough restarts at once (target: under 5 ms from death to
// the new run)". The same run script under each supervisor, in the same run of this script:
//
//   #!/bin/bash
//   echo "s $EPOCHREALTIME" >> ../stamps      # first thing the new run does
//   sleep 1.1                                 # lives longer than min-uptime (1 s) and daemontools' 1 s pause
//   echo "e $EPOCHREALTIME" >> ../stamps      # last thing before it exits
//
// Latency = next "s" - previous "e": from just before the death to the first instruction of the next run,
// so it includes the kernel's exit, the supervisor noticing it, fork + exec, and bash starting (bash's
// EPOCHREALTIME is a builtin: no fork for the stamps). The floor of the method is `while :; do ./run; done`
// in a shell (no supervisor at all), measured the same way.
//
//   node bench/svscan-restart.mjs [--samples 25] [--fast 200] [--rounds R] [--only NAME,...] [--json FILE] [--upkeep PATH]
//
// Sides: floor (bash loop), daemontools (Debian's supervise), upkeep-supervise, upkeep-svscan (the service has
// a log/script logger, so an exit note goes through the shared logger before the restart), and
// upkeep-svscan-fast: min-uptime 0 and a run that exits at once (many samples quickly; same code path).
// For upkeep-svscan, the journal's exit -> start interval is reported too (svscan's own share).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UPKEEP = process.argv.includes('--upkeep') ? process.argv[process.argv.indexOf('--upkeep') + 1] : join(ROOT, 'bin', 'upkeep');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const SAMPLES = Number(arg('samples', '25'));
const FAST = Number(arg('fast', '200'));
const ONLY = arg('only', '');
const JSON_OUT = arg('json', '');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function micros(t) {
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{6})(.*)$/.exec(t);
  return Date.parse(m[1] + m[3]) * 1000 + Number(m[2]);
}

function runScript(life) {
  return `#!/bin/bash\necho "s $EPOCHREALTIME" >> ../stamps\n${life ? `sleep ${life}\n` : ''}echo "e $EPOCHREALTIME" >> ../stamps\n`;
}

function readStamps(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [k, v] = l.split(' ');
      const [s, f] = v.split(/[.,]/);
      return { k, us: Number(s) * 1e6 + Number(f.padEnd(6, '0').slice(0, 6)) };
    });
}

/** Latencies (ms) from each "e" to the next "s". */
function latencies(stamps) {
  const out = [];
  for (let i = 0; i + 1 < stamps.length; i++) {
    if (stamps[i].k === 'e' && stamps[i + 1].k === 's') out.push((stamps[i + 1].us - stamps[i].us) / 1000);
  }
  return out;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { n: s.length, median: q(0.5), p90: q(0.9), max: s[s.length - 1], min: s[0] };
}

async function side(name, { life, samples, setup, cmd }) {
  const dir = mkdtempSync(join(tmpdir(), `svrestart-${name}-`));
  const svc = join(dir, 'svc');
  mkdirSync(svc, { recursive: true });
  writeFileSync(join(svc, 'run'), runScript(life));
  chmodSync(join(svc, 'run'), 0o755);
  setup?.(svc, dir);
  const [prog, ...args] = cmd(svc, dir);
  const child = spawn(prog, args, { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'], detached: true });
  const stampFile = join(dir, 'stamps');
  const deadline = Date.now() + (samples * (life + 0.5) + 20) * 1000;
  while (latencies(readStamps(stampFile)).length < samples && Date.now() < deadline) await sleep(100);
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
  await sleep(300);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  const lat = latencies(readStamps(stampFile)).slice(0, samples);
  let journal;
  let jraw;
  const jf = join(svc, '..', 'tree', '.upkeep', 'journal.jsonl');
  if (existsSync(jf)) {
    const evs = readFileSync(jf, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.service === 'svc' && (e.event === 'exit' || e.event === 'start'));
    const js = [];
    for (let i = 0; i + 1 < evs.length; i++) {
      if (evs[i].event === 'exit' && evs[i + 1].event === 'start') js.push((micros(evs[i + 1].time) - micros(evs[i].time)) / 1000);
    }
    jraw = js.slice(0, samples);
    journal = stats(jraw);
  }
  rmSync(dir, { recursive: true, force: true });
  return { name, life, ...stats(lat), samples: lat, ...(journal ? { journal, journalSamples: jraw } : {}) };
}

const SIDES = {
  floor: { life: 1.1, cmd: (svc) => ['/bin/sh', '-c', `cd ${svc} && while :; do ./run; done`] },
  daemontools: { life: 1.1, cmd: (svc) => ['supervise', svc] },
  'upkeep-supervise': { life: 1.1, cmd: (svc) => [UPKEEP, 'supervise', svc] },
  'upkeep-svscan': {
    life: 1.1,
    // the tree holds a symlink to the service, so the stamps file (../stamps from the real dir) is shared
    setup: (svc, dir) => {
      mkdirSync(join(svc, 'log'));
      writeFileSync(join(svc, 'log', 'script'), 't\n./main\n');
      mkdirSync(join(dir, 'tree'));
      symlinkSync(svc, join(dir, 'tree', 'svc'));
    },
    cmd: (svc, dir) => [UPKEEP, 'svscan', join(dir, 'tree')],
  },
  'upkeep-svscan-fast': {
    life: 0,
    fast: true,
    setup: (svc, dir) => {
      writeFileSync(join(svc, 'min-uptime'), '0\n');
      mkdirSync(join(svc, 'log'));
      writeFileSync(join(svc, 'log', 'script'), 't\n./main\n');
      mkdirSync(join(dir, 'tree'));
      symlinkSync(svc, join(dir, 'tree', 'svc'));
    },
    cmd: (svc, dir) => [UPKEEP, 'svscan', join(dir, 'tree')],
  },
};


// Rounds (--rounds R): every round runs every side for its share of the samples, in a rotated order, and
// the samples are pooled: a burst of load from other jobs then weighs on all sides alike.
const ROUNDS = Math.max(1, Number(arg('rounds', '1')));
const names = Object.keys(SIDES).filter((n) => !ONLY || ONLY.split(',').includes(n));
const pooled = new Map(names.map((n) => [n, { lat: [], jraw: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]);
  for (const name of order) {
    const spec = SIDES[name];
    const total = spec.fast ? FAST : SAMPLES;
    const r = await side(name, { ...spec, samples: Math.ceil(total / ROUNDS) });
    pooled.get(name).lat.push(...r.samples);
    if (r.journalSamples) pooled.get(name).jraw.push(...r.journalSamples);
  }
}
const results = [];
for (const name of names) {
  const { lat, jraw } = pooled.get(name);
  const r = { name, life: SIDES[name].life, rounds: ROUNDS, ...stats(lat), samples: lat, ...(jraw.length ? { journal: stats(jraw), journalSamples: jraw } : {}) };
  results.push(r);
  const f = (x) => (x === undefined ? '-' : x.toFixed(2));
  console.log(
    `${name.padEnd(19)} n=${String(r.n).padStart(3)}  median ${f(r.median)} ms  p90 ${f(r.p90)} ms  max ${f(r.max)} ms` +
      (r.journal ? `   (journal exit->start: median ${f(r.journal.median)} p90 ${f(r.journal.p90)} max ${f(r.journal.max)} ms)` : ''),
  );
}
console.log(`(${new Date().toISOString()}, nproc ${cpus().length}, node ${process.version})`);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), nproc: cpus().length, node: process.version, results }, null, 2));
