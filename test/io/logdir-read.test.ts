// Reading log directories written by Debian's multilog: order, following across real rotations,
// partial lines, files removed before they were read, and resuming saved positions.
import { spawn } from 'node:child_process';
import { appendFileSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirReader, lastLines, lineEndsAt, listLogdir, serviceOf, startAll, startAt } from '../../src/io/logdir-read.js';
import { itWithPeer, sh, tmpdir, waitFor } from '../helpers/index.js';

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function drain(r: DirReader, out: string[], warn?: string[]): void {
  r.refresh();
  while (r.next()) {
    out.push(r.buf.toString('latin1', r.ls, r.le));
    r.markGiven();
  }
  void warn;
}

function allFileLines(dir: string): string[] {
  return listLogdir(dir).flatMap((f) => readFileSync(join(dir, f.name), 'latin1').split('\n').slice(0, -1));
}

describe('logdir-read', () => {
  itWithPeer(['multilog'])('lists archives by name, then current, and reads every line of them once, in that order', () => {
    const d = join(tmpdir(), 'main');
    sh(`seq 1 3000 | multilog t s4096 n50 ${d}`);
    const names = listLogdir(d).map((f) => f.name);
    expect(names.at(-1)).toBe('current');
    expect(names.slice(0, -1)).toEqual(readdirSync(d).filter((n) => n.startsWith('@')).sort());
    expect(names.length).toBeGreaterThan(10);
    const r = new DirReader(d, { service: 'x', rank: 0 });
    startAll(r, {});
    const got: string[] = [];
    while (r.next()) got.push(r.buf.toString('latin1', r.ls, r.le));
    expect(got).toEqual(allFileLines(d));
    expect(got.map((l) => l.slice(26))).toEqual(Array.from({ length: 3000 }, (_, i) => String(i + 1)));
  });

  itWithPeer(['multilog'])('follows a live multilog across many rotations without missing or repeating a line', async () => {
    const d = join(tmpdir(), 'main');
    const ml = spawn('multilog', ['t', 's4096', 'n100', d], { stdio: ['pipe', 'ignore', 'inherit'] });
    children.push(ml);
    await waitFor(() => { try { return listLogdir(d).some((f) => f.name === 'current'); } catch { return false; } }, 'multilog to start');
    const r = new DirReader(d, { service: 'x', rank: 0 });
    startAll(r, {});
    const got: string[] = [];
    const warnings: string[] = [];
    let n = 0;
    for (let round = 0; round < 20; round++) {
      let chunk = '';
      for (let i = 0; i < 150; i++) chunk += `line ${++n} ${'x'.repeat(round * 3)}\n`;
      ml.stdin!.write(chunk);
      await waitFor(() => {
        drain(r, got, warnings);
        return got.length === n;
      }, `${n} lines`);
    }
    expect(warnings).toEqual([]);
    expect(got.map((l) => l.slice(26).split(' ')[1])).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
    expect(listLogdir(d).length).toBeGreaterThan(10); // there were rotations
    ml.stdin!.end();
  });

  it('hands out a partial line of current only once its newline arrives', () => {
    const d = tmpdir();
    writeFileSync(join(d, 'current'), '@400000006b02c12e10a72d0c one\n@400000006b02c12e10a72d0c tw');
    const r = new DirReader(d, { service: 'x', rank: 0 });
    startAll(r, {});
    const got: string[] = [];
    drain(r, got);
    expect(got).toEqual(['@400000006b02c12e10a72d0c one']);
    appendFileSync(join(d, 'current'), 'o\n');
    drain(r, got);
    expect(got).toEqual(['@400000006b02c12e10a72d0c one', '@400000006b02c12e10a72d0c two']);
  });

  it('reads the rest of a rotated file from its fd even when retention removed it, and says when files went unread', () => {
    const d = tmpdir();
    const cur = join(d, 'current');
    const L = (i: number): string => `@4000000000000000000000${String(i).padStart(2, '0')} l${i}\n`;
    writeFileSync(cur, L(1));
    const warnings: string[] = [];
    const r = new DirReader(d, { service: 'x', rank: 0, warn: (t) => warnings.push(t) });
    startAll(r, {});
    const got: string[] = [];
    drain(r, got);
    // Rotation 1 (multilog style, via previous) after more lines; the archive is then removed.
    appendFileSync(cur, L(2));
    renameSync(cur, join(d, 'previous'));
    writeFileSync(cur, L(3));
    linkSync(join(d, 'previous'), join(d, '@400000000000000000000010.s'));
    unlinkSync(join(d, 'previous'));
    // Rotation 2, its archive removed too; rotation 3 kept.
    renameSync(cur, join(d, '@400000000000000000000020.s'));
    writeFileSync(cur, L(4));
    unlinkSync(join(d, '@400000000000000000000010.s'));
    unlinkSync(join(d, '@400000000000000000000020.s'));
    renameSync(cur, join(d, '@400000000000000000000030.s'));
    writeFileSync(cur, L(5));
    drain(r, got);
    drain(r, got);
    expect(got.map((l) => l.slice(26))).toEqual(['l1', 'l2', 'l4', 'l5']);
    expect(warnings.join('\n')).toMatch(/rotated and removed faster than they were read/);
  });

  it('reads a file once when a listing catches it both as previous and under its new archive name', () => {
    const d = tmpdir();
    const cur = join(d, 'current');
    const L = (i: number): string => `@4000000000000000000000${String(i).padStart(2, '0')} l${i}\n`;
    writeFileSync(cur, L(1));
    const r = new DirReader(d, { service: 'x', rank: 0 });
    startAll(r, {});
    const got: string[] = [];
    drain(r, got);
    appendFileSync(cur, L(2));
    renameSync(cur, join(d, '@400000000000000000000010.s')); // A rotated
    writeFileSync(cur, L(3));
    renameSync(cur, join(d, 'previous')); // B rotating: linked, not yet unlinked (multilog's window)
    linkSync(join(d, 'previous'), join(d, '@400000000000000000000020.s'));
    writeFileSync(cur, L(4));
    drain(r, got);
    unlinkSync(join(d, 'previous'));
    appendFileSync(cur, L(5));
    drain(r, got);
    expect(got.map((l) => l.slice(26))).toEqual(['l1', 'l2', 'l3', 'l4', 'l5']);
  });

  it('resumes a saved position after current became an archive (same inode), and by time when its file is gone', () => {
    const d = tmpdir();
    const cur = join(d, 'current');
    writeFileSync(cur, '@400000000000000000000001 a\n@400000000000000000000002 b\n');
    const r = new DirReader(d, { service: 'x', rank: 0, track: true });
    startAll(r, {});
    r.next();
    r.markGiven();
    const pos = r.position()!;
    expect(pos).toMatchObject({ file: 'current', offset: 28, label: '@400000000000000000000001' });
    expect(lineEndsAt(d, 'current', 28, pos.label, pos.hash)).toBe(true);
    expect(lineEndsAt(d, 'current', 56, pos.label, pos.hash)).toBe(false);
    renameSync(cur, join(d, '@400000000000000000000005.s'));
    writeFileSync(cur, '@400000000000000000000006 c\n');
    const r2 = new DirReader(d, { service: 'x', rank: 0 });
    expect(startAt(r2, pos)).toBeNull();
    const got: string[] = [];
    drain(r2, got);
    expect(got.map((l) => l.slice(26))).toEqual(['b', 'c']);
    unlinkSync(join(d, '@400000000000000000000005.s'));
    const r3 = new DirReader(d, { service: 'x', rank: 0 });
    expect(startAt(r3, pos)).toMatch(/no longer exists.*resuming with the lines after @400000000000000000000001/);
    const got3: string[] = [];
    drain(r3, got3);
    expect(got3.map((l) => l.slice(26))).toEqual(['c']);
  });

  itWithPeer(['multilog'])('lastLines: the newest N across archives, the reader left at the end of current', () => {
    const d = join(tmpdir(), 'main');
    sh(`seq 1 2000 | multilog t s4096 n50 ${d}`);
    const r = new DirReader(d, { service: 'x', rank: 0, track: true });
    const kept = lastLines(r, 700, () => true);
    expect(kept.map((k) => k.line.toString('latin1').slice(26))).toEqual(Array.from({ length: 700 }, (_, i) => String(1301 + i)));
    expect(r.position()).toMatchObject({ file: 'current', offset: statSync(join(d, 'current')).size });
    expect(r.next()).toBe(false);
  });

  it('labels a service by its name for NAME/log/main, else by the base name', () => {
    expect(serviceOf('/service/web/log/main')).toBe('web');
    expect(serviceOf('/var/log/web/')).toBe('web');
    mkdirSync(join(tmpdir(), 'x'), { recursive: true });
  });

  itWithPeer(['mkfifo'])('a FIFO named current or previous is not listed, and does not block the listing (tail used to hang in open)', () => {
    const d = tmpdir();
    writeFileSync(join(d, '@400000006b033f7700000000.s'), '@400000006b033f7700000000 old\n');
    sh(`mkfifo ${d}/current ${d}/previous`);
    for (const open of [false, true]) expect(listLogdir(d, 'current', undefined, open).map((f) => f.name)).toEqual(['@400000006b033f7700000000.s']);
  });
});
