// The journal's writer (pino + rotating-file-stream, fake clock) and reader (trees, archives, rotation
// caught mid-read, damaged files), on real files.
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/io/clock.js';
import { archiveName, openJournal } from '../../src/io/journal.js';
import { readSources } from '../../src/io/journal-read.js';
import { newCounts, parseLine, type JournalRecord } from '../../src/core/journal.js';
import { fromUnix, formatLabel, parseLabel, toUnix } from '../../src/core/tai64n.js';
import { tmpdir, waitFor } from '../helpers/index.js';

const T0 = 1_795_342_628_279_391; // 2026-11-22T10:17:08.279391Z
const ALL = new Set(['start', 'exit', 'backoff', 'deploy', 'rollback', 'ready', 'control', 'warning', 'supervisor-start', 'add']);

async function readAll(src: Parameters<typeof readSources>[0], want: ReadonlySet<string> = ALL, afterOpen?: () => void | Promise<void>) {
  const recs: JournalRecord[] = [];
  const counts = newCounts();
  const summary = await readSources(src, { want, counts, onRecord: (r) => recs.push(r), afterOpen });
  return { recs, counts, summary };
}

describe('journal writer', () => {
  it('writes one JSON line per event with the common fields, time from the clock', async () => {
    const dir = tmpdir();
    const clock = new FakeClock(T0);
    const j = openJournal(dir, { host: 'alpha', clock });
    j.write({ event: 'start', service: 'web', pid: 42, target: '/srv/web' });
    clock.advance(3_204_000);
    j.write({ event: 'exit', service: 'web', pid: 42, code: null, signal: 'SIGSEGV', uptime: 3.204, operator: false, wanted: 'up', msg: 'boom' });
    await j.close();
    const lines = readFileSync(join(dir, '.upkeep', 'journal.jsonl'), 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const a = JSON.parse(lines[0]!);
    expect(a).toEqual({ level: 30, time: '2026-11-22T10:17:08.279391Z', tai64n: '@400000006b02c12e10a72d0c', v: 1, host: 'alpha', event: 'start', service: 'web', pid: 42, target: '/srv/web', msg: 'web started, pid 42' });
    const b = JSON.parse(lines[1]!);
    expect(b).toMatchObject({ level: 40, time: '2026-11-22T10:17:11.483391Z', event: 'exit', signal: 'SIGSEGV', operator: false, msg: 'boom' });
    // tai64n is the same instant as time, in the daemontools convention (nanoseconds = us * 1000 + 500).
    const u = toUnix(parseLabel(b.tai64n)!);
    expect(Number(u.sec) * 1e6 + (u.nano - 500) / 1000).toBe(T0 + 3_204_000);
    expect(parseLine(lines[1]!).kind).toBe('ok');
  });
  it('rotates by size into gzip archives named by the clock, and the reader puts them back in order', async () => {
    const dir = tmpdir();
    const clock = new FakeClock(T0);
    const j = openJournal(dir, { host: 'alpha', clock, size: '1K' });
    const rotated: string[] = [];
    j.stream.on('rotated', (f: string) => rotated.push(f));
    for (let i = 0; i < 40; i++) {
      clock.advance(1e6);
      j.write({ event: 'start', service: 'svc', pid: i, target: '/x' });
      await new Promise((r) => setImmediate(r));
    }
    await j.close();
    const names = readdirSync(join(dir, '.upkeep')).filter((n) => n.endsWith('.gz'));
    expect(names.length).toBeGreaterThanOrEqual(3);
    for (const n of names) expect(n).toMatch(/^journal-20261122-1017\d\d-\d+\.jsonl\.gz$/);
    for (const n of names) expect(gunzipSync(readFileSync(join(dir, '.upkeep', n))).toString()).toMatch(/^\{"level":30/);
    const { recs, counts } = await readAll([{ kind: 'dir', dir }]);
    expect(recs.map((r) => (r as { pid: number }).pid)).toEqual([...Array(40).keys()]);
    expect(counts).toMatchObject({ lines: 40, events: 40, truncated: 0, corrupt: 0, unknown: 0 });
  });
  it('keeps at most maxFiles archives', async () => {
    const dir = tmpdir();
    const clock = new FakeClock(T0);
    const j = openJournal(dir, { host: 'h', clock, size: '1K', maxFiles: 3 });
    for (let i = 0; i < 60; i++) {
      clock.advance(1e6);
      j.write({ event: 'start', service: 'svc', pid: i, target: '/x' });
      await new Promise((r) => setImmediate(r));
    }
    await j.close();
    const names = readdirSync(join(dir, '.upkeep')).filter((n) => n.endsWith('.gz'));
    expect(names).toHaveLength(3);
    const { recs } = await readAll([{ kind: 'dir', dir }]);
    const pids = recs.map((r) => (r as { pid: number }).pid);
    expect(pids[pids.length - 1]).toBe(59);
    expect(pids).toEqual([...Array(pids.length).keys()].map((k) => k + 60 - pids.length));
  });
  it('rotates by age', async () => {
    const dir = tmpdir();
    const clock = new FakeClock(T0);
    const j = openJournal(dir, { host: 'alpha', clock, interval: '1s' });
    const rotated: string[] = [];
    j.stream.on('rotated', (f: string) => rotated.push(f));
    j.write({ event: 'start', service: 'svc', pid: 1, target: '/x' });
    await waitFor(() => rotated.length > 0, 'an age rotation', 5000);
    j.write({ event: 'start', service: 'svc', pid: 2, target: '/x' });
    await j.close();
    const { recs } = await readAll([{ kind: 'dir', dir }]);
    expect(recs.map((r) => (r as { pid: number }).pid)).toEqual([1, 2]);
    expect(rotated[0]).toMatch(/journal-\d{8}-\d{6}-1\.jsonl\.gz$/);
  });
  it('reports a write error without throwing', async () => {
    const dir = tmpdir();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, '.upkeep', 'journal.jsonl'), { recursive: true }); // cannot be opened as a file
    const errors: Error[] = [];
    const j = openJournal(dir, { host: 'h', clock: new FakeClock(T0), onError: (e) => errors.push(e) });
    j.write({ event: 'start', service: 's', pid: 1, target: '/x' });
    await waitFor(() => errors.length > 0, 'the error callback');
    expect(errors[0]!.message).toMatch(/journal.jsonl.*not a file/);
  });
  it('names archives by UTC time and index', () => {
    expect(archiveName(T0, 3)).toBe('journal-20261122-101708-3.jsonl.gz');
  });
});

