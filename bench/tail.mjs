// Benchmark of `upkeep tail` (issue 5's three speed targets; standalone: `npm run build && node bench/tail.mjs
// [merge|since|follow] [--quick] [--merge-mb N] [--since-mb N] [--reps N] [--since-reps N] [--probes N] [--cold]
// [--cold-reps N] [--keep]`). Three comparisons, each side by side in one run, reported as ratios (not a test):
//   1. merge: `upkeep tail -o raw` over 4 log directories vs GNU `sort -m -s -k1,1` over the same files
//      (outputs checked byte-identical first; wall and CPU time, runs interleaved);
//   2. --since over many archives: time to upkeep's first output line vs the time `grep -c` needs to scan them,
//      with bare node's time to its first byte beside it; --cold adds runs after dropping the page cache (root);
//   3. follow latency: a line appended to `current` until `upkeep tail -f` prints it vs `tail -F current`, each
//      side on its own file, probes alternated, with each follower's CPU time per line.
// --keep keeps the generated inputs in bench/out/tail and reuses them (same parameters) in the next run.
// Log directories are written in multilog's layout (archives @<stamp>.s of 4 MB, then current) with
// daemontools-convention labels, nanoseconds ending in 500 like multilog t.
import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
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
const PROBES = opt('--probes', quick ? 20 : 200);
const REPS = opt('--reps', quick ? 1 : 5);
const SINCE_REPS = opt('--since-reps', quick ? 3 : 11);
const COLD = args.includes('--cold');
const COLD_REPS = opt('--cold-reps', 3);

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

/** Runs a command under /usr/bin/time; resolves with its wall time and CPU time (user + system) in ms. */
function timed(cmd, argv) {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('/usr/bin/time', ['-f', '@@time %U %S', cmd, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b) => (err += b));
    c.on('error', rej);
    c.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      const m = /@@time ([\d.]+) ([\d.]+)/.exec(err);
      if (!m || (code !== 0 && code !== 1)) return rej(new Error(`${cmd} exited ${code}: ${err}`));
      res({ wall, cpu: (Number(m[1]) + Number(m[2])) * 1000 });
    });
  });
}

/** Time until the first byte on stdout (ms); the process is then killed. */
function firstByte(cmd, argv, env = process.env) {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
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
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const noCA = { ...process.env };
delete noCA.NODE_EXTRA_CA_CERTS;

async function benchMerge() {
  const dirs = [0, 1, 2, 3].map((i) => join(WORK, `merge/svc${i}/log/main`));
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 2000) + 1;
  dirs.forEach((d, i) => writeLogdir(d, MERGE_MB / 4, 1795300000e6, rnd, `svc${i}`));
  const all = dirs.flatMap(files);
  const catted = dirs.map((d, i) => join(WORK, `merge/all${i}.txt`));
  // sort -m needs one input per stream: each directory's files concatenated (done once, not timed).
  for (let i = 0; i < dirs.length; i++) spawnSync('/bin/sh', ['-c', `cat "$@" > ${catted[i]}`, 'sh', ...files(dirs[i])]);
  spawnSync('cat', all, { stdio: ['ignore', 'ignore', 'inherit'] }); // page cache
  spawnSync('cat', catted, { stdio: ['ignore', 'ignore', 'inherit'] });
  // the outputs must be the same bytes (not timed)
  const a = spawnSync(UPKEEP, ['tail', '-o', 'raw', ...dirs], { maxBuffer: 1 << 30 }).stdout;
  const b = spawnSync('/bin/sh', ['-c', 'LC_ALL=C sort -m -s -k1,1 "$@"', 'sh', ...catted], { maxBuffer: 1 << 30 }).stdout;
  if (!a.equals(b)) throw new Error('upkeep tail -o raw and sort -m differ');
  let lines = 0;
  for (let i = a.indexOf(10); i >= 0; i = a.indexOf(10, i + 1)) lines++;
  const up = [];
  const sm = [];
  const loads = [load()];
  for (let r = 0; r < REPS; r++) {
    // interleaved, alternating which side goes first
    const one = () => timed(UPKEEP, ['tail', '-o', 'raw', ...dirs]).then((x) => up.push(x));
    const two = () => timed('/bin/sh', ['-c', 'LC_ALL=C sort -m -s -k1,1 "$@" > /dev/null', 'sh', ...catted]).then((x) => sm.push(x));
    if (r % 2 === 0) await one().then(two);
    else await two().then(one);
  }
  loads.push(load());
  const w = (xs) => median(xs.map((x) => x.wall));
  const c = (xs) => median(xs.map((x) => x.cpu));
  const ns = (ms) => ((ms * 1e6) / lines).toFixed(0);
  return {
    name: `merge ${MERGE_MB} MB, 4 dirs, ${lines} lines, \`-o raw\` (byte-identical outputs; process start included)`,
    upkeep: `${fmt(w(up))} (${ns(w(up))} ns/line), CPU ${fmt(c(up))}`,
    peer: `\`LC_ALL=C sort -m -s -k1,1\` ${fmt(w(sm))} (${ns(w(sm))} ns/line), CPU ${fmt(c(sm))}`,
    ratio: w(up) / w(sm),
    cpuRatio: c(up) / c(sm),
    target: 'ratio <= 1',
    met: w(up) <= w(sm),
    loads,
  };
}

