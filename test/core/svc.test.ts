import { describe, expect, it } from 'vitest';
import { parseSvcArgs } from '../../src/core/svc.js';

describe('svc arguments', () => {
  const cases: [string[], ReturnType<typeof parseSvcArgs>][] = [
    [['-dudptx', '-a', 's'], { ok: true, commands: 'duptxa', dirs: ['s'] }], // observed with Debian's svc
    [['-u', '--', '-x'], { ok: true, commands: 'u', dirs: ['-x'] }],
    [['s', '-k'], { ok: true, commands: '', dirs: ['s', '-k'] }],
    [['-', 's'], { ok: true, commands: '', dirs: ['-', 's'] }],
    [['-u'], { ok: true, commands: 'u', dirs: [] }],
    [[], { ok: true, commands: '', dirs: [] }],
    [['-uz', 's'], { ok: false, illegal: 'z' }],
    [['-ux-', 's'], { ok: false, illegal: '-' }],
    [['-udopchaitkxudopchaitkx', 'a', 'b'], { ok: true, commands: 'udopchaitkx', dirs: ['a', 'b'] }],
  ];
  for (const [args, want] of cases) {
    it(JSON.stringify(args), () => expect(parseSvcArgs(args)).toEqual(want));
  }
});
