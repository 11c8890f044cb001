// The dependency direction cli -> programs -> io -> core, enforced: core is pure, io never reaches up.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/index.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const re = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...text.matchAll(re)].map((m) => (m[1] ?? m[2])!);
}

const LAYER = { core: 0, io: 1, programs: 2, cli: 3 } as const;
type Layer = keyof typeof LAYER;

describe('architecture', () => {
  const src = join(ROOT, 'src');
  for (const file of files(src)) {
    const rel = relative(src, file);
    const layer = rel.split('/')[0] as Layer;
    it(`${rel} imports only downwards`, () => {
      for (const spec of imports(file)) {
        if (spec.startsWith('.')) {
          const target = relative(src, join(file, '..', spec)).split('/')[0] as Layer;
          expect(LAYER[target], `${rel} imports ${spec}`).toBeLessThanOrEqual(LAYER[layer]);
        } else if (layer === 'core') {
          expect.fail(`core module ${rel} imports ${spec}: core is pure`);
        }
      }
    });
    if (layer === 'core') {
      it(`${rel} uses no process, clock or timers`, () => {
        const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
        expect(text).not.toMatch(/\bprocess\.|\bDate\.now\(|new Date\(|setTimeout\(|setInterval\(|\brequire\(/);
      });
    }
    if (layer !== 'cli') {
      it(`${rel} does not use commander`, () => {
        expect(imports(file)).not.toContain('commander');
      });
    }
  }
});
