// upkeep tai64n against daemontools' tai64n (and s6-tai64n for --tai s6): the same bytes around the
// labels, labels that are the wall-clock time of the line in the right convention, output that appears
// as soon as a line (or part of one) is written, and exit codes.
import { spawn, spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { itWithPeer, tmpdir, upkeep, UPKEEP, waitFor } from '../helpers/index.js';

const BASE = (1n << 62n) + 10n;
const LABEL = /^@[0-9a-f]{24} /;

/** Splits tai64n output into [label, line] pairs (a line keeps its newline). */
function split(out: Buffer): { label: string; rest: Buffer }[] {
  const res: { label: string; rest: Buffer }[] = [];
  let i = 0;
  while (i < out.length) {
    const label = out.subarray(i, i + 26).toString('latin1');
    if (!LABEL.test(label)) expect(label).toMatch(LABEL);
    let nl = out.indexOf(10, i + 26);
    nl = nl < 0 ? out.length : nl + 1;
    res.push({ label: label.slice(0, 25), rest: out.subarray(i + 26, nl) });
    i = nl;
  }
  return res;
}

/** UNIX microseconds of a daemontools-convention label. */
const micros = (label: string, conv: 'daemontools' | 's6' = 'daemontools') => {
  const sec = BigInt('0x' + label.slice(1, 17)) - BASE - (conv === 's6' ? 27n : 0n);
  const nano = parseInt(label.slice(17), 16);
  return Number(sec) * 1e6 + Math.floor(nano / 1000);
};

describe('upkeep tai64n', () => {
  const inputs: [string, Buffer][] = [
    ['lines', Buffer.from('a\nbb\nccc\n')],
    ['empty lines', Buffer.from('\n\nx\n\n')],
    ['a partial last line', Buffer.from('one\ntwo')],
    ['only a partial line', Buffer.from('no newline')],
    ['binary bytes', Buffer.from([0, 255, 13, 10, 1, 2, 3, 10, 0x80, 0xfe, 10])],
    ['a long line', Buffer.concat([Buffer.alloc(300000, 'x'), Buffer.from('\nshort\n')])],
    ['many lines across reads', Buffer.from(Array.from({ length: 50000 }, (_, i) => `line ${i} ${'y'.repeat(i % 97)}`).join('\n') + '\n')],
  ];

  itWithPeer(['tai64n'])('writes the same bytes as daemontools around the labels', async () => {
    for (const [what, input] of inputs) {
      const want = spawnSync('tai64n', [], { input, maxBuffer: 1 << 26 });
      const got = await upkeep(['tai64n'], { input });
      expect(got.code, what).toBe(0);
      const a = split(got.stdout);
      const b = split(want.stdout);
      expect(a.length, what).toBe(b.length);
      expect(Buffer.concat(a.map((x) => x.rest)).equals(Buffer.concat(b.map((x) => x.rest))), what).toBe(true);
      expect(Buffer.concat(a.map((x) => x.rest)).equals(input), what).toBe(true);
    }
  });

  it('writes nothing for empty input and exits 0', async () => {
    const r = await upkeep(['tai64n'], { input: '' });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  // (4 ms of slack: clock.ts re-anchors to Date when the two drift more than 3 ms apart)
  it('stamps the wall-clock time of each line, never decreasing, nanoseconds ending in 500', async () => {
    const before = Date.now() * 1000;
    const r = await upkeep(['tai64n'], { input: inputs[6]![1] });
    const after = Date.now() * 1000;
    const labels = split(r.stdout).map((x) => x.label);
    expect(labels.length).toBe(50000);
    let prev = 0;
    const bad: string[] = [];
    for (const l of labels) {
      const us = micros(l);
      if (us < before - 4000 || us > after + 4000 || us < prev || parseInt(l.slice(17), 16) % 1000 !== 500)
        bad.push(`${l} = ${us} (previous ${prev}, run from ${before} to ${after})`);
      prev = us;
    }
    expect(bad).toEqual([]);
  });

  itWithPeer(['tai64n', 's6-tai64n'])('uses daemontools\' convention, or s6\'s (27 s ahead) with --tai s6', async () => {
    const sec = (out: Buffer) => BigInt('0x' + out.subarray(1, 17).toString());
    const [d, s, od, os] = await Promise.all([
      Promise.resolve(spawnSync('tai64n', [], { input: 'x\n' }).stdout),
      Promise.resolve(spawnSync('s6-tai64n', [], { input: 'x\n' }).stdout),
      upkeep(['tai64n'], { input: 'x\n' }).then((r) => r.stdout),
      upkeep(['tai64n', '--tai', 's6'], { input: 'x\n' }).then((r) => r.stdout),
    ]);
    const near = (a: bigint, b: bigint) => expect(Number(a - b)).toBeGreaterThanOrEqual(-3) && expect(Number(a - b)).toBeLessThanOrEqual(3);
    near(sec(od), sec(d));
    near(sec(os), sec(s));
    expect(sec(s) - sec(d) >= 24n && sec(s) - sec(d) <= 30n).toBe(true);
    // and what s6-tai64nlocal makes of our s6 labels is now
    const local = spawnSync('s6-tai64nlocal', [], { input: os, env: { TZ: 'UTC' } }).stdout.toString();
    const shown = Date.parse(local.slice(0, 19).replace(' ', 'T') + 'Z');
    expect(Math.abs(shown - Date.now())).toBeLessThan(10_000);
  });

  it('stamps a line when its first byte arrives and shows it before blocking again', async () => {
    const child = spawn(UPKEEP, ['tai64n'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = Buffer.alloc(0);
    child.stdout.on('data', (b: Buffer) => (out = Buffer.concat([out, b])));
    const t0 = Date.now();
    child.stdin.write('first half');
    await waitFor(() => out.length === 26 + 10, 'the stamped partial line');
    const t1 = Date.now();
    const stamp1 = micros(out.subarray(0, 25).toString());
    expect(stamp1 / 1000).toBeGreaterThanOrEqual(t0 - 2);
    expect(stamp1 / 1000).toBeLessThanOrEqual(t1 + 2);
    await waitFor(() => Date.now() >= t1 + 100, '100 ms to pass');
    child.stdin.write(' and the rest\nsecond\n');
    await waitFor(() => out.toString().endsWith('second\n'), 'the second line');
    const lines = out.toString().split('\n');
    expect(lines[0]!.slice(26)).toBe('first half and the rest');
    // The first line keeps the stamp of its first byte; the second was stamped >= 100 ms later.
    expect(micros(lines[1]!.slice(0, 25)) - stamp1).toBeGreaterThanOrEqual(95_000);
    child.stdin.end();
    expect(await new Promise((r) => child.on('close', r))).toBe(0);
  });

  it('exits 111 on a read error and on a write error', async () => {
    const rd = spawnSync(UPKEEP, ['tai64n'], { stdio: [openSync(tmpdir(), 'r'), 'pipe', 'pipe'] });
    expect(rd.status).toBe(111);
    const child = spawn(UPKEEP, ['tai64n'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.destroy();
    child.stdin.on('error', () => {});
    child.stdin.end(Buffer.alloc(4 << 20, 'line\n'));
    expect(await new Promise((r) => child.on('close', r))).toBe(111);
  });

  it('rejects unknown arguments with a usage message (exit 100)', async () => {
    for (const args of [['-x'], ['--tai', 'tai'], ['extra']]) {
      const r = await upkeep(['tai64n', ...args], { input: 'x\n' });
      expect(r.code).toBe(100);
      expect(r.stderr.toString()).toBe('tai64n: usage: tai64n [--tai daemontools|s6]\n');
      expect(r.stdout.length).toBe(0);
    }
  });

  itWithPeer(['perl'])('reads a non-blocking stdin too (EAGAIN: through the event loop)', async () => {
    // Node's spawn always gives a child blocking stdio, so perl (perl-base: on every Debian) makes the
    // O_NONBLOCK pipe, writes two lines 0.2 s apart into it and passes on the child's exit code.
    const pl = [
      'use Fcntl;',
      'pipe(my $r, my $w) or die; fcntl($r, F_SETFL, fcntl($r, F_GETFL, 0) | O_NONBLOCK) or die;',
      'my $pid = fork(); if (!$pid) { close $w; open(STDIN, "<&", $r) or die; exec(@ARGV) or die; }',
      'close $r; select((select($w), $| = 1)[0]);',
      'select(undef, undef, undef, 0.3); print $w "\\@400000006b02c12e10a72d0c one\\n";',
      'select(undef, undef, undef, 0.2); print $w "two\\n"; close $w;',
      'waitpid($pid, 0); exit($? >> 8);',
    ].join('\n');
    const stamped = spawnSync('perl', ['-e', pl, UPKEEP, 'tai64n']);
    expect(stamped.status).toBe(0);
    expect(split(stamped.stdout).map((x) => x.rest.toString())).toEqual(['@400000006b02c12e10a72d0c one\n', 'two\n']);
    const local = spawnSync('perl', ['-e', pl, UPKEEP, 'tai64nlocal', '--utc']);
    expect(local.status).toBe(0);
    expect(local.stdout.toString()).toBe('2026-11-22 10:17:08.279391500 one\ntwo\n');
  });
});
