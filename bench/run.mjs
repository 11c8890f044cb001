// Benchmark orchestrator: `node bench/run.mjs [--quick] [options] [name...]` runs all benchmarks or the named ones,
// prints a markdown report and writes it with the raw figures to bench/out/ (results-<stamp>.{md,json}, latest.*).
// Benchmarks print and record ratios; they are not tests and never fail on a missed target.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as multilog from './multilog-throughput.mjs';
import * as memory from './multilog-memory.mjs';
import * as tai64n from './tai64n-throughput.mjs';
import * as startup from './startup.mjs';
import { OUT, ROOT, WORK, fmt, table } from './lib.mjs';

const BENCHES = [multilog, memory, tai64n, startup];

const USAGE = `usage: node bench/run.mjs [--quick] [--as-peer] [--keep] [--reps N] [--size MB] [--tai-size MB]
       [--long-mb MB] [--long-count N] [--single-mb MB] [--mem-reps N] [--startup-runs N] [--seed N]
       [--timeout SEC] [${BENCHES.map((b) => b.name).join('|')} ...]
  --quick     small inputs for development (20 MB, lines of 5 MB, one 30 MB line, 3 reps)
  --as-peer   validation: run Debian's programs in place of upkeep's (ratios should be ~1.0)
  --keep      keep the log dirs and outputs in bench/out/run/
Environment: BENCH_SIZE_MB, BENCH_TAI_SIZE_MB, BENCH_REPS, BENCH_LONG_MB, BENCH_LONG_COUNT, BENCH_SINGLE_MB.`;

function parse(argv) {
  const env = process.env;
  const num = (v, d) => (v === undefined || v === '' ? d : Number(v));
  const quick = argv.includes('--quick');
  const ctx = {
    quick,
    asPeer: false,
    sizeMB: num(env.BENCH_SIZE_MB, quick ? 20 : 200),
    taiSizeMB: num(env.BENCH_TAI_SIZE_MB, undefined),
    reps: num(env.BENCH_REPS, quick ? 3 : 7),
    memReps: quick ? 1 : 3,
    longMB: num(env.BENCH_LONG_MB, quick ? 5 : 50),
    longCount: num(env.BENCH_LONG_COUNT, 4),
    singleMB: num(env.BENCH_SINGLE_MB, quick ? 30 : 300),
    startupRuns: quick ? 10 : 40,
    startupWarmup: quick ? 2 : 3,
    startupRounds: 5,
    seed: 1,
    timeoutSec: 300,
    keep: false,
    names: [],
  };
  const flags = {
    '--reps': 'reps', '--size': 'sizeMB', '--tai-size': 'taiSizeMB', '--long-mb': 'longMB', '--long-count': 'longCount',
    '--single-mb': 'singleMB', '--mem-reps': 'memReps', '--startup-runs': 'startupRuns', '--seed': 'seed', '--timeout': 'timeoutSec',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') continue;
    if (a === '--as-peer') ctx.asPeer = true;
    else if (a === '--keep') ctx.keep = true;
    else if (a === '-h' || a === '--help') return null;
    else if (flags[a]) {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      ctx[flags[a]] = v;
    } else if (BENCHES.some((b) => b.name === a)) ctx.names.push(a);
    else throw new Error(`unknown argument: ${a}`);
  }
  ctx.taiSizeMB ??= ctx.sizeMB;
  return ctx;
}

