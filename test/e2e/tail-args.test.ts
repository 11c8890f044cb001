// `upkeep tail` reads arguments of plain forms without commander (start-up time, issue 5): for any
// argument list it accepts, its options must be exactly commander's; anything else goes to commander.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commanderOptions, quickOptions } from '../../src/cli/tail.js';

const value = fc.constantFrom('raw', 'short', 'json', 'iso', 'xml', 's6', 'daemontools', '10', '0', '2h', '-3', 'web', 'a b', '', '=x');
const token = fc.oneof(
  fc.constantFrom('-n', '--lines', '--since', '--until', '-g', '--grep', '--service', '-o', '--output', '--tai', '--host'),
  fc.constantFrom('--cursor-file', '--dir', '--log-path', '-f', '--follow', '--journal', '--', '-', '-fn', '-n5', '--lines=3', '--bogus'),
  value,
  fc.constantFrom('web', 'db', './log/main', '/var/log/x'),
);

describe('tail arguments', () => {
  it('quickOptions gives commander\'s options whenever it accepts the arguments (property)', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 8 }), async (args) => {
        const quick = quickOptions(args);
        if (quick === null) return;
        accepted++;
        expect(quick).toEqual(await commanderOptions(args));
      }),
      { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(40);
  });

  it('the common forms are read without commander', () => {
    expect(quickOptions(['-o', 'raw', '--since', '2026-11-22 10:00', 'web', './x/log/main'])).toEqual({
      service: [], output: 'raw', tai: 'daemontools', logPath: 'log/main', since: '2026-11-22 10:00', targets: ['web', './x/log/main'],
    });
    expect(quickOptions(['-f', '-n', '5', '--service', 'a', '--service', 'b'])).toEqual({
      service: ['a', 'b'], output: 'short', tai: 'daemontools', logPath: 'log/main', follow: true, lines: 5, targets: [],
    });
    for (const bad of [['-n', 'x'], ['-o', 'xml'], ['--since'], ['-h'], ['--lines=3'], ['--', 'web'], ['--since', '-2h']]) expect(quickOptions(bad)).toBeNull();
  });
});
