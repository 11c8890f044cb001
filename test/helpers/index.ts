// Shared test helpers: temp dirs removed after each test, the built CLI spawned for real, peers
// (Debian's daemontools, s6) looked up on PATH, and waiting on observable events instead of sleeping.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir as osTmp } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, it, type TestAPI } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '../..');
export const UPKEEP = join(ROOT, 'bin/upkeep');

const made: string[] = [];
afterEach(() => {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the current test. */
export function tmpdir(prefix = 'upkeep-test-'): string {
  const d = mkdtempSync(join(osTmp(), prefix));
  made.push(d);
  return d;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Runs a command to completion, feeding `input` on stdin. */
export function run(cmd: string, args: string[], opts: SpawnOptions & { input?: Buffer | string } = {}): Promise<RunResult> {
  return new Promise((resolveP, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolveP({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }),
    );
    child.stdin!.on('error', () => {});
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** Runs `upkeep <args>` from the built checkout. */
export function upkeep(args: string[], opts: SpawnOptions & { input?: Buffer | string } = {}): Promise<RunResult> {
  return run(UPKEEP, args, opts);
}

/** Absolute path of a program on PATH (or in /usr/bin, /usr/sbin), or undefined. A name with a `/` is a path. */
export function which(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin', '/bin']) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * A test that needs a real peer program (Debian's multilog, s6-log, ...). In CI a missing peer fails the
 * test; elsewhere the test is skipped, and says so loudly on stderr.
 */
export function itWithPeer(peers: string[]): TestAPI | typeof it.skip {
  const missing = peers.filter((p) => which(p) === undefined);
  if (missing.length === 0) return it;
  if (process.env.CI) {
    return ((name: string) =>
      it(name, () => {
        throw new Error(`missing peer program(s) ${missing.join(', ')}: .ci/run must install them`);
      })) as unknown as TestAPI;
  }
  process.stderr.write(`\n*** SKIPPING tests that need ${missing.join(', ')} (not installed) ***\n\n`);
  return it.skip;
}

/** Polls `check` until it returns a truthy value (an observable event), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function sh(script: string, opts: { cwd?: string; input?: string | Buffer } = {}): Buffer {
  const r = spawnSync('/bin/sh', ['-c', script], { cwd: opts.cwd, input: opts.input });
  if (r.status !== 0) throw new Error(`sh failed (${r.status}): ${script}\n${r.stderr}`);
  return r.stdout;
}
