// The cursor format and where a saved position is looked for after rotations.
import { describe, expect, it } from 'vitest';
import { CursorError, candidates, formatCursor, parseCursor, type DirPosition } from '../../src/core/cursor.js';

const pos: DirPosition = { file: 'current', ino: 42, offset: 100, label: '@400000006b02c12e10a72d0c', hash: '1a2b3c4d' };

describe('cursor format', () => {
  it('round-trips, one directory per line, sorted', () => {
    const c = { dirs: { '/s/web/log/main': pos, '/s/db/log/main': { ...pos, file: '@400000006b02c12e10a72d0c.s', label: null } } };
    const text = formatCursor(c);
    expect(text.split('\n')[1]).toMatch(/^"\/s\/db\/log\/main":/);
    expect(parseCursor(text)).toEqual(c);
  });

  it('rejects anything else', () => {
    for (const bad of ['', '{}', '{"upkeep_cursor":2,"dirs":{}}', '{"upkeep_cursor":1,"dirs":{"/x":{"file":"../etc","ino":1,"offset":0,"label":null,"hash":""}}}',
      '{"upkeep_cursor":1,"dirs":{"/x":{"file":"current","ino":1,"offset":-1,"label":null,"hash":""}}}',
      '{"upkeep_cursor":1,"dirs":{"/x":{"file":"current","ino":1,"offset":0,"label":"@nothex","hash":""}}}']) {
      expect(() => parseCursor(bad), bad).toThrow(CursorError);
    }
  });
});

describe('candidates', () => {
  const files = [
    { name: '@400000006b02c1000000000a.s', ino: 7, size: 500 },
    { name: '@400000006b02c13000000000.s', ino: 42, size: 400 },
    { name: '@400000006b02c14000000000.s', ino: 9, size: 50 },
    { name: '@400000006b02c15000000000.u', ino: 11, size: 300 },
    { name: 'current', ino: 12, size: 120 },
  ];
  it('after rotation: the archive with the same inode first, then later archives, then current; never too short ones', () => {
    expect(candidates(files, pos).map((f) => f.name)).toEqual([
      '@400000006b02c13000000000.s', '@400000006b02c15000000000.u', 'current',
    ]);
  });
  it('an archive position: that archive by name first', () => {
    const p = { ...pos, file: '@400000006b02c1000000000a.s', ino: 7 };
    expect(candidates(files, p)[0]!.name).toBe('@400000006b02c1000000000a.s');
  });
  it('previous (a rotation in progress when the line was given): by inode once it is an archive, or still previous', () => {
    const p = { ...pos, file: 'previous', ino: 42 };
    expect(parseCursor(formatCursor({ dirs: { '/x': p } }))).toEqual({ dirs: { '/x': p } });
    expect(candidates(files, p)[0]!.name).toBe('@400000006b02c13000000000.s');
    // still in rotation: previous itself; a later rotation's previous (another inode) is not taken by name
    const during = [...files.filter((f) => f.ino !== 42), { name: 'previous', ino: 42, size: 400 }];
    expect(candidates(during, p)[0]!).toEqual({ name: 'previous', ino: 42, size: 400 });
    const later = [...files.filter((f) => f.ino !== 42), { name: 'previous', ino: 99, size: 400 }];
    expect(candidates(later, p)[0]!.name).toBe('@400000006b02c15000000000.u');
  });
  it('current with the same inode: current first', () => {
    const p = { ...pos, ino: 12 };
    expect(candidates(files, p)[0]!.name).toBe('current');
  });
});