async function benchSince() {
  const d = join(WORK, 'since/big/log/main');
  const start = 1795000000e6;
  const end = writeLogdir(d, SINCE_MB, start, () => 1000, 'big');
  const since = new Date((start + (end - start) * 0.95) / 1000).toISOString();
  const fs = files(d);
  spawnSync('cat', fs, { stdio: ['ignore', 'ignore', 'inherit'] });
  const up = [];
  const nodeCA = [];
  const gr = [];
  const node = [];
  const loads = [load()];
  const hasCA = process.env.NODE_EXTRA_CA_CERTS !== undefined;
  for (let r = 0; r < SINCE_REPS; r++) {
    up.push(await firstByte(UPKEEP, ['tail', '-o', 'raw', '--since', since, d]));
    gr.push((await timed('grep', ['-c', 'status=500', ...fs])).wall);
    node.push(await firstByte('node', ['-e', 'process.stdout.write("x")'], noCA));
    if (hasCA) nodeCA.push(await firstByte('node', ['-e', 'process.stdout.write("x")']));
  }
  loads.push(load());
  const rows = [
    {
      name: `\`--since\`, ${SINCE_MB} MB of archives (${fs.length} files), time to the first line, page cache warm`,
      upkeep: fmt(median(up)),
      peer: `\`grep -c\` scan ${fmt(median(gr))}`,
      ratio: median(up) / median(gr),
      target: 'ratio < 0.1',
      met: median(up) < 0.1 * median(gr),
      loads,
      note: `bare \`node -e 'process.stdout.write("x")'\` to its first byte: ${fmt(median(node))} without NODE_EXTRA_CA_CERTS` +
        (hasCA ? `, ${fmt(median(nodeCA))} with it (set here: bin/upkeep starts tail without it)` : '') +
        `; a tenth of grep's time is ${fmt(median(gr) / 10)}`,
    },
  ];
  if (COLD) {
    // Cold page cache: each side right after `echo 3 > /proc/sys/vm/drop_caches` (root only).
    const cu = [];
    const cg = [];
    const drop = () => {
      const r = spawnSync('/bin/sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
      if (r.status !== 0) throw new Error('unable to drop the page cache');
    };
    for (let r = 0; r < COLD_REPS; r++) {
      drop();
      cu.push(await firstByte(UPKEEP, ['tail', '-o', 'raw', '--since', since, d]));
      drop();
      cg.push((await timed('grep', ['-c', 'status=500', ...fs])).wall);
    }
    rows.push({
      name: `\`--since\`, same, page cache dropped before each run`,
      upkeep: fmt(median(cu)),
      peer: `\`grep -c\` scan ${fmt(median(cg))}`,
      ratio: median(cu) / median(cg),
      target: '(reported, not the target)',
      met: null,
      loads: [load()],
    });
  }
  return rows;
}

async function benchFollow() {
  // Each side follows its own file, so that a probe measures one side alone (with both on one file,
  // the second side's time would include this process handling the first side's output).
  const d = join(WORK, 'follow/svc/log/main');
  const t = join(WORK, 'follow/tail/log/main');
  writeLogdir(d, 1, Date.now() * 1000 - 60e6, () => 1000, 'f');
  writeLogdir(t, 1, Date.now() * 1000 - 60e6, () => 1000, 'f');
  const watch = (cmd, argv, env = process.env) => {
    const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
    let buf = '';
    let waiter = null;
    c.stdout.on('data', (b) => {
      const at = process.hrtime.bigint();
      buf += b;
      if (waiter && buf.includes(waiter.s)) {
        const w = waiter;
        waiter = null;
        buf = '';
        w.res(at);
      }
    });
    const until = (s) =>
      new Promise((res) => {
        if (buf.includes(s)) {
          buf = '';
          res(process.hrtime.bigint());
        } else waiter = { s, res };
      });
    return { c, until };
  };
  // The floor for any node program: fs.watch on the directory, then one readSync and one writeSync
  // (no rotation handling, no merge): what node itself costs between the event and the write.
  const n = join(WORK, 'follow/node/log/main');
  writeLogdir(n, 1, Date.now() * 1000 - 60e6, () => 1000, 'f');
  // upkeep again with its native follower off: the JavaScript follower alone
  const j = join(WORK, 'follow/js/log/main');
  writeLogdir(j, 1, Date.now() * 1000 - 60e6, () => 1000, 'f');
  const FLOOR = `const fs = require('fs'); const f = process.argv[1]; const fd = fs.openSync(f + '/current', 'r');
    let pos = fs.fstatSync(fd).size; const b = Buffer.allocUnsafe(1 << 16);
    fs.watch(f, () => { let k; while ((k = fs.readSync(fd, b, 0, b.length, pos)) > 0) { pos += k; fs.writeSync(1, b, 0, k); } });`;
  const sides = [
    { name: 'upkeep', file: join(d, 'current'), w: watch(UPKEEP, ['tail', '-f', '-n', '0', '-o', 'raw', d]), lat: [] },
    { name: 'tail -F', file: join(t, 'current'), w: watch('tail', ['-F', '-n', '0', join(t, 'current')]), lat: [] },
    { name: 'node floor', file: join(n, 'current'), w: watch('node', ['-e', FLOOR, n], noCA), lat: [] },
    { name: 'upkeep, JavaScript', file: join(j, 'current'), w: watch(UPKEEP, ['tail', '-f', '-n', '0', '-o', 'raw', j], { ...process.env, UPKEEP_NATIVE: '0' }), lat: [] },
  ];
  const timeout = (ms) => new Promise((r) => setTimeout(() => r(false), ms));
  for (const s of sides) {
    // ready once it has printed a warm-up line
    for (let i = 0; ; i++) {
      appendFileSync(s.file, `${label(Date.now() * 1000)} warmup ${i}\n`);
      if (await Promise.race([s.w.until(`warmup ${i}\n`).then(() => true), timeout(500)])) break;
    }
  }
  const cpu0 = sides.map((s) => threadsCpu(s.w.c.pid));
  const loads = [load()];
  for (let i = 0; i < PROBES; i++) {
    for (const s of i % 2 === 0 ? sides : [...sides].reverse()) { // (alternating the order)
      const line = `probe ${i} end\n`;
      const t0 = process.hrtime.bigint();
      appendFileSync(s.file, `${label(Date.now() * 1000)} ${line}`);
      s.lat.push(Number((await s.w.until(line)) - t0) / 1e6);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  loads.push(load());
  const cpu = sides.map((s, k) => (threadsCpu(s.w.c.pid) - cpu0[k]) / PROBES);
  for (const s of sides) s.w.c.kill();
  const [u, f, nf, js] = sides;
  return {
    name: `follow latency: append to \`current\` until the line is read from the follower's stdout (median of ${PROBES}, sides alternated)`,
    upkeep: `${fmt(median(u.lat))}, CPU ${(cpu[0] * 1000).toFixed(0)} µs/line`,
    peer: `\`tail -F\` ${fmt(median(f.lat))}, CPU ${(cpu[1] * 1000).toFixed(0)} µs/line`,
    ratio: median(u.lat) / median(f.lat),
    target: 'ratio <= 1',
    met: median(u.lat) <= median(f.lat),
    loads,
    note: `a minimal node follower (fs.watch, readSync, writeSync; no rotation, no merge) on the same machine in the same run: ` +
      `${fmt(median(nf.lat))}, CPU ${(cpu[2] * 1000).toFixed(0)} µs/line (ratio to tail -F ${(median(nf.lat) / median(f.lat)).toFixed(2)}); ` +
      `upkeep with its native follower off (UPKEEP_NATIVE=0, the JavaScript follower alone): ${fmt(median(js.lat))}, ` +
      `CPU ${(cpu[3] * 1000).toFixed(0)} µs/line (ratio ${(median(js.lat) / median(f.lat)).toFixed(2)})`,
  };
}

/**
 * A process's CPU time so far, in ms, summed over its threads from /proc/PID/task/TID/schedstat (in ns:
 * a follower spends tens of µs a line, below /proc/PID/stat's 10 ms ticks).
 */
function threadsCpu(pid) {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ')[0]);
  return ns / 1e6;
}

const only = args.filter((a) => ['merge', 'since', 'follow'].includes(a));
const rows = [];
process.stdout.write(`upkeep tail benchmark, ${new Date().toISOString()}, ${cpus().length} CPUs, Node ${process.version}, load average ${load()}\n`);
for (const [name, b] of [['merge', benchMerge], ['since', benchSince], ['follow', benchFollow]]) {
  if (only.length > 0 && !only.includes(name)) continue;
  for (const r of [await b()].flat()) {
    rows.push(r);
    process.stdout.write(`${r.name}: upkeep ${r.upkeep}; ${r.peer}; ratio ${r.ratio.toFixed(3)}${r.cpuRatio ? `, CPU ratio ${r.cpuRatio.toFixed(2)}` : ''} (target ${r.target}${r.met === null ? '' : r.met ? ': met' : ': NOT met'}); load ${r.loads.join(' -> ')}\n`);
    if (r.note) process.stdout.write(`  ${r.note}\n`);
  }
}
process.stdout.write('\n| benchmark | upkeep tail | peer | ratio | target | load average |\n|---|---|---|---|---|---|\n');
for (const r of rows) {
  const ratio = r.ratio.toFixed(2) + (r.cpuRatio ? ` (CPU ${r.cpuRatio.toFixed(2)})` : '');
  process.stdout.write(`| ${r.name} | ${r.upkeep} | ${r.peer} | ${ratio} | ${r.target}${r.met === null ? '' : r.met ? ': **met**' : ': **not met**'} | ${r.loads.join(' → ')} |\n`);
}
for (const r of rows) if (r.note) process.stdout.write(`\n${r.note}\n`);
if (!args.includes('--keep')) rmSync(WORK, { recursive: true, force: true });
