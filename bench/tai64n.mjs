#!/usr/bin/env node
// Throughput of upkeep tai64n / tai64nlocal against Debian's tai64n / tai64nlocal on the same input in
// the same run, and start-up time against `node -e 0`.
//   node bench/tai64n.mjs [MB] [runs]      (default 100 MB, best of 3; needs `npm run build` first)
// Input: log-like lines of 20..140 bytes; for tai64nlocal the same lines with labels 1 ms apart (so the
// second changes every 1000 lines). stdin is a regular file, stdout /dev/null. Reported: wall time and
// CPU time (user + sys, from /usr/bin/time when installed) of the best run, MB/s of input, and ratios.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const UPKEEP = join(ROOT, 'bin/upkeep');
const MB = Number(process.argv[2] ?? 100);
const RUNS = Number(process.argv[3] ?? 3);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

const dir = mkdtempSync(join(tmpdir(), 'upkeep-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function makeInputs() {
  const plain = join(dir, 'plain');
  const stamped = join(dir, 'stamped');
  const fp = openSync(plain, 'w');
  const fs = openSync(stamped, 'w');
  let bytes = 0;
  let line = 0;
  let us = 1_795_342_628_000_000; // 2026-11-22, 1000 lines per second
  const base = (1n << 62n) + 10n;
  while (bytes < MB * 1e6) {
    const a = [];
    const b = [];
    for (let i = 0; i < 5000; i++, line++, us += 1000) {
      const text = `${line} service[${line % 97}]: ${'request handled ok '.repeat(1 + (line % 7))}`.slice(0, 20 + ((line * 7919) % 120));
      a.push(text);
      const sec = base + BigInt(Math.floor(us / 1e6));
      const nano = (us % 1e6) * 1000 + 500;
      b.push('@' + sec.toString(16).padStart(16, '0') + nano.toString(16).padStart(8, '0') + ' ' + text);
    }
    const pa = a.join('\n') + '\n';
    bytes += Buffer.byteLength(pa);
    writeSync(fp, pa);
    writeSync(fs, b.join('\n') + '\n');
  }
  closeSync(fp);
  closeSync(fs);
  return { plain, stamped, lines: line };
}

/** Runs cmd with stdin from `file`, stdout to /dev/null; best (min wall) of RUNS, with CPU time. */
function measure(cmd, args, file, env = process.env) {
  let best = null;
  for (let r = 0; r < RUNS; r++) {
    const fd = openSync(file, 'r');
    const t0 = process.hrtime.bigint();
    const res = TIME
      ? spawnSync(TIME, ['-f', '%U %S', cmd, ...args], { stdio: [fd, 'ignore', 'pipe'], env })
      : spawnSync(cmd, args, { stdio: [fd, 'ignore', 'pipe'], env });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    closeSync(fd);
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${res.status} ${res.stderr}`);
    const [u, s] = TIME ? res.stderr.toString().trim().split('\n').pop().split(' ').map(Number) : [NaN, NaN];
    const m = { wall, cpu: u + s };
    if (!best || m.wall < best.wall) best = m;
  }
  return best;
}

function row(name, m, mb) {
  return `${name.padEnd(34)} ${m.wall.toFixed(2).padStart(6)} s wall ${(mb / m.wall).toFixed(0).padStart(5)} MB/s` +
    (Number.isNaN(m.cpu) ? '' : `   ${m.cpu.toFixed(2).padStart(6)} s cpu ${(mb / m.cpu).toFixed(0).padStart(5)} MB/s`);
}

function compare(title, ours, theirs, mb) {
  console.log(row(`upkeep ${title}`, ours, mb));
  console.log(row(`Debian ${title}`, theirs, mb));
  const cpu = Number.isNaN(ours.cpu) ? '' : `, cpu ${(theirs.cpu / ours.cpu).toFixed(2)}x`;
  console.log(`${''.padEnd(34)} upkeep is faster by: wall ${(theirs.wall / ours.wall).toFixed(2)}x${cpu}\n`);
}

function startup() {
  const cmds = [['node', ['-e', '0']], [UPKEEP, ['tai64nlocal']], [UPKEEP, ['tai64n']]];
  const t = cmds.map(() => []);
  for (let r = 0; r < 21; r++)
    cmds.forEach(([c, a], k) => {
      const t0 = process.hrtime.bigint();
      spawnSync(c, a, { stdio: ['ignore', 'ignore', 'inherit'] });
      t[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  const base = med(t[0]);
  console.log(`start-up (median of 21): node -e 0 ${base.toFixed(1)} ms`);
  for (const k of [1, 2]) console.log(`  upkeep ${cmds[k][1][0].padEnd(12)} ${med(t[k]).toFixed(1)} ms = ${(med(t[k]) / base).toFixed(2)}x node -e 0`);
}

const { plain, stamped, lines } = makeInputs();
const mb = MB;
console.log(`input: ${mb} MB, ${lines} lines; best of ${RUNS} runs; ${new Date().toISOString()}\n`);
compare('tai64n', measure(UPKEEP, ['tai64n'], plain), measure('tai64n', [], plain), mb);
const noTz = { ...process.env };
delete noTz.TZ;
const mbStamped = mb + (lines * 26) / 1e6;
compare('tai64nlocal (TZ unset)', measure(UPKEEP, ['tai64nlocal'], stamped, noTz), measure('tai64nlocal', [], stamped, noTz), mbStamped);
const berlin = { ...process.env, TZ: 'Europe/Berlin' };
compare('tai64nlocal (TZ=Europe/Berlin)', measure(UPKEEP, ['tai64nlocal'], stamped, berlin), measure('tai64nlocal', [], stamped, berlin), mbStamped);
startup();
