// Target 2: peak memory of `upkeep multilog t s16777215 n10 ./dir` stays under 80 MB whatever the input size or
// line length. Max RSS is ru_maxrss of the program itself (GNU time %M), beside Debian multilog's (and s6-log's,
// for context), on: the log-lines input, lines of LONG_MB MB without a newline inside, and one line of SINGLE_MB MB.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { genLogs, genLong } from './gen-input.mjs';
import { MB, TARGET_MET, WORK, fmt, freshDir, interleave, maxOf, runPiped, table, upkeepCmd, warmPageCache, which, why } from './lib.mjs';

export const name = 'memory';
export const title = 'multilog peak memory (max RSS)';
export const LIMIT_MB = 80;

export async function run(ctx) {
  const inputs = [
    { id: 'logs', desc: `${ctx.sizeMB} MB of log lines`, ...genLogs(ctx.sizeMB, { seed: ctx.seed }) },
    { id: 'long', desc: `${ctx.longCount} lines of ${ctx.longMB} MB`, ...genLong(ctx.longMB, ctx.longCount) },
    { id: 'single', desc: `1 line of ${ctx.singleMB} MB`, ...genLong(ctx.singleMB, 1) },
  ];
  const multilog = which('multilog');
  const s6log = which('s6-log');
  const progs = [
    { prog: 'upkeep', argv: [...upkeepCmd(ctx, 'multilog', multilog), 't', 's16777215', 'n10'] },
    { prog: 'multilog', argv: [multilog, 't', 's16777215', 'n10'] },
    { prog: 's6-log', argv: [s6log, 't', 's16777215', 'n10'] },
  ].filter((p) => p.argv[0]);
  const cwd = freshDir(join(WORK, 'memory'));
  const out = {};
  for (const inp of inputs) {
    warmPageCache(inp.path);
    const sides = progs.map((p) => ({ id: p.prog, argv: [...p.argv, `./d-${p.prog}`] }));
    const runSide = async (side) => {
      rmSync(join(cwd, side.argv.at(-1)), { recursive: true, force: true });
      spawnSync('sync');
      return runPiped({ argv: side.argv, input: inp.path, cwd, timeoutSec: ctx.timeoutSec });
    };
    const logRun = (side, rep, res) =>
      ctx.log(`  ${name} ${inp.id} ${side.id.padEnd(9)} ${fmt(res.maxRssKB / 1024)} MB max RSS, ${fmt(res.wall, 2)} s ${why(res)}`);
    // The peers' peak RSS is the same to within 0.2 MB from run to run; upkeep's (a garbage-collected heap)
    // moves by a few MB, so upkeep runs `memReps` times and the worst run counts.
    const results = await interleave(sides, 1, runSide, logRun);
    for (let r = 1; r < ctx.memReps; r++) {
      const up = sides[0];
      const res = await runSide(up);
      results.get(up.id).push(res);
      logRun(up, r, res);
    }
    out[inp.id] = {};
    for (const s of sides) {
      const rs = results.get(s.id);
      out[inp.id][s.id] = {
        maxRssKB: maxOf(rs.map((r) => r.maxRssKB)),
        wall: Math.max(...rs.map((r) => r.wall)),
        ok: rs.every((r) => r.ok),
        failure: rs.find((r) => !r.ok) ? why(rs.find((r) => !r.ok)) : null,
      };
    }
  }
  const targets = inputs.map((inp) => {
    const u = out[inp.id].upkeep;
    const value = u ? u.maxRssKB / 1024 : NaN;
    // A failed run (placeholder, crash, timeout) does not count as meeting the target.
    const status = !u || !u.ok ? 'n/a' : value < LIMIT_MB ? 'met' : 'MISSED';
    return { what: `upkeep multilog max RSS, ${inp.desc}`, value, unit: ' MB', goal: `< ${LIMIT_MB} MB`, target: LIMIT_MB, status: u && !u.ok ? `n/a (${u.failure.slice(0, 40)})` : status };
  });
  const rows = inputs.map((inp) => [
    inp.desc,
    ...progs.map((p) => {
      const r = out[inp.id][p.prog];
      return r.ok ? `${fmt(r.maxRssKB / 1024)} MB (${fmt(r.wall, 1)} s)` : `${fmt(r.maxRssKB / 1024)} MB, ${r.failure}`;
    }),
  ]);
  const markdown =
    `Script \`t s16777215 n10 ./dir\`, input through a pipe; max RSS of the program (GNU time %M); upkeep: worst of ${ctx.memReps} runs, peers: 1 run.\n\n` +
    table(['input', ...progs.map((p) => p.prog)], rows);
  return { name, title, inputs: inputs.map(({ id, desc, bytes, lines }) => ({ id, desc, bytes, lines })), stat: out, targets, markdown };
}
