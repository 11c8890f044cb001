// The command language and the text form of events (core/control.ts).
import { describe, expect, it } from 'vitest';
import { CommandError, fieldText, formatEventLine, formatReply, parseCommand, splitWords, TextLines } from '../../src/core/control.js';

describe('splitWords', () => {
  it.each([
    ['up web', ['up', 'web']],
    ["  add  x -- sh -c 'echo \"a b\"; exit 1'  ", ['add', 'x', '--', 'sh', '-c', 'echo "a b"; exit 1']],
    ['a\\ b "c\\"d" e\'f\'g', ['a b', 'c"d', 'efg']],
    ['status # comment', ['status']],
    ['# only a comment', []],
    ['\tsignal\tweb\tHUP\r', ['signal', 'web', 'HUP']],
  ])('%j', (line, words) => expect(splitWords(line)).toEqual(words));

  it('unterminated quotes are errors', () => {
    expect(() => splitWords("add x -- 'oops")).toThrow(CommandError);
    expect(() => splitWords('add x -- "oops')).toThrow(CommandError);
  });
});

describe('parseCommand', () => {
  it('parses every verb', () => {
    expect(parseCommand('up web')).toEqual({ verb: 'up', service: 'web' });
    expect(parseCommand('signal web hup')).toEqual({ verb: 'signal', service: 'web', signal: 'SIGHUP' });
    expect(parseCommand('signal web SIGUSR1')).toEqual({ verb: 'signal', service: 'web', signal: 'SIGUSR1' });
    expect(parseCommand('status')).toEqual({ verb: 'status' });
    expect(parseCommand('events -f --json')).toEqual({ verb: 'events', follow: true, json: true });
    expect(parseCommand("from 4242 'upkeep ctl'")).toEqual({ verb: 'from', pid: 4242, program: 'upkeep ctl' });
    expect(parseCommand('from 7')).toEqual({ verb: 'from', pid: 7, program: '' });
    for (const bad of ['from', 'from 0', 'from -1', 'from x', 'from 12345678901']) expect(() => parseCommand(bad)).toThrow(CommandError);
    expect(parseCommand('')).toBeUndefined();
    expect(parseCommand('add t --cwd /srv --down --env A=1=2 --notification-fd 5 --listen tcp:127.0.0.1:80 prog arg')).toEqual({
      verb: 'add',
      service: 't',
      spec: { argv: ['prog', 'arg'], cwd: '/srv', down: true, controller: false, env: [['A', '1=2']], notificationFd: 5, listen: ['tcp:127.0.0.1:80'] },
    });
  });

  it.each(['up', 'up a b', 'up ../x', 'signal web', 'status a b', 'rescan now', 'add x', 'add x --env NOEQ p', 'add x --listen tcp:80 p', 'add x --bogus p', 'events -x', 'frob'])(
    'rejects %j',
    (line) => expect(() => parseCommand(line)).toThrow(CommandError),
  );
});

describe('text lines', () => {
  it('events: EVENT SERVICE TIME then the documented keys in order; values escaped', () => {
    expect(formatEventLine({ event: 'exit', service: 'web', pid: 7, code: null, signal: 'SIGTERM', uptime: 1.5, operator: true, wanted: 'up', msg: 'x' }, 1_700_000_000_000_001)).toBe(
      'exit\tweb\t1700000000.000001\tpid=7\tcode=-\tsignal=SIGTERM\tuptime=1.5\toperator=true\twanted=up\n',
    );
    expect(fieldText('a\tb\nc\\d')).toBe('a\\tb\\nc\\\\d');
    expect(fieldText('')).toBe('-');
  });

  it('replies', () => {
    expect(formatReply({ ok: true, verb: 'up', service: 'web', msg: 'wanted up: starting' }, false)).toBe('ok\tup\tweb\twanted up: starting\n');
    expect(JSON.parse(formatReply({ ok: false, verb: 'up', service: 'x', msg: 'no' }, true))).toEqual({ event: 'error', ok: false, verb: 'up', service: 'x', msg: 'no' });
  });
});

describe('TextLines', () => {
  it('gives the lines each chunk completes, keeps the unfinished one, whatever the chunking', () => {
    const t = new TextLines();
    expect(t.push('up a\ndo')).toEqual(['up a']);
    expect(t.rest).toBe('do');
    expect(t.push('wn b')).toEqual([]);
    expect(t.push('\n\nstatus\n')).toEqual(['down b', '', 'status']);
    expect(t.rest).toBe('');
    const text = 'one\ntwo\n\nthree\nfour';
    for (let cut = 0; cut <= text.length; cut++) {
      const u = new TextLines();
      expect([...u.push(text.slice(0, cut)), ...u.push(text.slice(cut))]).toEqual(['one', 'two', '', 'three']);
      expect(u.rest).toBe('four');
    }
  });
});
