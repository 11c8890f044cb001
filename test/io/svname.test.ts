// SERVICE arguments: a path, or a name in --dir, $SVDIR, /service; svc/svstat/svok keep daemontools' rule
// (a directory relative to the current one) first.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveService, serviceDirArg, takeDirOption, treeOf } from '../../src/io/svname.js';
import { exitNoteText, parseScriptFile } from '../../src/io/loghost-client.js';
import { tmpdir } from '../helpers/index.js';

describe('service names', () => {
  it('resolves a name in --dir, else $SVDIR, else /service; a path by its parent', () => {
    expect(treeOf('/t', { SVDIR: '/s' })).toBe('/t');
    expect(treeOf(undefined, { SVDIR: '/s' })).toBe('/s');
    expect(treeOf(undefined, {})).toBe('/service');
    expect(resolveService('web', undefined, { SVDIR: '/s' })).toEqual({ tree: '/s', name: 'web' });
    expect(resolveService('/srv/tree/web/', '/ignored', {})).toEqual({ tree: '/srv/tree', name: 'web' });
  });

  it('svc/svstat/svok: an existing relative directory wins, else the name is looked up in the tree', () => {
    const d = tmpdir();
    mkdirSync(join(d, 'web'));
    expect(serviceDirArg('web', '/elsewhere', {})).toBe(join('/elsewhere', 'web'));
    expect(serviceDirArg(join(d, 'web'), '/elsewhere', {})).toBe(join(d, 'web'));
    expect(serviceDirArg('.', '/elsewhere', {})).toBe('.');
    expect(takeDirOption(['--dir', '/t', '-u', 'x'])).toEqual({ dir: '/t', rest: ['-u', 'x'] });
    expect(takeDirOption(['--dir=/t', 'x'])).toEqual({ dir: '/t', rest: ['x'] });
    expect(takeDirOption(['-u', 'x'])).toEqual({ dir: undefined, rest: ['-u', 'x'] });
  });
});

describe('log/script and exit notes', () => {
  it('a script file: one action per line, blank lines and # comments ignored', () => {
    expect(parseScriptFile('# comment\n\nt\n  # indented comment\ns4096\n./main\r\n')).toEqual(['t', 's4096', './main']);
  });

  it('the exit note format of docs/journal.md', () => {
    const base = { pid: 7, uptime: 3.2041, operator: false, wanted: 'up' as const };
    expect(exitNoteText({ ...base, code: null, signal: 'SIGSEGV' }, 'restart')).toBe('upkeep: exit pid=7 code=- signal=SIGSEGV uptime=3.204 next=restart');
    expect(exitNoteText({ ...base, code: 3, signal: null }, 'backoff:2')).toBe('upkeep: exit pid=7 code=3 signal=- uptime=3.204 next=backoff:2');
  });
});
