// `upkeep tail` against log directories written by Debian's multilog, svlogd and s6-log; merge order
// compared with GNU sort -m; following across rotations; cursors across kill -9; bad bytes; clock jumps.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listLogdir } from '../../src/io/logdir-read.js';
import { lineHash } from '../../src/core/logline.js';
import { UPKEEP, itWithPeer, run, sh, tmpdir, upkeep, waitFor } from '../helpers/index.js';

const kids: ChildProcess[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) k.kill('SIGKILL');
});

function spawnKept(cmd: string, args: string[], opts: Parameters<typeof spawn>[2] = {}): ChildProcess & { out: () => string; err: () => string } {
  const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  kids.push(c);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  c.stdout!.on('data', (b: Buffer) => out.push(b));
  c.stderr!.on('data', (b: Buffer) => err.push(b));
  return Object.assign(c, { out: () => Buffer.concat(out).toString('latin1'), err: () => Buffer.concat(err).toString() });
}

function stored(dir: string): string[] {
  return listLogdir(dir).flatMap((f) => readFileSync(join(dir, f.name), 'latin1').split('\n').slice(0, -1));
}

/** Two services whose multilogs ran at the same time, so their stamps interleave. */
function twoServices(): { sv: string; a: string; b: string } {
  const sv = tmpdir();
  for (const s of ['alpha', 'beta']) mkdirSync(join(sv, s, 'log'), { recursive: true });
  const a = join(sv, 'alpha/log/main');
  const b = join(sv, 'beta/log/main');
  sh(`(seq 1 3000 | sed 's/^/alpha /' | multilog t s4096 n100 ${a}) & (seq 1 3000 | sed 's/^/beta /' | multilog t s4096 n100 ${b}); wait`);
  return { sv, a, b };
}

const lines = (s: string): string[] => s.split('\n').slice(0, -1);

/**
 * A real logger writing into a new log directory (its svlogd config, if any, written first) and
 * `upkeep tail -f -o raw` following it, fed `rounds` rounds of `per` numbered lines, each round followed
 * before the next; returns the directory, the logger, the follower and the number of lines fed.
 */
async function followLive(peer: string, argv: (d: string) => readonly string[], tai: string, config?: string, rounds = 6, per = 150) {
  const d = join(tmpdir(), 'main');
  mkdirSync(d);
  if (config !== undefined) writeFileSync(join(d, 'config'), config);
  const lg = spawnKept(peer, [...argv(d)]);
  await waitFor(() => { try { return listLogdir(d).length > 0; } catch { return false; } }, peer);
  const t = spawnKept(UPKEEP, ['tail', '-f', '-n', '1000000', '--tai', tai, '-o', 'raw', d]);
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    let s = '';
    for (let i = 0; i < per; i++) s += `line ${++n}\n`;
    lg.stdin!.write(s);
    await waitFor(() => lines(t.out()).length >= n, `${n} lines followed`);
  }
  return { d, lg, t, n };
}