describe('journal reader', () => {
  const line = (pid: number, event = 'start', t = T0 + pid * 1e6) =>
    JSON.stringify({ level: 30, time: new Date(t / 1000).toISOString().replace('Z', '000Z'), tai64n: formatLabel(fromUnix(BigInt(Math.floor(t / 1e6)), 0)), v: 1, host: 'h', service: 's', event, pid, target: '/x', msg: '' }) + '\n';

  it('skips unwanted events without parsing, and counts damaged lines', async () => {
    const dir = tmpdir();
    const f = join(dir, 'j.jsonl');
    writeFileSync(f, line(1) + line(2, 'ready') + 'garbage\n' + '\n' + line(3).replace('"start"', '"teleport"') + line(4) + '{"level":30,"time":"2026');
    const { recs, counts } = await readAll([{ kind: 'file', path: f }], new Set(['start']));
    expect(recs.map((r) => (r as { pid: number }).pid)).toEqual([1, 4]);
    expect(counts).toEqual({ lines: 6, events: 2, skipped: 1, truncated: 1, corrupt: 1, unknown: 1 });
  });
  it('reads lines split across chunks and CRLF endings', async () => {
    const dir = tmpdir();
    const f = join(dir, 'big.jsonl');
    const parts: string[] = [];
    for (let i = 0; i < 30000; i++) parts.push(i % 7 === 0 ? line(i).replace('\n', '\r\n') : line(i));
    writeFileSync(f, parts.join(''));
    const { recs, counts } = await readAll([{ kind: 'file', path: f }]);
    expect(recs).toHaveLength(30000);
    expect(counts.corrupt + counts.truncated).toBe(0);
  });
  it('handles a rotation that happens after the files were opened (no line lost or counted twice)', async () => {
    const dir = tmpdir();
    const jd = join(dir, '.upkeep');
    const clock = new FakeClock(T0);
    const j = openJournal(dir, { host: 'h', clock });
    for (let i = 0; i < 10; i++) { clock.advance(1e6); j.write({ event: 'start', service: 's', pid: i, target: '/x' }); }
    await j.close();
    const cur = join(jd, 'journal.jsonl');
    const { recs } = await readAll([{ kind: 'dir', dir }], ALL, () => {
      // What rotating-file-stream does: compress current into an archive, then unlink it and start anew.
      writeFileSync(join(jd, 'journal-20261122-101720-1.jsonl.gz'), gzipSync(readFileSync(cur)));
      renameSync(cur, join(dir, 'gone'));
      writeFileSync(cur, line(100, 'start', T0 + 100e6));
    });
    // The reader saw the new archive appear, opened the tree again: every line once, plus the new one.
    expect(recs.map((r) => (r as { pid: number }).pid)).toEqual([...Array(10).keys(), 100]);
  });
  it('skips the copy when a rotation is caught half-way (archive and current both hold the lines)', async () => {
    const dir = tmpdir();
    const jd = join(dir, '.upkeep');
    const clock = new FakeClock(T0);
    const j = openJournal(dir, { host: 'h', clock });
    for (let i = 0; i < 10; i++) { clock.advance(1e6); j.write({ event: 'start', service: 's', pid: i, target: '/x' }); }
    await j.close();
    const cur = join(jd, 'journal.jsonl');
    const all = readFileSync(cur);
    // A half-written archive (gzip cut short) beside the current file it is being made from.
    const gz = gzipSync(all);
    writeFileSync(join(jd, 'journal-20261122-101720-1.jsonl.gz'), gz.subarray(0, gz.length - 12));
    const { recs, counts, summary } = await readAll([{ kind: 'dir', dir }]);
    expect(recs.map((r) => (r as { pid: number }).pid)).toEqual([...Array(10).keys()]);
    expect(counts.truncated).toBe(1);
    expect(summary.problems).toHaveLength(1);
  });
  it('reads a journal while the writer keeps writing and rotating: a gapless prefix, each line once', async () => {
    const dir = tmpdir();
    const clock = new FakeClock(T0);
    const j = openJournal(dir, { host: 'h', clock, size: '2K', maxFiles: 1000 });
    let n = 0;
    const writeSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        clock.advance(1000);
        j.write({ event: 'start', service: 's', pid: n++, target: '/x' });
        await new Promise((r) => setImmediate(r));
      }
    };
    await writeSome(100);
    await waitFor(() => existsSync(join(dir, '.upkeep', 'journal.jsonl')), 'the journal file');
    // What is on disk when the reader starts is up to rotating-file-stream (it queues lines while it
    // compresses): the reader must see some prefix of the lines, without a gap or a line twice.
    const [{ recs }] = await Promise.all([readAll([{ kind: 'dir', dir }]), writeSome(300)]);
    await j.close();
    const pids = recs.map((r) => (r as { pid: number }).pid);
    expect(pids.length).toBeGreaterThan(0);
    expect(pids).toEqual([...Array(pids.length).keys()]);
    // And once the writer is closed, everything is there.
    const { recs: all } = await readAll([{ kind: 'dir', dir }]);
    expect(all.map((r) => (r as { pid: number }).pid)).toEqual([...Array(n).keys()]);
  });
  it('reads stdin', async () => {
    const { Readable } = await import('node:stream');
    const recs: JournalRecord[] = [];
    const counts = newCounts();
    await readSources([{ kind: 'stdin' }], { want: ALL, counts, onRecord: (r) => recs.push(r), stdin: Readable.from([Buffer.from(line(1) + line(2).slice(0, 50)), Buffer.from(line(2).slice(50))]) });
    expect(recs).toHaveLength(2);
  });
  it('fails with 111 on a missing tree or file', async () => {
    const dir = tmpdir();
    await expect(readAll([{ kind: 'dir', dir }])).rejects.toMatchObject({ exitCode: 111, message: expect.stringMatching(/^unable to read directory .*\.upkeep: file does not exist$/) });
    await expect(readAll([{ kind: 'file', path: join(dir, 'nope') }])).rejects.toMatchObject({ exitCode: 111 });
    appendFileSync(join(dir, 'x'), '');
    expect(existsSync(join(dir, 'x'))).toBe(true);
  });
});
