// Benchmark of `upkeep tail` (standalone: `npm run build && node bench/tail.mjs [--quick] [--merge-mb N]
// [--since-mb N] [--probes N]`). Three comparisons, each side by side in one run, reported as ratios (not a test):
//   1. merge: `upkeep tail -o raw` over 4 log directories vs GNU `sort -m -s -k1,1` over the same files;
//   2. --since over many archives: time to upkeep's first output line vs the time `grep -c` needs to scan them;
//   3. follow latency: a line appended to `current` until `upkeep tail -f` prints it vs `tail -F current`.
// Log directories are written in multilog's layout (archives @<stamp>.s of 4 MB, then current) with
// daemontools-convention labels, nanoseconds ending in 500 like multilog t.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UPKEEP = join(ROOT, 'bin', 'upkeep');
const WORK = join(ROOT, 'bench', 'out', 'tail');
const MB = 1024 * 1024;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name, d) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const MERGE_MB = opt('--merge-mb', quick ? 40 : 200);
const SINCE_MB = opt('--since-mb', quick ? 100 : 1024);
const PROBES = opt('--probes', quick ? 10 : 30);
const REPS = quick ? 1 : 3;

const HEX = '0123456789abcdef';
function label(unixMicros) {
  const sec = Math.floor(unixMicros / 1e6);
  const nano = (unixMicros - sec * 1e6) * 1000 + 500;
  return '@4000' + (sec + 10).toString(16).padStart(12, '0') + nano.toString(16).padStart(8, '0');
}

/** Writes a log directory of `mb` MB: lines stamped from `start` µs on, `step()` µs apart, archives of 4 MB. */
function writeLogdir(dir, mb, start, step, tag) {
  // Inputs are kept with --keep and reused when they were written with the same parameters.
  const stampFile = join(dir, '..', `.bench-${mb}-${start}-${tag}`);
  if (existsSync(stampFile)) return Number(readFileSync(stampFile, 'utf8'));
  rmSync(join(dir, '..'), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let t = start;
  let total = 0;
  let seq = 0;
  while (total < mb * MB) {
    const chunks = [];
    let size = 0;
    while (size < 4 * MB - 200) {
      t += step();
      const line = `${label(t)} ${tag} request ${++seq} GET /api/v1/items/${seq % 9973} status=200 bytes=${(seq * 7919) % 65536}\n`;
      chunks.push(line);
      size += line.length;
    }
    const last = total + size >= mb * MB;
    const name = last ? 'current' : `${label(t + 1)}.s`;
    const fd = openSync(join(dir, name), 'w');
    writeSync(fd, chunks.join(''));
    closeSync(fd);
    total += size;
  }
  writeFileSync(stampFile, String(t));
  return t;
}

function files(dir) {
  const names = readdirSync(dir).filter((n) => n.startsWith('@')).sort();
  return [...names, 'current'].map((n) => join(dir, n));
}

/** Runs a shell command, resolves with its wall time in ms (stdout discarded). */
function timed(cmd, argv) {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', rej);
    c.on('close', (code) => (code === 0 || code === 1 ? res(Number(process.hrtime.bigint() - t0) / 1e6) : rej(new Error(`${cmd} exited ${code}`))));
  });
}

/** Time until the first byte on stdout (ms); the process is then killed. */
function firstByte(cmd, argv) {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    c.on('error', rej);
    let done = false;
    c.stdout.once('data', () => {
      done = true;
      res(Number(process.hrtime.bigint() - t0) / 1e6);
      c.kill('SIGKILL');
    });
    c.on('close', () => done || rej(new Error(`${cmd} printed nothing`)));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)) + ' ms';

