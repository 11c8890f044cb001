// Target 1: multilog throughput, upkeep vs Debian's multilog and s6-log, on the same input in the same run.
//   plain:  multilog t s16777215 n10 ./dir            s6-log t s16777215 n10 ./dir
//   filter: multilog t '-*' '+*ERROR*' s16777215 ...  s6-log t -.* +ERROR s16777215 n10 ./dir
// Every side reads the input file through a pipe from `cat` (file in page cache), writes its log dir under
// bench/out/run/ (same file system), runs `reps` times interleaved; the median wall time gives MB/s.
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { genLogs } from './gen-input.mjs';
import { MB, TARGET_MET, WORK, fmt, freshDir, interleave, maxOf, median, ratio, runPiped, table, upkeepCmd, warmPageCache, which, why } from './lib.mjs';
import { spawnSync } from 'node:child_process';

export const name = 'multilog';
export const title = 'multilog throughput (upkeep vs Debian multilog vs s6-log)';

const LABEL = /^@[0-9a-f]{24} $/;

/** The files of a log dir in order (old files by name, then current), each as a Buffer. */
function logFiles(dir) {
  const names = readdirSync(dir).filter((n) => n.startsWith('@')).sort();
  if (readdirSync(dir).includes('current')) names.push('current');
  return names.map((n) => join(dir, n));
}

function* lines(buf) {
  let s = 0;
  for (;;) {
    const e = buf.indexOf(10, s);
    if (e < 0) {
      if (s < buf.length) yield buf.subarray(s);
      return;
    }
    yield buf.subarray(s, e + 1);
    s = e + 1;
  }
}

/** Removes the 26-byte "@label " prefix of every line; returns null if a line lacks it. */
function stripLabels(buf) {
  const parts = [];
  for (const l of lines(buf)) {
    if (l.length < 26 || !LABEL.test(l.subarray(0, 26).toString('latin1'))) return null;
    parts.push(l.subarray(26));
  }
  return Buffer.concat(parts);
}

/**
 * Plain script: what the log dir retained (old files by name, then current), minus the labels, must be exactly the
 * tail of the input. The first retained file may start inside a line: multilog's hard cap at `s` can split a long
 * line across a rotation, and the files holding its start may have been deleted (n10).
 */
function checkPlain(dir, input) {
  const files = logFiles(dir);
  if (!files.length || !files.at(-1).endsWith('current')) return 'no current';
  let all = Buffer.concat(files.map((f) => readFileSync(f)));
  if (all.length && all[all.length - 1] !== 10) return 'the log does not end with a newline';
  if (!LABEL.test(all.subarray(0, 26).toString('latin1'))) all = all.subarray(all.indexOf(10) + 1);
  const body = stripLabels(all);
  if (body === null) return 'a line without a TAI64N label';
  if (body.length > input.bytes) return 'more bytes logged than read';
  const tail = Buffer.alloc(body.length);
  const fd = openSync(input.path, 'r');
  readSync(fd, tail, 0, body.length, input.bytes - body.length);
  closeSync(fd);
  return tail.equals(body) ? null : 'the log is not the tail of the input';
}

const filteredLines = new Map();

/** Filter script: exactly the input's ERROR lines, all retained (they fit in the log dir), each labelled. */
function checkFilter(dir, input) {
  let n = 0;
  for (const f of logFiles(dir)) {
    const body = stripLabels(readFileSync(f));
    if (body === null) return `${f}: a line without a TAI64N label`;
    for (const l of lines(body)) {
      if (l.indexOf('ERROR') < 0) return `${f}: a line without ERROR`;
      n++;
    }
  }
  filteredLines.set(dir, n);
  return n === input.errorLines ? null : `${n} lines logged, ${input.errorLines} ERROR lines in the input`;
}