function machine() {
  const sh = (c) => spawnSync('/bin/sh', ['-c', c], { encoding: 'utf8' }).stdout.trim();
  return {
    nproc: Number(sh('nproc')),
    cpu: cpus()[0]?.model ?? 'unknown',
    memGB: Math.round(totalmem() / 2 ** 30),
    kernel: sh('uname -r'),
    node: process.version,
    os: sh('. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"'),
    commit: sh(`git -C '${ROOT}' rev-parse --short HEAD 2>/dev/null || true`) + (sh(`git -C '${ROOT}' status --porcelain -- src 2>/dev/null`) ? ' (+ uncommitted changes in src/)' : ''),
    loadavg: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

async function main() {
  let ctx;
  try {
    ctx = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
    return 100;
  }
  if (!ctx) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const selected = ctx.names.length ? BENCHES.filter((b) => ctx.names.includes(b.name)) : BENCHES;
  ctx.log = (s) => process.stderr.write(s + '\n');
  mkdirSync(OUT, { recursive: true });
  const started = new Date();
  const m = machine();
  ctx.log(`bench: ${selected.map((b) => b.name).join(', ')}; ${ctx.quick ? 'quick' : 'full'} mode; ` +
    `logs ${ctx.sizeMB} MB, tai ${ctx.taiSizeMB} MB, long ${ctx.longCount}x${ctx.longMB} MB, single ${ctx.singleMB} MB, reps ${ctx.reps}` +
    (ctx.asPeer ? '; AS-PEER validation (Debian programs stand in for upkeep)' : ''));
  const reports = [];
  for (const b of selected) {
    const t0 = Date.now();
    ctx.log(`bench: ${b.title}`);
    const r = await b.run(ctx);
    r.seconds = (Date.now() - t0) / 1000;
    reports.push(r);
  }
  // The log dirs and outputs take a GB or two at full size; --keep leaves them in bench/out/run/ to inspect.
  if (!ctx.keep) rmSync(WORK, { recursive: true, force: true });
  const finished = new Date();

  const sizes = `log lines ${ctx.sizeMB} MB (tai64n ${ctx.taiSizeMB} MB), long lines ${ctx.longCount} x ${ctx.longMB} MB, one line of ${ctx.singleMB} MB`;
  let md = `## Benchmark run ${started.toISOString().replace(/\.\d+Z$/, 'Z')}${ctx.asPeer ? ' — AS-PEER VALIDATION (Debian programs in place of upkeep)' : ''}\n\n`;
  md += `Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memGB} GB RAM, ${m.os}, Linux ${m.kernel}, Node ${m.node}; ` +
    `commit ${m.commit || '?'}; load average at start ${m.loadavg.join(' ')} (other work was running on the machine).\n` +
    `Sizes: ${sizes}; ${ctx.reps} repetitions (median), seed ${ctx.seed}. Total ${fmt((finished - started) / 1000, 0)} s.\n\n`;
  const allTargets = [];
  for (const r of reports) {
    md += `### ${r.title}\n\n${r.markdown}\n\n`;
    allTargets.push(...(r.targets ?? []));
  }
  if (allTargets.length) {
    md += '### Targets\n\n' + table(
      ['target', 'measured', 'goal', 'status', 'CPU-time ratio (info)'],
      allTargets.map((t) => [
        t.what,
        Number.isFinite(t.value) ? fmt(t.value, 2) + (t.unit ?? 'x') : 'n/a',
        t.goal ?? (t.target === null ? '-' : '>= ' + t.target + 'x'),
        t.status,
        t.cpuRatio === undefined ? '' : Number.isFinite(t.cpuRatio) ? fmt(t.cpuRatio, 2) + 'x' : 'n/a',
      ]),
    ) + '\n\nMeasured = ratio of throughputs from median wall times (what the targets are about); CPU-time ratio = ' +
      "peer's median user+sys CPU / upkeep's (less sensitive to other load on the machine, blind to waiting).\n";
  }
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const json = { started, finished, machine: m, ctx: { ...ctx, log: undefined }, reports };
  for (const base of [`results-${stamp}`, 'latest']) {
    writeFileSync(join(OUT, base + '.md'), md);
    writeFileSync(join(OUT, base + '.json'), JSON.stringify(json, null, 2) + '\n');
  }
  process.stdout.write(md);
  ctx.log(`bench: wrote ${join(OUT, `results-${stamp}.md`)} and .json (also latest.md, latest.json)`);
  return 0;
}

process.exitCode = await main();
