// Target 4: start-up time. `upkeep tai64nlocal </dev/null` and `upkeep svc` (or `upkeep help` as a stand-in while
// svc is not a program yet) vs a bare `node -e 0`, with hyperfine (no shell, stdin /dev/null, warmup, N runs).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OUT, ROOT, UPKEEP, fmt, median, ratio, table, which } from './lib.mjs';

export const name = 'startup';
export const title = 'start-up time (hyperfine)';

async function hasProgram(prog) {
  const reg = join(ROOT, 'dist', 'cli', 'registry.js');
  if (!existsSync(reg)) return false;
  const { PROGRAMS } = await import(pathToFileURL(reg).href);
  return Object.hasOwn(PROGRAMS, prog);
}

export async function run(ctx) {
  const hyperfine = which('hyperfine');
  if (!hyperfine) return { name, title, targets: [], markdown: 'hyperfine not found: skipped.' };
  const node = which('node');
  const svc = await hasProgram('svc');
  const cmds = [
    { id: 'node -e 0', cmd: `${node} -e 0` },
    { id: 'upkeep tai64nlocal </dev/null', cmd: ctx.asPeer ? `${node} -e 0` : `${UPKEEP} tai64nlocal` },
    svc
      ? { id: 'upkeep svc', cmd: ctx.asPeer ? `${node} -e 0` : `${UPKEEP} svc` }
      : { id: 'upkeep help (stand-in: svc is not a program yet)', cmd: ctx.asPeer ? `${node} -e 0` : `${UPKEEP} help` },
  ];
  // hyperfine runs all the runs of one command before the next; to spread the noise of a busy machine over every
  // command, it is called in `rounds` rounds, each with its own warmup and a rotated command order, and the times
  // of all rounds are pooled (each round's JSON export is kept in bench/out/).
  const rounds = Math.max(1, Math.min(ctx.startupRounds, ctx.startupRuns));
  const perRound = Math.ceil(ctx.startupRuns / rounds);
  ctx.log(`  ${name}: hyperfine, ${rounds} rounds x ${perRound} runs x ${cmds.length} commands`);
  const times = new Map(cmds.map((c) => [c.id, []]));
  const codes = new Map(cmds.map((c) => [c.id, new Set()]));
  for (let r = 0; r < rounds; r++) {
    const json = join(OUT, `startup-hyperfine-${r + 1}.json`);
    const args = ['-N', '-i', '--style', 'none', '--warmup', String(ctx.startupWarmup), '--runs', String(perRound), '--export-json', json];
    const order = cmds.map((_, i) => cmds[(i + r) % cmds.length]);
    for (const c of order) args.push('-n', c.id, c.cmd);
    const h = spawnSync(hyperfine, args, { encoding: 'utf8', cwd: ROOT });
    if (h.status !== 0) return { name, title, targets: [], markdown: 'hyperfine failed: ' + (h.stderr || '').trim().split('\n')[0] };
    for (const x of JSON.parse(readFileSync(json, 'utf8')).results) {
      times.get(x.command).push(...x.times);
      for (const e of x.exit_codes) codes.get(x.command).add(e);
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const stat = {};
  for (const c of cmds) {
    const xs = times.get(c.id);
    const m = mean(xs);
    const sd = Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
    stat[c.id] = { cmd: c.cmd, runs: xs.length, mean: m, stddev: sd, median: median(xs), min: Math.min(...xs), exitCodes: [...codes.get(c.id)] };
  }
  const base = stat[cmds[0].id];
  for (const c of cmds) {
    stat[c.id].ratio = ratio(stat[c.id].mean, base.mean);
    stat[c.id].medianRatio = ratio(stat[c.id].median, base.median);
  }
  const targets = cmds.slice(1).map((c) => {
    const s = stat[c.id];
    const value = s.ratio;
    // A placeholder (exit 111) does not load the real program: its time says nothing yet.
    const placeholder = s.exitCodes.includes(111);
    const status = placeholder ? 'n/a (exit 111: placeholder?)' : Number.isFinite(value) ? (value <= 1.5 ? 'met' : 'MISSED') : 'n/a';
    return { what: `start-up: ${c.id} / node -e 0`, value, goal: '<= 1.5x', target: 1.5, status };
  });
  const rows = cmds.map((c) => {
    const s = stat[c.id];
    return [c.id, String(s.runs), fmt(s.mean * 1000, 1), fmt(s.stddev * 1000, 1), fmt(s.median * 1000, 1), fmt(s.ratio, 2), fmt(s.medianRatio, 2), s.exitCodes.join(',')];
  });
  const markdown =
    `hyperfine -N (no shell; stdin /dev/null), ${rounds} rounds of warmup ${ctx.startupWarmup} + ${perRound} runs per command, ` +
    `pooled; ratio of means (and of medians) to \`node -e 0\`.` +
    (svc ? '' : ' `upkeep svc` is not a program yet: `upkeep help` stands in for it.') +
    '\n\n' +
    table(['command', 'runs', 'mean ms', 'σ ms', 'median ms', 'ratio (means)', 'ratio (medians)', 'exit codes'], rows);
  return { name, title, stat, targets, markdown };
}