export async function run(ctx) {
  const input = genLogs(ctx.sizeMB, { seed: ctx.seed });
  warmPageCache(input.path);
  const multilog = which('multilog');
  const s6log = which('s6-log');
  const S = ['s16777215', 'n10'];
  const sides = [
    { id: 'upkeep', group: 'plain', argv: [...upkeepCmd(ctx, 'multilog', multilog), 't', ...S, './d-upkeep'] },
    { id: 'multilog', group: 'plain', argv: [multilog, 't', ...S, './d-multilog'] },
    { id: 's6-log', group: 'plain', argv: [s6log, 't', ...S, './d-s6-log'] },
    { id: 'upkeep+filter', group: 'filter', argv: [...upkeepCmd(ctx, 'multilog', multilog), 't', '-*', '+*ERROR*', ...S, './d-upkeep-f'] },
    { id: 'multilog+filter', group: 'filter', argv: [multilog, 't', '-*', '+*ERROR*', ...S, './d-multilog-f'] },
    { id: 's6-log+filter', group: 'filter', argv: [s6log, 't', '-.*', '+ERROR', ...S, './d-s6-log-f'] },
  ].filter((s) => s.argv[0]);
  const cwd = freshDir(join(WORK, 'multilog'));
  const checks = new Map();
  const results = await interleave(
    sides,
    ctx.reps,
    async (side, rep) => {
      const dir = join(cwd, side.argv.at(-1));
      rmSync(dir, { recursive: true, force: true }); // each program creates its log dir afresh
      spawnSync('sync'); // flush the previous run's dirty pages before timing this one
      const res = await runPiped({ argv: side.argv, input: input.path, cwd, timeoutSec: ctx.timeoutSec });
      if (rep === 0) checks.set(side.id, res.ok ? (side.group === 'plain' ? checkPlain : checkFilter)(dir, input) : null);
      return res;
    },
    (side, rep, res) => ctx.log(`  ${name} rep ${rep + 1}/${ctx.reps} ${side.id.padEnd(16)} ${res.ok ? fmt(input.bytes / MB / res.wall) + ' MB/s' : why(res)}`),
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
      mbps: input.bytes / MB / wall,
      bestMbps: input.bytes / MB / (okRuns.length ? Math.min(...okRuns.map((r) => r.wall)) : NaN),
      cpu: median(okRuns.map((r) => r.cpu)),
      maxRssKB: maxOf(rs.map((r) => r.maxRssKB)),
      check: checks.get(s.id) ?? null,
      linesLogged: filteredLines.get(join(cwd, s.argv.at(-1))) ?? null,
      failure: rs.find((r) => !r.ok) ? why(rs.find((r) => !r.ok)) : null,
      walls: rs.map((r) => r.wall),
    };
  }
  // Ratio of throughputs (median wall times); beside it, for information, the ratio of CPU times (peer / upkeep).
  const pair = (what, up, peer, target) => ({
    what,
    value: ratio(stat[up]?.mbps, stat[peer]?.mbps),
    cpuRatio: ratio(stat[peer]?.cpu, stat[up]?.cpu),
    target,
  });
  const targets = [
    pair('multilog plain: upkeep / Debian multilog', 'upkeep', 'multilog', 3),
    pair('multilog plain: upkeep / s6-log', 'upkeep', 's6-log', 2),
    pair('multilog filter: upkeep / s6-log', 'upkeep+filter', 's6-log+filter', 2),
    pair('multilog filter: upkeep / Debian multilog (info)', 'upkeep+filter', 'multilog+filter', null),
  ].map((t) => ({ ...t, status: t.target === null ? 'info' : TARGET_MET(t.value, t.target) }));

  const rows = sides.map((s) => {
    const st = stat[s.id];
    return [
      s.id,
      '`' + st.argv + '`',
      `${st.ok}/${st.runs}`,
      fmt(st.wall, 2),
      fmt(st.mbps, 1),
      fmt(st.bestMbps, 1),
      fmt(st.cpu, 2),
      fmt(st.maxRssKB / 1024, 1),
      st.failure ?? (st.check ? 'CHECK FAILED: ' + st.check : st.linesLogged === null ? 'ok' : `ok, ${st.linesLogged} lines logged`),
    ];
  });
  const markdown =
    `Input: ${fmt(input.bytes / MB, 1)} MB, ${input.lines} lines (${input.errorLines} with ERROR), fed by \`cat FILE |\`; ` +
    `median of ${ctx.reps} interleaved runs.\n\n` +
    table(['side', 'command', 'ok', 'wall s', 'MB/s', 'best MB/s', 'cpu s', 'max RSS MB', 'result'], rows);
  return { name, title, input: { path: input.path, bytes: input.bytes, lines: input.lines, errorLines: input.errorLines }, stat, targets, markdown };
}
