// Shared pieces of the benchmarks: running one side (a command fed from a file through a pipe, timed, with its
// peak RSS), medians, interleaving and markdown tables. Nothing here is a test: benchmarks print and record.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from './gen-input.mjs';

export const BENCH = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(BENCH, '..');
export const OUT = join(BENCH, 'out');
export const WORK = join(OUT, 'run'); // log dirs and outputs: same file system as the inputs
export const UPKEEP = join(ROOT, 'bin', 'upkeep');
export const TIME = '/usr/bin/time';
export const MB = 1024 * 1024;

export function which(cmd) {
  const r = spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Reads a file once so that it sits in the page cache for the timed runs. */
export function warmPageCache(path) {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(4 * MB);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

export function freshDir(path) {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  return path;
}

/**
 * Runs `argv` as `cat INPUT | /usr/bin/time ... argv > stdoutPath` from `cwd`, the same way for every side: input
 * through a pipe, the program's own peak RSS (ru_maxrss of the timed process, not of cat), its CPU time, and the
 * wall time of the whole pipeline. `timeoutSec` kills the pipeline (its process group) if it runs away.
 */
export function runPiped({ argv, input, cwd, stdout = '/dev/null', timeoutSec = 600, env }) {
  mkdirSync(WORK, { recursive: true });
  const timeFile = join(WORK, `.time-${process.pid}`);
  rmSync(timeFile, { force: true });
  const script = 'in=$1; out=$2; tf=$3; shift 3; cat "$in" | "$0" -f "%e %U %S %M" -o "$tf" "$@" > "$out"';
  return new Promise((resolveP, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/bin/sh', ['-c', script, TIME, input, stdout, timeFile, ...argv], {
      cwd,
      env: env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // own process group, so that a timeout can kill cat, time and the program together
    });
    const err = [];
    child.stderr.on('data', (b) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutSec * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      let stderr = Buffer.concat(err).toString('utf8');
      // /usr/bin/time writes "Command exited with non-zero status N" before the format line when N != 0.
      let user = NaN, sys = NaN, maxRssKB = NaN, exit = code;
      if (existsSync(timeFile)) {
        const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
        const m = /Command exited with non-zero status (\d+)/.exec(lines.join('\n'));
        if (m) exit = Number(m[1]);
        const sig = /Command terminated by signal (\d+)/.exec(lines.join('\n'));
        if (sig) exit = 128 + Number(sig[1]);
        const f = (lines.at(-1) ?? '').split(' ').map(Number);
        if (f.length === 4) [, user, sys, maxRssKB] = f;
        rmSync(timeFile, { force: true });
      }
      if (timedOut) stderr += `\n(killed after ${timeoutSec} s)`;
      resolveP({ ok: !timedOut && code === 0 && exit === 0, exit, signal, timedOut, wall, user, sys, cpu: user + sys, maxRssKB, stderr: stderr.trim() });
    });
  });
}

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * Runs every side `reps` times, interleaved: each round runs every side once, in an order shuffled by a seeded
 * PRNG, so that no side is always first after a quiet spell, always last, or always after the same neighbour
 * (whose write-back or cache effects would then bias it).
 */
export async function interleave(sides, reps, runOne, log = () => {}) {
  const results = new Map(sides.map((s) => [s.id, []]));
  const rnd = prng(4242);
  for (let r = 0; r < reps; r++) {
    const order = [...sides];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const side of order) {
      const res = await runOne(side, r);
      results.get(side.id).push(res);
      log(side, r, res);
    }
  }
  return results;
}

export function fmt(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return x.toFixed(digits);
}

export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN;
}

/** Markdown table from a header and rows of cells. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const w = header.map((_, i) => Math.max(3, ...all.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  return [line(all[0]), '| ' + w.map((n) => '-'.repeat(n)).join(' | ') + ' |', ...all.slice(1).map(line)].join('\n');
}

/** The first line of a failed run's stderr, for the report. */
export function why(res) {
  if (res.ok) return '';
  if (res.timedOut) return 'timeout: ' + res.stderr.split('\n').at(-1);
  const first = res.stderr.split('\n').find((l) => l.trim()) ?? '';
  return `exit ${res.exit}${res.timedOut ? ' (timeout)' : ''}${first ? ': ' + first.slice(0, 120) : ''}`;
}

/** The command that runs an upkeep program, or the Debian peer itself in `--as-peer` validation mode. */
export function upkeepCmd(ctx, prog, peerPath) {
  return ctx.asPeer ? [peerPath] : [UPKEEP, prog];
}

export const TARGET_MET = (v, target) => (Number.isFinite(v) ? (v >= target ? 'met' : 'MISSED') : 'n/a');

/** The largest finite value, or NaN when there is none. */
export function maxOf(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? Math.max(...v) : NaN;
}
