// `upkeep tail` and `upkeep export` over log directories written by `upkeep multilog ... %gzip`: archives
// `@<label>.s.gz` read like `.s`; -n, --since (skipping whole archives by name), -f across rotations while
// the logger compresses behind the reader, a cursor resumed after the file it points into was compressed,
// and export to an HTTP receiver.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { listLogdir } from '../../src/io/logdir-read.js';
import { UPKEEP, tmpdir, upkeep, waitFor } from '../helpers/index.js';
import { jsonLinesReceiver } from '../helpers/net.js';

const kids: ChildProcess[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) k.kill('SIGKILL');
});

function spawnKept(cmd: string, args: string[]): ChildProcess & { out: () => string; err: () => string } {
  const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  kids.push(c);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  c.stdout!.on('data', (b: Buffer) => out.push(b));
  c.stderr!.on('data', (b: Buffer) => err.push(b));
  return Object.assign(c, { out: () => Buffer.concat(out).toString('latin1'), err: () => Buffer.concat(err).toString() });
}

const lines = (s: string): string[] => s.split('\n').slice(0, -1);
const gzNames = (d: string): string[] => readdirSync(d).filter((n) => n.endsWith('.gz'));
const plainArchives = (d: string): string[] => readdirSync(d).filter((n) => /^@.*\.[su]$/.test(n));

/** Every stored line, archives decompressed, in reading order (listed again if a file moves meanwhile). */
function stored(d: string): string[] {
  for (let attempt = 0; ; attempt++) {
    try {
      return storedOnce(d);
    } catch (e) {
      if (attempt >= 100) throw e;
    }
  }
}

function storedOnce(d: string): string[] {
  return listLogdir(d).flatMap((f) => {
    let name = f.name;
    let b: Buffer;
    try {
      b = readFileSync(join(d, name));
    } catch {
      b = readFileSync(join(d, (name += '.gz'))); // compressed since it was listed
    }
    return lines((name.endsWith('.gz') ? gunzipSync(b) : b).toString('latin1'));
  });
}

/** A %gzip directory of `n` lines written in 3 batches, each stored before the next is stamped (so an
 * archive of the first batch is named before any line of the last). upkeep multilog compresses every
 * archive before it exits. */
async function gzipDir(n: number, tag = 'line'): Promise<string> {
  const d = join(tmpdir(), 'main');
  const ml = spawnKept(UPKEEP, ['multilog', 't', '%gzip', 's4096', 'n100', d]);
  const exited = new Promise((r) => ml.on('exit', r));
  const per = Math.ceil(n / 3);
  for (let from = 1; from <= n; from += per) {
    let chunk = '';
    for (let i = from; i < from + per && i <= n; i++) chunk += `${tag} ${i}\n`;
    ml.stdin!.write(chunk);
    const upto = Math.min(n, from + per - 1);
    await waitFor(() => { try { return stored(d).length === upto; } catch { return false; } }, `${upto} lines stored`);
  }
  ml.stdin!.end();
  await exited;
  return d;
}

const exists = (d: string, check: () => boolean): boolean => {
  try {
    return check();
  } catch {
    return false; // (the directory is not made yet)
  }
};

