// Target 3: tai64n and tai64nlocal throughput, upkeep vs Debian's, same input, same run, TZ unset.
// tai64n reads the log-lines input; tai64nlocal reads the same kind of lines, each with a valid TAI64N label
// (a seeded random walk of times). Input through a pipe from `cat`. Timed runs write to /dev/null, so that the
// figures measure the programs and not the file system's write-back (on this machine writing 200 MB to a file
// costs about as much as tai64n itself); one untimed run per side first writes a file to check the output.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { genLogs } from './gen-input.mjs';
import { MB, TARGET_MET, WORK, fmt, freshDir, interleave, maxOf, median, ratio, runPiped, table, upkeepCmd, warmPageCache, which, why } from './lib.mjs';

export const name = 'tai64n';
export const title = 'tai64n / tai64nlocal throughput (upkeep vs Debian)';

function sameFiles(a, b) {
  return spawnSync('cmp', ['-s', a, b]).status === 0;
}

function firstLine(path) {
  const buf = Buffer.alloc(200);
  const fd = openSync(path, 'r');
  const n = readSync(fd, buf, 0, 200, 0);
  closeSync(fd);
  return buf.subarray(0, n).toString('latin1').split('\n')[0];
}

export async function run(ctx) {
  const logs = genLogs(ctx.taiSizeMB, { seed: ctx.seed });
  const labelled = genLogs(ctx.taiSizeMB, { seed: ctx.seed, labels: true });
  warmPageCache(logs.path);
  warmPageCache(labelled.path);
  const env = { ...process.env };
  delete env.TZ;
  const t = which('tai64n');
  const tl = which('tai64nlocal');
  const cwd = freshDir(join(WORK, 'tai64n'));
  const sides = [
    { id: 'upkeep tai64n', prog: 'tai64n', input: logs, argv: upkeepCmd(ctx, 'tai64n', t) },
    { id: 'tai64n', prog: 'tai64n', input: logs, argv: [t] },
    { id: 'upkeep tai64nlocal', prog: 'tai64nlocal', input: labelled, argv: upkeepCmd(ctx, 'tai64nlocal', tl) },
    { id: 'tai64nlocal', prog: 'tai64nlocal', input: labelled, argv: [tl] },
  ].map((s) => ({ ...s, out: join(cwd, s.id.replace(' ', '-') + '.out') }));
  // Check runs (untimed): tai64n adds "@" + 24 hex + " " to each line; tai64nlocal turns each 25-byte label into
  // a 29-byte "YYYY-MM-DD HH:MM:SS.NNNNNNNNN" and upkeep's output must equal Debian's byte for byte.
  const checks = {};
  for (const s of sides) {
    const res = await runPiped({ argv: s.argv, input: s.input.path, cwd, stdout: s.out, env, timeoutSec: ctx.timeoutSec });
    if (!res.ok) {
      checks[s.id] = null; // the timed runs report the failure
      continue;
    }
    const size = statSync(s.out).size;
    const want = s.prog === 'tai64n' ? s.input.bytes + 26 * s.input.lines : s.input.bytes + 4 * s.input.lines;
    if (size !== want) checks[s.id] = `output ${size} bytes, expected ${want}`;
    else if (s.prog === 'tai64n' && !/^@[0-9a-f]{24} /.test(firstLine(s.out))) checks[s.id] = 'first line has no label';
    else checks[s.id] = null;
  }
  const [, , upl, deb] = sides;
  if (!checks[upl.id] && existsSync(upl.out) && existsSync(deb.out) && statSync(upl.out).size > 0 && !sameFiles(upl.out, deb.out))
    checks[upl.id] = 'output differs from Debian tai64nlocal';
  for (const s of sides) rmSync(s.out, { force: true });

  const results = await interleave(
    sides,
    ctx.reps,
    async (side) => {
      spawnSync('sync');
      return runPiped({ argv: side.argv, input: side.input.path, cwd, stdout: '/dev/null', env, timeoutSec: ctx.timeoutSec });
    },
    (side, rep, res) =>
      ctx.log(`  ${name} rep ${rep + 1}/${ctx.reps} ${side.id.padEnd(18)} ${res.ok ? fmt(side.input.bytes / MB / res.wall) + ' MB/s' : why(res)}`),
  );

  const stat = {};
  for (const s of sides) {
    const rs = results.get(s.id);
    const okRuns = rs.filter((r) => r.ok);
    const wall = median(okRuns.map((r) => r.wall));
    stat[s.id] = {
      argv: s.argv.map((a) => a.replace(/^.*\/bin\/upkeep$/, 'upkeep')).join(' '),
      runs: rs.length,
      ok: okRuns.length,
      wall,
      mbps: s.input.bytes / MB / wall,
      bestMbps: s.input.bytes / MB / (okRuns.length ? Math.min(...okRuns.map((r) => r.wall)) : NaN),
      cpu: median(okRuns.map((r) => r.cpu)),
      maxRssKB: maxOf(rs.map((r) => r.maxRssKB)),
      check: checks[s.id],
      failure: rs.find((r) => !r.ok) ? why(rs.find((r) => !r.ok)) : null,
      walls: rs.map((r) => r.wall),
    };
  }
  const pair = (what, up, peer, target) => ({
    what,
    value: ratio(stat[up].mbps, stat[peer].mbps),
    cpuRatio: ratio(stat[peer].cpu, stat[up].cpu),
    target,
  });
  const targets = [pair('tai64n: upkeep / Debian', 'upkeep tai64n', 'tai64n', 2), pair('tai64nlocal: upkeep / Debian', 'upkeep tai64nlocal', 'tai64nlocal', 2)].map((x) => ({ ...x, status: TARGET_MET(x.value, x.target) }));
  const rows = sides.map((s) => {
    const st = stat[s.id];
    return [
      s.id,
      `${fmt(s.input.bytes / MB, 1)} MB ${s.input === logs ? 'lines' : 'labelled lines'}`,
      `${st.ok}/${st.runs}`,
      fmt(st.wall, 2),
      fmt(st.mbps, 1),
      fmt(st.bestMbps, 1),
      fmt(st.cpu, 2),
      fmt(st.maxRssKB / 1024, 1),
      st.failure ?? (st.check ? 'CHECK FAILED: ' + st.check : 'ok'),
    ];
  });
  const markdown =
    `TZ unset (system zone: ${spawnSync('readlink', ['/etc/localtime'], { encoding: 'utf8' }).stdout.trim() || 'unknown'}); ` +
    `median of ${ctx.reps} interleaved runs; output to /dev/null (checked once beforehand in a file).\n\n` +
    table(['side', 'input', 'ok', 'wall s', 'MB/s', 'best MB/s', 'cpu s', 'max RSS MB', 'result'], rows);
  return {
    name,
    title,
    inputs: [logs, labelled].map(({ path, bytes, lines }) => ({ path, bytes, lines })),
    stat,
    targets,
    markdown,
  };
}