async function benchMerge() {
  const dirs = [0, 1, 2, 3].map((i) => join(WORK, `merge/svc${i}/log/main`));
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 2000) + 1;
  dirs.forEach((d, i) => writeLogdir(d, MERGE_MB / 4, 1795300000e6, rnd, `svc${i}`));
  const all = dirs.flatMap(files);
  const catted = dirs.map((d, i) => join(WORK, `merge/all${i}.txt`));
  // sort -m needs one input per stream: each directory's files concatenated (done once, not timed).
  await Promise.all(dirs.map((d, i) => timed('/bin/sh', ['-c', `cat "$@" > ${catted[i]}`, 'sh', ...files(d)])));
  await timed('cat', all); // page cache
  const up = [];
  const sm = [];
  for (let r = 0; r < REPS; r++) {
    up.push(await timed(UPKEEP, ['tail', '-o', 'raw', ...dirs]));
    sm.push(await timed('/bin/sh', ['-c', 'LC_ALL=C sort -m -s -k1,1 "$@" > /dev/null', 'sh', ...catted]));
  }
  let lines = 0;
  for (const f of catted) {
    const b = readFileSync(f);
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
  }
  const ns = (ms) => ((ms * 1e6) / lines).toFixed(0);
  return {
    name: `merge ${MERGE_MB} MB, 4 dirs, ${lines} lines (upkeep ${ns(median(up))} ns/line, sort -m ${ns(median(sm))} ns/line, both with process start)`,
    upkeep: median(up), peer: median(sm), peerName: 'sort -m', target: 'ratio <= 1',
  };
}

async function benchSince() {
  const d = join(WORK, 'since/big/log/main');
  const start = 1795000000e6;
  const end = writeLogdir(d, SINCE_MB, start, () => 1000, 'big');
  const since = new Date((start + (end - start) * 0.95) / 1000).toISOString();
  const fs = files(d);
  await timed('cat', fs);
  const up = [];
  const gr = [];
  for (let r = 0; r < REPS; r++) {
    up.push(await firstByte(UPKEEP, ['tail', '-o', 'raw', '--since', since, d]));
    gr.push(await timed('grep', ['-c', 'status=500', ...fs]));
  }
  return { name: `--since, ${SINCE_MB} MB of archives (first line)`, upkeep: median(up), peer: median(gr), peerName: 'grep -c (scan)', target: 'ratio < 0.1' };
}

async function benchFollow() {
  const d = join(WORK, 'follow/svc/log/main');
  writeLogdir(d, 1, Date.now() * 1000 - 60e6, () => 1000, 'f');
  const cur = join(d, 'current');
  const watch = (cmd, argv) => {
    const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const waiters = [];
    c.stdout.on('data', (b) => {
      buf += b;
      for (const w of waiters.splice(0)) w();
    });
    const until = (s) =>
      new Promise((res) => {
        const check = () => (buf.includes(s) ? res(process.hrtime.bigint()) : waiters.push(check));
        check();
      });
    return { c, until };
  };
  const up = watch(UPKEEP, ['tail', '-f', '-n', '0', '-o', 'raw', d]);
  const tf = watch('tail', ['-F', '-n', '0', cur]);
  // Both are ready once both have printed a warm-up line.
  for (let i = 0; ; i++) {
    appendFileSync(cur, `${label(Date.now() * 1000)} warmup ${i}\n`);
    const ok = await Promise.race([Promise.all([up.until(`warmup ${i}\n`), tf.until(`warmup ${i}\n`)]).then(() => true), new Promise((r) => setTimeout(() => r(false), 500))]);
    if (ok) break;
  }
  const lu = [];
  const lt = [];
  for (let i = 0; i < PROBES; i++) {
    const s = `probe ${i} end\n`;
    const t0 = process.hrtime.bigint();
    appendFileSync(cur, `${label(Date.now() * 1000)} ${s}`);
    const [a, b] = await Promise.all([up.until(s), tf.until(s)]);
    lu.push(Number(a - t0) / 1e6);
    lt.push(Number(b - t0) / 1e6);
    await new Promise((r) => setTimeout(r, 20));
  }
  up.c.kill();
  tf.c.kill();
  return { name: `follow latency (median of ${PROBES})`, upkeep: median(lu), peer: median(lt), peerName: 'tail -F', target: 'ratio <= 1' };
}

const rows = [];
for (const b of [benchMerge, benchSince, benchFollow]) {
  const r = await b();
  rows.push(r);
  process.stdout.write(`${r.name}: upkeep ${fmt(r.upkeep)}, ${r.peerName} ${fmt(r.peer)}, ratio ${(r.upkeep / r.peer).toFixed(3)} (target ${r.target})\n`);
}
process.stdout.write('\n| benchmark | upkeep tail | peer | ratio | target |\n|---|---|---|---|---|\n');
for (const r of rows) process.stdout.write(`| ${r.name} | ${fmt(r.upkeep)} | ${r.peerName} ${fmt(r.peer)} | ${(r.upkeep / r.peer).toFixed(3)} | ${r.target} |\n`);
if (!args.includes('--keep')) rmSync(WORK, { recursive: true, force: true });