describe('upkeep tail over %gzip archives', () => {
  it('reads .s.gz archives like .s: all lines, -n, --since skips older archives by name unread', async () => {
    const d = await gzipDir(3000);
    expect(gzNames(d).length).toBeGreaterThan(15);
    expect(plainArchives(d)).toEqual([]);
    const want = stored(d);
    expect(want.map((l) => l.slice(26))).toEqual(Array.from({ length: 3000 }, (_, i) => `line ${i + 1}`));
    const all = await upkeep(['tail', '-o', 'raw', d]);
    expect(all.code).toBe(0);
    expect(all.stderr.toString()).toBe('');
    expect(lines(all.stdout.toString('latin1'))).toEqual(want);
    const n = await upkeep(['tail', '-o', 'raw', '-n', '700', d]);
    expect(lines(n.stdout.toString('latin1'))).toEqual(want.slice(-700));
    // --since a line of a middle archive; the first archive is corrupted: skipped by its name, it is never opened.
    const iso = lines((await upkeep(['tail', '-o', 'iso', d])).stdout.toString('latin1'));
    const from = iso[2100]!.split(' ')[0]!;
    const first = gzNames(d).sort()[0]!;
    writeFileSync(join(d, first), Buffer.concat([readFileSync(join(d, first)).subarray(0, 10), Buffer.alloc(200, 0x55)]));
    const s = await upkeep(['tail', '-o', 'raw', '--since', from, d]);
    expect(s.stderr.toString()).toBe('');
    expect(lines(s.stdout.toString('latin1'))).toEqual(want.filter((_, i) => iso[i]!.split(' ')[0]! >= from));
    // Without --since it is read, and says so.
    const bad = await upkeep(['tail', '-o', 'raw', d]);
    expect(bad.stderr.toString()).toMatch(new RegExp(`^upkeep tail: warning: ${d}: unable to decompress ${first.replace(/\./g, '\\.')}: .*: the rest of it is skipped\n$`));
  });

  it('-f follows across rotations while the logger compresses behind it: every line once, no warning', async () => {
    const d = join(tmpdir(), 'main');
    const ml = spawnKept(UPKEEP, ['multilog', 't', '%gzip', 's4096', 'n100', d]);
    ml.stdin!.write('first\n');
    await waitFor(() => exists(d, () => listLogdir(d).some((f) => f.name === 'current' && f.size > 0)), 'the logger to start');
    const t = spawnKept(UPKEEP, ['tail', '-f', '-o', 'raw', '-n', '100000', d]);
    const want = ['first'];
    let n = 0;
    for (let round = 0; round < 25; round++) {
      let chunk = '';
      for (let i = 0; i < 60; i++) chunk += `line ${++n} ${'x'.repeat(round * 2)}\n`;
      ml.stdin!.write(chunk);
      want.push(...lines(chunk));
      // Let the reader catch up on some rounds only: at other times it is behind by whole files.
      if (round % 3 === 0) await waitFor(() => lines(t.out()).length === want.length, `round ${round}`);
    }
    await waitFor(() => lines(t.out()).length >= want.length, 'every line');
    await waitFor(() => plainArchives(d).length === 0 && gzNames(d).length > 10, 'the archives compressed');
    // One more rotation after all the compressions: the reader lists the directory again.
    let tail = '';
    for (let i = 0; i < 80; i++) tail += `after ${i}\n`;
    ml.stdin!.write(tail);
    want.push(...lines(tail));
    await waitFor(() => lines(t.out()).length >= want.length, 'the last lines');
    expect(lines(t.out()).map((l) => l.slice(26))).toEqual(want);
    expect(t.err()).toBe('');
    // (the logger may still be renaming files: read the directory until it holds every line)
    const all = await waitFor(() => {
      const st = stored(d);
      return st.length >= want.length && plainArchives(d).length === 0 ? st : null;
    }, 'the directory settled');
    expect(lines(t.out())).toEqual(all.slice(-want.length));
  });

  it('--cursor-file: a position in current, then compressed into a .gz, resumes right after it with no warning', async () => {
    const dir = tmpdir();
    const d = join(dir, 'main');
    const cur = join(dir, 'cursor');
    const ml = spawnKept(UPKEEP, ['multilog', 't', '%gzip', 's4096', 'n100', d]);
    let input = '';
    for (let i = 1; i <= 30; i++) input += `msg ${i}\n`;
    ml.stdin!.write(input);
    await waitFor(() => exists(d, () => stored(d).length === 30), 'the first lines');
    const r1 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(lines(r1.stdout.toString('latin1')).map((l) => l.slice(26))).toEqual(Array.from({ length: 30 }, (_, i) => `msg ${i + 1}`));
    expect(JSON.parse(readFileSync(cur, 'utf8')).dirs[d].file).toBe('current');
    // Now enough to rotate that current (and more), and wait until it is compressed.
    let more = '';
    for (let i = 31; i <= 400; i++) more += `msg ${i}\n`;
    ml.stdin!.write(more);
    await waitFor(() => stored(d).length === 400 && plainArchives(d).length === 0 && gzNames(d).length >= 2, 'rotated and compressed');
    const r2 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(r2.stderr.toString()).toBe('');
    expect(lines(r2.stdout.toString('latin1')).map((l) => l.slice(26))).toEqual(Array.from({ length: 370 }, (_, i) => `msg ${i + 31}`));
    // Saved inside a .gz archive (by its plain name) or current; resuming again gives nothing new.
    const saved = JSON.parse(readFileSync(cur, 'utf8')).dirs[d];
    expect(saved.file).toMatch(/^(current|@[0-9a-f]{24}\.s)$/);
    const r3 = await upkeep(['tail', '-o', 'raw', '--cursor-file', cur, d]);
    expect(r3.stdout.toString()).toBe('');
    expect(r3.stderr.toString()).toBe('');
  });
});

describe('upkeep export over %gzip archives', () => {
  it('HTTP JSON lines: every line of compressed archives and current, exactly once, in order', async () => {
    const d = await gzipDir(1500, 'event');
    const got: Record<string, unknown>[] = [];
    const port = await jsonLinesReceiver(got);
    const cur = join(tmpdir(), 'cursor');
    const r = await upkeep(['export', '--to', `http://127.0.0.1:${port}/ingest`, '--cursor-file', cur, '--host', 'h', d]);
    expect(r.code).toBe(0);
    const want = stored(d);
    expect(got.map((o) => o.tai64n)).toEqual(want.map((l) => l.slice(0, 25)));
    expect(got.map((o) => o.message)).toEqual(Array.from({ length: 1500 }, (_, i) => `event ${i + 1}`));
    // A second run from the cursor ships nothing again.
    const again = await upkeep(['export', '--to', `http://127.0.0.1:${port}/ingest`, '--cursor-file', cur, '--host', 'h', d]);
    expect(again.code).toBe(0);
    expect(got).toHaveLength(1500);
  });
});
