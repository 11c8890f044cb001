// Target 4: start-up time. `upkeep tai64nlocal </dev/null` and `upkeep svc` (or `upkeep help` as a stand-in while
// svc is not a program yet) vs a bare `node -e 0`, with hyperfine (no shell, stdin /dev/null, warmup, N runs).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OUT, ROOT, UPKEEP, fmt, ratio, table, which } from './lib.mjs';

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
  const json = join(OUT, 'startup-hyperfine.json');
  const args = ['-N', '-i', '--style', 'none', '--warmup', String(ctx.startupWarmup), '--runs', String(ctx.startupRuns), '--export-json', json];
  for (const c of cmds) args.push('-n', c.id, c.cmd);
  ctx.log(`  ${name}: hyperfine ${ctx.startupRuns} runs x ${cmds.length} commands`);
  const r = spawnSync(hyperfine, args, { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) return { name, title, targets: [], markdown: 'hyperfine failed: ' + (r.stderr || '').trim().split('\n')[0] };
  const res = JSON.parse(readFileSync(json, 'utf8')).results;
  const base = res[0].mean;
  const stat = {};
  for (const [i, c] of cmds.entries()) {
    const x = res[i];
    const codes = [...new Set(x.exit_codes)];
    stat[c.id] = { cmd: c.cmd, mean: x.mean, stddev: x.stddev, median: x.median, min: x.min, exitCodes: codes, ratio: ratio(x.mean, base) };
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
    return [c.id, fmt(s.mean * 1000, 1), fmt(s.stddev * 1000, 1), fmt(s.median * 1000, 1), fmt(s.ratio, 2), s.exitCodes.join(',')];
  });
  const markdown =
    `hyperfine -N (no shell; stdin /dev/null), warmup ${ctx.startupWarmup}, ${ctx.startupRuns} runs each; ratio of means to \`node -e 0\`.` +
    (svc ? '' : ' `upkeep svc` is not a program yet: `upkeep help` stands in for it.') +
    '\n\n' +
    table(['command', 'mean ms', 'σ ms', 'median ms', 'ratio', 'exit codes'], rows);
  return { name, title, stat, targets, markdown };
}
