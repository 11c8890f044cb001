// `upkeep tail` runs from its one-file CommonJS bundle (dist/bundle/tail.cjs, src/cli/entry-tail.ts): the
// launcher must pick it, and it must behave as the ES modules it is built from (same bytes out, same
// errors and exit codes). Every other tail test goes through the launcher, so through the bundle.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, UPKEEP, run, tmpdir, waitFor } from '../helpers/index.js';

const kids: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) k.kill('SIGKILL');
});

function logdir(root: string, name: string, lines: string[]): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'current'), Buffer.from(lines.join(''), 'latin1')); // (\xff: not UTF-8)
  return d;
}

describe('tail bundle', () => {
  it('bin/upkeep runs `upkeep tail` from dist/bundle/tail.cjs', async () => {
    const root = tmpdir();
    const d = logdir(root, 'a', ['@400000006b021aaa0009450c one\n']);
    const c = spawn(UPKEEP, ['tail', '-f', '-n', '0', d], { stdio: 'ignore' });
    kids.push(c);
    const cmd = await waitFor(() => {
      const argv = readFileSync(`/proc/${c.pid}/cmdline`, 'latin1').split('\0');
      return argv[0] === 'node' || argv[0]!.endsWith('/node') ? argv : null;
    }, 'tail to exec node');
    expect(resolve(cmd[1]!)).toBe(join(ROOT, 'dist/bundle/tail.cjs'));
    expect(cmd.slice(2, 6)).toEqual(['-f', '-n', '0', d]);
  });

  it('merges -o raw in the WebAssembly kernel (dist/wasm/merge.wasm, found from the bundle)', async () => {
    const root = tmpdir();
    const a = logdir(root, 'a', ['@400000006b021aaa0009450c a\n']);
    const b = logdir(root, 'b', ['@400000006b021aaa0009450b b\n']);
    const r = await run(UPKEEP, ['tail', '-o', 'raw', a, b], { env: { ...process.env, UPKEEP_DEBUG: '1' } });
    expect(r.stderr.toString()).toBe('upkeep tail: debug: -o raw merge in the WebAssembly kernel\n');
    expect(r.stdout.toString()).toBe('@400000006b021aaa0009450b b\n@400000006b021aaa0009450c a\n');
  });

  it('under an address-space limit (softlimit -a) the JavaScript merge runs instead, with the same output', async () => {
    // (V8 reserves ~10 GiB of address space for a WebAssembly memory; bin/upkeep raises a lower limit to
    // 4 GiB only)
    const root = tmpdir();
    const a = logdir(root, 'a', ['@400000006b021aaa0009450c a\n', 'a unlabelled\n']);
    const b = logdir(root, 'b', ['@400000006b021aaa0009450b b\n', '@400000006b021aaa0009450d b2\n']);
    const r = await run('/bin/sh', ['-c', 'ulimit -S -v 3000000; exec "$0" "$@"', UPKEEP, 'tail', '-o', 'raw', a, b], {
      env: { ...process.env, UPKEEP_DEBUG: '1' },
    });
    expect(r.stderr.toString()).toBe('upkeep tail: debug: -o raw merge in JavaScript\n');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('@400000006b021aaa0009450b b\n@400000006b021aaa0009450c a\na unlabelled\n@400000006b021aaa0009450d b2\n');
  });

  it('gives the same output, errors and exit codes as the ES modules', async () => {
    const root = tmpdir();
    const a = logdir(root, 'a', ['@400000006b021aaa0009450c a one\n', '@400000006b021aab0009450c a two\n', 'no label\n']);
    const b = logdir(root, 'b', ['@400000006b021aaa1009450c b one \xff\n', '@400000006b021aac0009450c b two\n']);
    const esm = (args: string[]) =>
      run('node', [join(ROOT, 'dist/cli/entry.js'), 'tail', ...args], { env: { ...process.env, UPKEEP_ARGV0: 'upkeep', TZ: 'UTC' } });
    const bundled = (args: string[]) => run(UPKEEP, ['tail', ...args], { env: { ...process.env, TZ: 'UTC' } });
    for (const args of [
      ['-o', 'raw', a, b],
      ['-o', 'json', '--host', 'h', a, b],
      ['-o', 'iso', '-n', '2', a, b],
      ['-o', 'short', '-g', 'two', a, b],
      ['-o', 'raw', '--since', '@400000006b021aab0000000000000000', a, b],
      ['--output', 'xml', a],
      ['-o', 'raw', join(root, 'missing')],
      ['--cursor-file', '@CUR', '-o', 'raw', a, b],
    ]) {
      // (a cursor file each: the second run would resume after the first)
      const [x, y] = [await esm(args.map((s) => s.replace('@CUR', join(root, 'cur1')))), await bundled(args.map((s) => s.replace('@CUR', join(root, 'cur2'))))];
      expect({ code: y.code, out: y.stdout.toString('latin1'), err: y.stderr.toString() }, args.join(' ')).toEqual({
        code: x.code,
        out: x.stdout.toString('latin1'),
        err: x.stderr.toString(),
      });
    }
  });
});
