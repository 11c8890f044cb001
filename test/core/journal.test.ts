import { describe, expect, it } from 'vitest';
import { causeOf, countLine, levelOf, newCounts, parseLine, summaryOf, type JournalEvent } from '../../src/core/journal.js';

const base = '"v":1,"level":30,"time":"2026-11-22T10:17:08.279391Z","tai64n":"@400000006b02c12e10a72d0c","host":"h"';
const line = (rest: string): string => `{${base},${rest},"msg":"m"}`;

describe('parseLine', () => {
  it('accepts every documented event with its fields', () => {
    const lines = [
      '"service":"-","event":"supervisor-start","pid":1,"dir":"/service","version":"0.1.0"',
      '"service":"-","event":"supervisor-stop","pid":1,"reason":"SIGTERM"',
      '"service":"web","event":"add","target":"/srv/web"',
      '"service":"web","event":"remove","target":"/srv/web"',
      '"service":"web","event":"start","pid":12,"target":"/srv/web"',
      '"service":"web","event":"spawn-failed","error":"access denied"',
      '"service":"web","event":"ready","pid":12,"after":0.5',
      '"service":"web","event":"exit","pid":12,"code":null,"signal":"SIGSEGV","uptime":3.2,"operator":false,"wanted":"up"',
      '"service":"web","event":"backoff","delay":4,"deaths":3',
      '"service":"web","event":"control","command":"d","via":"control-fifo","sender":"uid 0 pid 1"',
      '"service":"web","event":"deploy","from":"/a","to":"/b"',
      '"service":"web","event":"rollback","from":"/b","to":"/a"',
      '"service":"web/log","event":"logger-start","pid":13,"kind":"script"',
      '"service":"web/log","event":"logger-exit","pid":13,"code":0,"signal":null,"kind":"script"',
      '"service":"-","event":"warning"',
    ];
    for (const l of lines) {
      const r = parseLine(line(l));
      expect(r.kind, l).toBe('ok');
      if (r.kind === 'ok') expect(r.record.t).toBe(Date.UTC(2026, 10, 22, 10, 17, 8) * 1000 + 279391);
    }
  });
  it('classifies truncated, corrupt and unknown lines', () => {
    expect(parseLine(line('"service":"web","event":"exit","pid":1')).kind).toBe('corrupt'); // fields missing
    expect(parseLine('{"level":30,"time":"2026-11-22T10:').kind).toBe('truncated');
    expect(parseLine('{"level":30,"time":"2026-11-22T10:17:08Z"}', false).kind).toBe('corrupt');
    expect(parseLine('{"level":30', false).kind).toBe('truncated');
    expect(parseLine('hello world').kind).toBe('corrupt');
    expect(parseLine('[1,2]').kind).toBe('corrupt');
    expect(parseLine('null').kind).toBe('corrupt');
    expect(parseLine(line('"service":"web","event":"teleport"')).kind).toBe('unknown');
    expect(parseLine(`{"v":1,"time":"yesterday","service":"web","event":"start","pid":1}`).kind).toBe('corrupt');
  });
  it('keeps fields added by later versions', () => {
    const r = parseLine(line('"service":"web","event":"start","pid":1,"target":"/x","cgroup":"/sys/fs/cgroup/web"'));
    expect(r.kind === 'ok' && (r.record as unknown as { cgroup: string }).cgroup).toBe('/sys/fs/cgroup/web');
  });
  it('counts', () => {
    const c = newCounts();
    countLine(c, parseLine('garbage'));
    countLine(c, parseLine(line('"service":"web","event":"start","pid":1')));
    countLine(c, parseLine('{"a', false));
    expect(c).toEqual({ lines: 3, events: 1, skipped: 0, truncated: 1, corrupt: 1, unknown: 0 });
  });
});

describe('event helpers', () => {
  const exit: JournalEvent = { event: 'exit', service: 'web', pid: 1, code: 3, signal: null, uptime: 1, operator: false, wanted: 'up' };
  it('names causes exit:N and signal:NAME', () => {
    expect(causeOf({ code: 3, signal: null })).toBe('exit:3');
    expect(causeOf({ code: null, signal: 'SIGKILL' })).toBe('signal:SIGKILL');
    expect(causeOf({ code: null, signal: null })).toBe('unknown');
  });
  it('levels: failures warn, operator exits inform', () => {
    expect(levelOf(exit)).toBe(40);
    expect(levelOf({ ...exit, operator: true })).toBe(30);
    expect(levelOf({ ...exit, wanted: 'once', code: 0 })).toBe(30);
    expect(levelOf({ ...exit, wanted: 'once', code: 1 })).toBe(40);
    expect(levelOf({ event: 'spawn-failed', service: 'x', error: 'e' })).toBe(50);
  });
  it('summarises', () => expect(summaryOf(exit)).toBe('web exited (exit:3) after 1s'));
});
