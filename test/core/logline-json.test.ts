// `%json` log lines as `upkeep tail` and `upkeep export` read them: recognised per line, the message's
// exact bytes (message_base64 when not UTF-8), continued pieces, header objects; and the crash context
// of `upkeep report` ignoring header lines.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { headerJsonLine, headerTextLine, jsonLogLine } from '../../src/core/logfile-format.js';
import { LineFormatter, base64, isJsonLogLine, messageOf, parseJsonLog, unbase64 } from '../../src/core/logline.js';
import { ContextCollector } from '../../src/core/report-context.js';

const stamp = { tai: 1_795_348_861, nano: 548_950_500 };
const line = (s: string): Uint8Array => new TextEncoder().encode(s.replace(/\n$/, ''));

describe('%json lines', () => {
  it('round-trips any bytes through jsonLogLine and parseJsonLog (message_base64 when not UTF-8)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }).filter((b) => !b.includes(10)), fc.boolean(), (msg, cont) => {
        const l = line(jsonLogLine(msg, stamp, cont));
        expect(isJsonLogLine(l, 0, l.length)).toBe(true);
        const j = parseJsonLog(l)!;
        expect(Buffer.from(j.msg).equals(Buffer.from(msg))).toBe(true);
        expect(j.continued).toBe(cont);
        expect(j.header).toBe(false);
        expect(Buffer.from(messageOf(l, false)).equals(Buffer.from(msg))).toBe(true);
      }),
    );
  });

  it('unbase64 inverts base64 and refuses what is not base64', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      expect(Buffer.from(unbase64(base64(b))!).equals(Buffer.from(b))).toBe(true);
    }));
    expect(unbase64('a')).toBeNull();
    expect(unbase64('ab!d')).toBeNull();
  });

  it('a header object is recognised; text, journal lines and broken JSON are not %json lines', () => {
    const h = parseJsonLog(line(headerJsonLine({ host: 'h', dir: '/d', id: 'ab'.repeat(16), stamp })))!;
    expect(h.header).toBe(true);
    expect(new TextDecoder().decode(h.msg)).toMatch(/^upkeep-header host=h dir=\/d id=(ab){16} started=/);
    for (const t of ['plain text', '{"v":1,"level":30,"time":"2026-11-22T10:00:00Z","tai64n":"@400000006b02d97d20b851e4","msg":"x"}', '{"time":"2026-11-22T10:00:00Z","tai64n":"@4000", "message":', '{"time":"2026-11-22T10:00:00.000Z","message":"no tai64n"}']) {
      expect(parseJsonLog(line(t))).toBeNull();
      expect(new TextDecoder().decode(messageOf(line(t), false))).toBe(t);
    }
  });

  it('the formatter shows the message (json: exact bytes, continued marked); raw shows the stored line', () => {
    const f = (format: 'iso' | 'json' | 'raw') => new LineFormatter({ format, conv: 'daemontools', host: 'h', zone: () => 0, color: false, serviceWidth: 1 });
    const l = line(jsonLogLine(Buffer.from('bad \xff', 'latin1'), stamp, true));
    const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
    expect(dec(f('iso').format('s', l, false, stamp, true))).toBe('2026-11-22T12:00:51.548950500Z s bad \ufffd\n');
    const j = JSON.parse(dec(f('json').format('s', l, false, stamp, true)));
    expect(j).toEqual({ time: '2026-11-22T12:00:51.548950500Z', tai64n: '@400000006b02d97d20b851e4', continued: true, host: 'h', service: 's', message: 'bad \ufffd', message_base64: Buffer.from('bad \xff', 'latin1').toString('base64') });
    expect(dec(f('raw').format('s', l, false, stamp, true))).toBe(dec(l) + '\n');
  });
});

describe('crash context and %header lines', () => {
  const exitInfo = (at: number, pid: number) => ({ at, pid, cause: 'exit:1', code: 1, signal: null, uptime: 1, operator: false, failure: true, next: 'up', context: [] as string[], contextKind: 'none' as const });
  it('a header line (text, labelled or not, or JSON) is not counted as a service line before a death', () => {
    const e = [exitInfo(1, 10)];
    const c = new ContextCollector(e, 3);
    const hdr = { host: 'h', dir: '/d', id: 'cd'.repeat(16), stamp };
    c.line('a');
    c.line('b');
    c.line(headerTextLine(hdr, true).trimEnd());
    c.line(headerTextLine(hdr, false).trimEnd());
    c.line(headerJsonLine(hdr).trimEnd());
    c.line('upkeep: exit pid=10 code=1 signal=- uptime=1.000 next=up');
    c.finish();
    expect(e[0]!.context).toEqual(['a', 'b']);
    expect(e[0]!.contextKind).toBe('exact');
  });
});
