// Start-up is part of the interface (issue 2: within 1.5x of `node -e 0`, measured in bench/): the control
// programs that scripts call in loops load no socket, child-process, FIFO or lock code, and no commander.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/index.js';

function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(join(file, '..', spec.replace(/\.js$/, '.ts')));
      else seen.add(spec);
    }
  };
  visit(entry);
  return seen;
}

describe('start-up imports', () => {
  for (const prog of ['svc', 'svstat', 'svok']) {
    it(`${prog} loads no node:net, node:child_process, commander, FIFO or lock code`, () => {
      const got = [...closure(join(ROOT, 'src/programs', `${prog}.ts`))];
      for (const heavy of ['node:net', 'node:child_process', 'commander', 'pino', 'date-fns']) expect(got, prog).not.toContain(heavy);
      for (const mod of ['io/svdir.ts', 'io/flock.ts', 'io/fifo.ts', 'io/service.ts']) {
        expect(got.some((f) => f.endsWith(mod)), `${prog} imports ${mod}`).toBe(false);
      }
    });
  }
  it('the dispatcher itself loads only the registry, error reporting and the runtime fixes', () => {
    const got = [...closure(join(ROOT, 'src/cli/entry.ts'))].map((f) => (f.startsWith('/') ? f.slice(join(ROOT, 'src').length + 1) : f)).sort();
    expect(got).toEqual(['cli/entry.ts', 'cli/main.ts', 'cli/registry.ts', 'cli/report-error.ts', 'cli/run-one.ts', 'cli/runtime.ts', 'core/errors.ts', 'node:os']);
  });
});
