// Where does upkeep spend its time? Runs one upkeep program under `node --cpu-prof` on a benchmark input (through
// a pipe, as the benchmarks do) and prints the functions with the most self time. Not part of `run.mjs`.
//
//   node bench/profile.mjs multilog [--size MB] [-- script...]   default script: t s16777215 n10 ./d-profile
//   node bench/profile.mjs tai64n|tai64nlocal [--size MB]
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { genLogs } from './gen-input.mjs';
import { ROOT, WORK, freshDir, table } from './lib.mjs';

// bin/upkeep is a shell launcher; profile the node program it execs.
const ENTRY = join(ROOT, 'dist', 'cli', 'entry.js');

const argv = process.argv.slice(2);
const prog = argv[0];
if (!['multilog', 'tai64n', 'tai64nlocal'].includes(prog)) {
  process.stderr.write('usage: node bench/profile.mjs multilog|tai64n|tai64nlocal [--size MB] [--top N] [-- script...]\n');
  process.exit(100);
}
const opt = (name, d) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d);
const sizeMB = opt('--size', 50);
const top = opt('--top', 25);
const dash = argv.indexOf('--');
const script = dash >= 0 ? argv.slice(dash + 1) : prog === 'multilog' ? ['t', 's16777215', 'n10', './d-profile'] : [];

const input = genLogs(sizeMB, { labels: prog === 'tai64nlocal' });
const cwd = freshDir(join(WORK, 'profile'));
const profDir = join(cwd, 'prof');
const t0 = Date.now();
const r = spawnSync(
  '/bin/sh',
  ['-c', 'in=$1; node=$2; dir=$3; shift 3; cat "$in" | "$node" --cpu-prof --cpu-prof-dir="$dir" "$@" > /dev/null', 'sh', input.path, process.execPath, profDir, ENTRY, prog, ...script],
  { cwd, stdio: ['ignore', 'ignore', 'inherit'] },
);
if (r.status !== 0) {
  process.stderr.write(`profile: upkeep ${prog} exited ${r.status}\n`);
  process.exit(1);
}
const wall = (Date.now() - t0) / 1000;
const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const n = byId.get(prof.samples[i]);
  const dt = prof.timeDeltas[i] ?? 0;
  total += dt;
  const cf = n.callFrame;
  const where = cf.url ? `${relative(ROOT, cf.url.replace(/^file:\/\//, ''))}:${cf.lineNumber + 1}` : '';
  const key = `${cf.functionName || '(anonymous)'}\t${where}`;
  self.set(key, (self.get(key) ?? 0) + dt);
}
const rows = [...self.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)
  .map(([k, us]) => {
    const [fn, where] = k.split('\t');
    return [fn, where, (us / 1000).toFixed(0), ((100 * us) / total).toFixed(1)];
  });
process.stdout.write(
  `upkeep ${prog} ${script.join(' ')} on ${(input.bytes / 2 ** 20).toFixed(0)} MB: ${wall.toFixed(2)} s wall, ` +
    `${(total / 1e6).toFixed(2)} s sampled; profile ${join(profDir, file)}\n\n` +
    table(['function', 'where', 'self ms', 'self %'], rows) +
    '\n',
);
rmSync(join(cwd, 'd-profile'), { recursive: true, force: true });