describe('upkeep tail', () => {
  itWithPeer(['multilog', 'sort'])('merges archives and current of several services exactly as GNU sort -m does', async () => {
    const { sv, a, b } = twoServices();
    const expected = sh(`cat ${listLogdir(a).map((f) => join(a, f.name)).join(' ')} > ${sv}/a.txt; cat ${listLogdir(b).map((f) => join(b, f.name)).join(' ')} > ${sv}/b.txt; LC_ALL=C sort -m -s -k1,1 ${sv}/a.txt ${sv}/b.txt`);
    const r = await upkeep(['tail', '--dir', sv, '-o', 'raw', 'alpha', 'beta']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString('latin1')).toBe(expected.toString('latin1'));
    // No arguments: every service of the directory; SVDIR is honoured.
    const all = await upkeep(['tail', '-o', 'raw'], { env: { ...process.env, SVDIR: sv } });
    expect(all.stdout.toString('latin1')).toBe(expected.toString('latin1'));
    // -n: the newest N of the merge; --service; -g.
    const n = await upkeep(['tail', '--dir', sv, '-o', 'raw', '-n', '25']);
    expect(lines(n.stdout.toString('latin1'))).toEqual(lines(expected.toString('latin1')).slice(-25));
    const svc = await upkeep(['tail', '--dir', sv, '-o', 'raw', '--service', 'beta']);
    expect(lines(svc.stdout.toString('latin1'))).toEqual(stored(b));
    const g = await upkeep(['tail', '--dir', sv, '-o', 'raw', '-g', '^beta 29\\d\\d$']);
    expect(lines(g.stdout.toString('latin1')).map((l) => l.slice(26))).toEqual(Array.from({ length: 100 }, (_, i) => `beta ${2900 + i}`));
  });

  itWithPeer(['multilog'])('--since/--until select by stamp, whatever the files (RFC 3339 times)', async () => {
    const { sv } = twoServices();
    const all = lines((await upkeep(['tail', '--dir', sv, '-o', 'raw'])).stdout.toString('latin1'));
    const iso = lines((await upkeep(['tail', '--dir', sv, '-o', 'iso'])).stdout.toString('latin1'));
    const from = iso[1500]!.split(' ')[0]!; // nanosecond RFC 3339
    const to = iso[4500]!.split(' ')[0]!;
    const r = await upkeep(['tail', '--dir', sv, '-o', 'raw', '--since', from, '--until', to]);
    const want = all.filter((_, i) => iso[i]!.split(' ')[0]! >= from && iso[i]!.split(' ')[0]! <= to);
    expect(lines(r.stdout.toString('latin1'))).toEqual(want);
    expect(want.length).toBeGreaterThan(2900);
    const bad = await upkeep(['tail', '--dir', sv, '--since', 'last tuesday']);
    expect(bad.code).toBe(100);
    expect(bad.stderr.toString()).toMatch(/^upkeep tail: usage: --since: invalid time "last tuesday"/);
  });

  itWithPeer(['multilog'])('json: one object per line; bad bytes as U+FFFD plus their exact base64; unlabelled lines', async () => {
    const d = join(tmpdir(), 'main');
    sh(`printf 'ok \\303\\251\\nbad \\377\\376 end\\n' | multilog t ${d}`);
    const r = await upkeep(['tail', '-o', 'json', '--host', 'h9', d]);
    const objs = lines(r.stdout.toString()).map((l) => JSON.parse(l));
    expect(objs[0]).toMatchObject({ host: 'h9', service: 'main', message: 'ok é' });
    expect(objs[0].message_base64).toBeUndefined();
    expect(objs[1].message).toBe('bad \ufffd\ufffd end');
    expect(Buffer.from(objs[1].message_base64, 'base64')).toEqual(Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0x20, 0x65, 0x6e, 0x64]));
    expect(objs[1].tai64n).toBe(readFileSync(join(d, 'current'), 'latin1').split('\n')[1]!.slice(0, 25));
    // multilog without t: lines have no label; they keep file order and are marked.
    const u = join(tmpdir(), 'main');
    sh(`printf 'one\\ntwo\\n' | multilog ${u}`);
    const ur = await upkeep(['tail', '-o', 'json', u]);
    const uo = lines(ur.stdout.toString()).map((l) => JSON.parse(l));
    // (no labelled line before them: no time to borrow, none shown rather than 1969)
    expect(uo.map((o) => [o.message, o.time, o.tai64n, o.time_estimated])).toEqual([['one', null, null, true], ['two', null, null, true]]);
    const short = await upkeep(['tail', u], { env: { ...process.env, NO_COLOR: '1' } });
    expect(short.stdout.toString()).toBe(`${'-'.padEnd(27)} main one\n${'-'.padEnd(27)} main two\n`);
    expect((await upkeep(['tail', '-o', 'iso', u])).stdout.toString()).toBe('- main one\n- main two\n');
    // after a labelled line, an unlabelled one borrows its time (marked)
    appendFileSync(join(u, 'current'), '@400000006b032c440b7d6ddc three\nfour\n');
    const later = lines((await upkeep(['tail', '-o', 'json', '-n', '2', u])).stdout.toString()).map((l) => JSON.parse(l));
    expect(later.map((o) => [o.message, o.tai64n, o.time_estimated])).toEqual([['three', '@400000006b032c440b7d6ddc', undefined], ['four', '@400000006b032c440b7d6ddc', true]]);
  });

  itWithPeer(['s6-log', 'svlogd'])('reads s6-log (true TAI: --tai s6) and svlogd -t directories', async () => {
    const s6 = join(tmpdir(), 's6');
    sh(`echo hello from s6 | s6-log t ${s6}`);
    const before = Date.now();
    const r = await upkeep(['tail', '-o', 'iso', '--tai', 's6', s6]);
    const t = Date.parse(r.stdout.toString().split(' ')[0]!);
    expect(r.stdout.toString()).toMatch(/ s6 hello from s6\n$/);
    expect(Math.abs(t - before)).toBeLessThan(5000);
    const wrong = await upkeep(['tail', '-o', 'iso', s6]);
    expect(Date.parse(wrong.stdout.toString().split(' ')[0]!) - t).toBe(27000);
    const sv = join(tmpdir(), 'sv');
    mkdirSync(sv);
    sh(`printf 'a\\nb\\n' | svlogd -t ${sv}`);
    const r2 = await upkeep(['tail', '-o', 'raw', sv]);
    expect(r2.stdout.toString()).toBe(readFileSync(join(sv, 'current'), 'latin1'));
  });

  it('refuses a missing service or log directory (111) and bad options (100)', async () => {
    const sv = tmpdir();
    const r = await upkeep(['tail', '--dir', sv, 'nope']);
    expect(r.code).toBe(111);
    expect(r.stderr.toString()).toBe(`upkeep tail: fatal: unable to open log directory ${sv}/nope/log/main: file does not exist\n`);
    expect((await upkeep(['tail', '-o', 'xml', sv + '/x'])).code).toBe(100);
    expect((await upkeep(['tail', '-n', 'many', sv + '/x'])).code).toBe(100);
  });

  itWithPeer(['multilog'])('-f follows a live multilog across rotations: every line once, in order', async () => {
    const { d, t, n } = await followLive('multilog', (d) => ['t', 's4096', 'n100', d], 'daemontools', undefined, 8, 200);
    expect(lines(t.out()).map((l) => l.slice(26))).toEqual(Array.from({ length: n }, (_, i) => `line ${i + 1}`));
    expect(lines(t.out())).toEqual(stored(d));
    expect(listLogdir(d).length).toBeGreaterThan(8);
    expect(t.err()).toBe('');
  });

  for (const [peer, argv, tai] of [
    ['svlogd', (d: string) => ['-t', d], 'daemontools'],
    ['s6-log', (d: string) => ['t', 's4096', 'n100', d], 's6'],
  ] as const) {
    itWithPeer([peer])(`-f follows a live ${peer} across rotations (it renames current its own way)`, async () => {
      const { d, t, n } = await followLive(peer, argv, tai, peer === 'svlogd' ? 's4096\nn100\n' : undefined);
      expect(lines(t.out()).map((l) => l.slice(26))).toEqual(Array.from({ length: n }, (_, i) => `line ${i + 1}`));
      expect(listLogdir(d).length).toBeGreaterThan(3);
      expect(t.err()).toBe('');
    });
  }

  for (const [peer, argv, tai] of [
    ['multilog', (d: string) => ['t', 's4096', 'n100', '!cat', d], 'daemontools'],
    ['svlogd', (d: string) => ['-t', d], 'daemontools'],
    ['s6-log', (d: string) => ['t', 's4096', 'n100', '!cat', d], 's6'],
  ] as const) {
    itWithPeer([peer])(`-f with a processor (${peer} !cat): the processed archive is not read again; no false warning`, async () => {
      // (with a processor the archive is a new file, `processed`, with the bytes of the file tail read as
      // current or previous, which is removed: it used to be read again, every line twice)
      const { d, lg, t, n } = await followLive(peer, argv, tai, peer === 'svlogd' ? 's4096\nn100\n!cat\n' : undefined);
      // every processor run over, then one more line: all that tail would print again comes before it
      await waitFor(() => !readdirSync(d).some((f) => f === 'previous' || f === 'processed'), 'the processors to finish');
      lg.stdin!.write('sentinel\n');
      await waitFor(() => t.out().includes(' sentinel\n'), 'the sentinel');
      expect(lines(t.out()).map((l) => l.slice(26))).toEqual([...Array.from({ length: n }, (_, i) => `line ${i + 1}`), 'sentinel']);
      expect(listLogdir(d).length).toBeGreaterThan(3);
      expect(t.err()).toBe('');
    });
  }

  it('-f: two files with the same bytes (a log without t repeating itself) are two files: both read', async () => {
    // (an archive is matched to a file already read by its bytes only when that file is gone: the
    // output of a processor; here the first file is still there under its archive name)
    const d = join(tmpdir(), 'main');
    mkdirSync(d);
    writeFileSync(join(d, 'current'), 'tick\ntock\n');
    const t = spawnKept(UPKEEP, ['tail', '-f', '-n', '1000000', '-o', 'raw', d]);
    await waitFor(() => lines(t.out()).length >= 2, 'the first file');
    renameSync(join(d, 'current'), join(d, '@400000006900000100000000.s'));
    writeFileSync(join(d, 'current.tmp'), 'tick\ntock\n');
    renameSync(join(d, 'current.tmp'), join(d, '@400000006900000200000000.s'));
    writeFileSync(join(d, 'current'), 'end\n');
    await waitFor(() => t.out().includes('end\n'), 'the new current');
    expect(t.out()).toBe('tick\ntock\ntick\ntock\nend\n');
    expect(t.err()).toBe('');
  });

  itWithPeer(['multilog'])('--cursor-file: after kill -9 the next run resumes right after the saved line; nothing lost', async () => {
    const dir = tmpdir();
    const d = join(dir, 'main');
    const cur = join(dir, 'cursor');
    const ml = spawnKept('multilog', ['t', 's4096', 'n100', d]);
    await waitFor(() => { try { return listLogdir(d).length > 0; } catch { return false; } }, 'multilog');
    let n = 0;
    const feed = (k: number): void => {
      let s = '';
      for (let i = 0; i < k; i++) s += `line ${++n} ${'y'.repeat(i % 50)}\n`;
      ml.stdin!.write(s);
    };
    feed(500);
    const t1 = spawnKept(UPKEEP, ['tail', '-f', '-o', 'raw', '--cursor-file', cur, d]);
    await waitFor(() => lines(t1.out()).length >= 500, 'first lines');
    feed(2000);
    await waitFor(() => lines(t1.out()).length >= 1000, 'more lines');
    t1.kill('SIGKILL');
    await new Promise((r) => t1.once('close', r));
    feed(1000); // rotations happen while nobody reads
    await waitFor(() => { try { return stored(d).length === n; } catch { return false; } }, 'multilog to write everything');
    const saved = JSON.parse(readFileSync(cur, 'utf8')).dirs[d];
    const given1 = lines(t1.out());
    const r2 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(r2.stderr.toString(), 'stderr of the second run').toBe('');
    const all = stored(d);
    const second = lines(r2.stdout.toString('latin1'));
    // The saved line: the cursor never runs ahead of what was given.
    const c = all.findIndex((l) => l.startsWith(saved.label) && lineHash(Buffer.from(l, 'latin1')) === saved.hash);
    expect(c, `the cursor's line ${JSON.stringify(saved)}`).toBeGreaterThanOrEqual(0);
    expect(c + 1, 'the cursor is not ahead of the output').toBeLessThanOrEqual(given1.length);
    // The first run gave a prefix; the second starts right after the saved line and gives the rest.
    expect(given1, 'the first run gave a prefix').toEqual(all.slice(0, given1.length));
    expect(second, 'the second run resumed after the cursor').toEqual(all.slice(c + 1));
    expect(all.length).toBe(3500);
    // A third run has nothing new.
    const r3 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(r3.stdout.length).toBe(0);
  });

  it('--cursor-file: a cursor saved on a line of `previous` (multilog rotating) resumes once it is an archive', async () => {
    // (the flaky end of the kill -9 test above: the first run was killed right after a line of previous)
    const d = join(tmpdir(), 'main');
    mkdirSync(d);
    const cur = join(d, '..', 'cursor');
    const l = (s: number, m: string): string => `@4000000069000${s.toString(16).padStart(3, '0')}00000000 ${m}\n`;
    writeFileSync(join(d, 'previous'), l(1, 'p1') + l(2, 'p2'));
    writeFileSync(join(d, 'current'), '');
    const r1 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(r1.stderr.toString()).toBe('');
    expect(r1.stdout.toString()).toBe(l(1, 'p1') + l(2, 'p2'));
    expect(JSON.parse(readFileSync(cur, 'utf8')).dirs[d].file).toBe('previous');
    // the rotation ends: previous becomes an archive (same inode), current gets new lines
    renameSync(join(d, 'previous'), join(d, '@400000006900000300000000.s'));
    appendFileSync(join(d, 'current'), l(4, 'c1'));
    const r2 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(r2.stderr.toString()).toBe('');
    expect(r2.stdout.toString()).toBe(l(4, 'c1'));
  });

  it('clock jumps: lines whose stamps go backwards are all given once, in file order, and cursors stay exact', async () => {
    const dir = tmpdir();
    const d = join(dir, 'main');
    mkdirSync(d);
    const L = (sec: number, msg: string): string => `@40000000${sec.toString(16).padStart(8, '0')}00000000 ${msg}\n`;
    writeFileSync(join(d, '@400000006b000100000000aa.s'), L(0x6b000010, 'a1') + L(0x6b000020, 'a2'));
    writeFileSync(join(d, 'current'), L(0x6b000200, 'b1') + L(0x6b000005, 'b2 after the clock went back') + L(0x6b000006, 'b3'));
    const cur = join(dir, 'cursor');
    const r1 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(lines(r1.stdout.toString()).map((l) => l.slice(26))).toEqual(['a1', 'a2', 'b1', 'b2 after the clock went back', 'b3']);
    appendFileSync(join(d, 'current'), L(0x6b000007, 'b4'));
    renameSync(join(d, 'current'), join(d, '@400000006b000300000000aa.s'));
    writeFileSync(join(d, 'current'), L(0x6b000001, 'c1 even earlier'));
    const r2 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(lines(r2.stdout.toString()).map((l) => l.slice(26))).toEqual(['b4', 'c1 even earlier']);
    const r3 = await run(UPKEEP, ['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(r3.stdout.length).toBe(0);
  });

  it('--journal: the restart journal (DIR/.upkeep/journal.jsonl) merged by its tai64n field, resumed with a cursor', async () => {
    const sv = tmpdir();
    mkdirSync(join(sv, 'web/log/main'), { recursive: true });
    mkdirSync(join(sv, '.upkeep'));
    const L = (sec: number, msg: string): string => `@40000000${sec.toString(16).padStart(8, '0')}00000000 ${msg}\n`;
    const J = (sec: number, ev: string): string =>
      `{"v":1,"level":30,"time":"x","tai64n":"@40000000${sec.toString(16).padStart(8, '0')}00000000","host":"h","service":"web","event":"${ev}","msg":"m"}\n`;
    writeFileSync(join(sv, 'web/log/main/current'), L(0x6b000010, 'one') + L(0x6b000030, 'three'));
    writeFileSync(join(sv, '.upkeep/journal.jsonl'), J(0x6b000020, 'start'));
    const cur = join(sv, 'cursor');
    const r = await upkeep(['tail', '--dir', sv, '--journal', '-o', 'json', '--cursor-file', cur]);
    const objs = lines(r.stdout.toString()).map((l) => JSON.parse(l));
    expect(objs.map((o) => o.service)).toEqual(['web', 'upkeep-journal', 'web']);
    expect(JSON.parse(objs[1].message).event).toBe('start');
    expect(objs[1].tai64n).toBe('@400000006b00002000000000');
    expect(objs[1].time_estimated).toBeUndefined();
    appendFileSync(join(sv, '.upkeep/journal.jsonl'), J(0x6b000040, 'exit'));
    const r2 = await upkeep(['tail', '--dir', sv, '--journal', '-o', 'json', '--cursor-file', cur]);
    expect(lines(r2.stdout.toString()).map((l) => JSON.parse(JSON.parse(l).message).event)).toEqual(['exit']);
  });

  it('does not print the partial last line of current (it is still being written)', async () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), '@400000006b02c12e10a72d0c done\n@400000006b02c12e10a72d0c half');
    const r = await upkeep(['tail', '-o', 'raw', d]);
    expect(r.stdout.toString()).toBe('@400000006b02c12e10a72d0c done\n');
  });
});
