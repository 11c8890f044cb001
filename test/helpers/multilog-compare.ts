// Side-by-side harness for multilog: runs Debian's /usr/bin/multilog and the candidate (upkeep multilog, or
// Debian's own binary again when MULTILOG_CANDIDATE=debian, which validates the masking) in two separate
// temporary trees with the same layout, input, umask, TZ and environment, snapshots both trees and compares
// them with TAI64N labels masked. Logs are bytes: everything here works on Buffers / latin1 strings.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants as FS,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir as osTmp } from 'node:os';
import { join } from 'node:path';
import { UPKEEP, waitFor } from './index.js';

// ---------------------------------------------------------------------------------------------------------
// Implementations

export interface Impl {
  name: string;
  /** argv prefix: the program, then the words that come before the script. */
  argv: string[];
}

export const DEBIAN: Impl = { name: 'debian', argv: ['/usr/bin/multilog'] };
/** upkeep's CLI; MULTILOG_UPKEEP=/path/to/bin/upkeep runs a private build instead of this checkout's. */
export const UPKEEP_MULTILOG: Impl = { name: 'upkeep', argv: [process.env.MULTILOG_UPKEEP ?? UPKEEP, 'multilog'] };

/** The implementation under test: upkeep, or (MULTILOG_CANDIDATE=debian) Debian's multilog against itself. */
export const CANDIDATE: Impl = process.env.MULTILOG_CANDIDATE === 'debian' ? DEBIAN : UPKEEP_MULTILOG;

// ---------------------------------------------------------------------------------------------------------
// Scratch space. vitest's per-test afterEach cleanup (helpers/index.ts tmpdir) is unsafe under
// test.concurrent, so each test file owns one scratch root and removes it in afterAll.

export class Scratch {
  readonly root = mkdtempSync(join(osTmp(), 'upkeep-mlcmp-'));
  private n = 0;
  /** A fresh empty directory under the scratch root. */
  dir(tag: string): string {
    const d = join(this.root, `${++this.n}-${tag.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40)}`);
    mkdirSync(d);
    return d;
  }
  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Masking and TAI64N labels

const LINE_LABEL = /(^|\n)@[0-9a-f]{24} /g;
const NAME_LABEL = /^@[0-9a-f]{24}\./;
export const OLD_NAME = /^@[0-9a-f]{24}\.[su]$/;

/** Bytes with every TAI64N label at a line start (followed by a space) replaced by `@<TAI64N> `. */
export function maskBytes(b: Buffer): string {
  return b.toString('latin1').replace(LINE_LABEL, '$1@<TAI64N> ');
}

export function maskName(name: string): string {
  return name
    .split('/')
    .map((p) => p.replace(NAME_LABEL, '@<TAI64N>.'))
    .join('/');
}

const TAI_BASE = (1n << 62n) + 10n; // daemontools convention: 2^62 + 10 + UNIX seconds

/** A label's instant in UNIX microseconds, and its raw nanosecond field. */
export function parseLabel(label: string): { micros: bigint; nano: number } {
  const sec = BigInt('0x' + label.slice(1, 17)) - TAI_BASE;
  const nano = parseInt(label.slice(17, 25), 16);
  return { micros: sec * 1_000_000n + BigInt(Math.floor(nano / 1000)), nano };
}

/** Labels at line starts, in order. */
export function lineLabels(b: Buffer): string[] {
  return [...b.toString('latin1').matchAll(/(?:^|\n)(@[0-9a-f]{24}) /g)].map((m) => m[1]!);
}

/**
 * Checks stamps as daemontools makes them: non-decreasing, inside [t0, t1] (UNIX microseconds) and with
 * nanoseconds ending in 500. Returns the problems found (empty when sane).
 */
export function stampProblems(labels: string[], t0: bigint, t1: bigint): string[] {
  const out: string[] = [];
  let prev = -1n;
  for (const l of labels) {
    const { micros, nano } = parseLabel(l);
    if (nano % 1000 !== 500) out.push(`${l}: nanoseconds ${nano} do not end in 500`);
    if (micros < t0 || micros > t1) out.push(`${l}: ${micros} outside the run's window [${t0}, ${t1}]`);
    if (micros < prev) out.push(`${l}: earlier than the stamp before it`);
    prev = micros;
  }
  return out;
}

export function nowMicros(): bigint {
  return BigInt(Date.now()) * 1000n;
}

// ---------------------------------------------------------------------------------------------------------
// Snapshots

export interface Entry {
  /** path relative to the working directory */
  name: string;
  kind: 'file' | 'dir' | 'fifo' | 'link' | 'other';
  mode: number;
  data: Buffer;
}

export function snapshot(w: string, skip: (name: string) => boolean = () => false): Entry[] {
  const out: Entry[] = [];
  const walk = (rel: string): void => {
    const names = readdirSync(rel ? join(w, rel) : w).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      if (skip(r)) continue;
      const st = lstatSync(join(w, r));
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out.push({ name: r, kind: 'dir', mode, data: Buffer.alloc(0) });
        walk(r);
      } else if (st.isFile()) out.push({ name: r, kind: 'file', mode, data: readFileSync(join(w, r)) });
      else if (st.isFIFO()) out.push({ name: r, kind: 'fifo', mode, data: Buffer.alloc(0) });
      else if (st.isSymbolicLink()) out.push({ name: r, kind: 'link', mode, data: Buffer.alloc(0) });
      else out.push({ name: r, kind: 'other', mode, data: Buffer.alloc(0) });
    }
  };
  walk('');
  return out;
}

/** Old files (`@...`) of a log directory in name order (= the order in which they were finished). */
export function oldFiles(entries: Entry[], dir: string): Entry[] {
  const pre = dir.replace(/^\.\//, '') + '/';
  return entries
    .filter((e) => e.name.startsWith(pre) && !e.name.slice(pre.length).includes('/') && e.name.slice(pre.length).startsWith('@'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The whole log of a directory: all old files in name order, then `current`. */
export function logStream(entries: Entry[], dir: string): Buffer {
  const pre = dir.replace(/^\.\//, '') + '/';
  const cur = entries.find((e) => e.name === pre + 'current');
  return Buffer.concat([...oldFiles(entries, dir).map((e) => e.data), cur ? cur.data : Buffer.alloc(0)]);
}

/**
 * multilog's rotation rule on every finished file of a directory: never more than s bytes; ends with a newline
 * and holds at least s - 2000 bytes, or holds exactly s bytes (cut inside a longer line).
 */
export function rotationProblems(entries: Entry[], dir: string, s: number): string[] {
  const out: string[] = [];
  for (const e of oldFiles(entries, dir)) {
    const len = e.data.length;
    const endsNl = len > 0 && e.data[len - 1] === 10;
    if (len > s) out.push(`${maskName(e.name)}: ${len} bytes > s=${s}`);
    else if (!(len === s || (endsNl && len >= s - 2000)))
      out.push(`${maskName(e.name)}: ${len} bytes, ${endsNl ? 'ends with' : 'does not end with'} \\n (s=${s})`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Running

export interface Run {
  /** the script; `{W}` is replaced by the absolute working directory of the tree */
  args: string[];
  input?: Buffer | string;
  /** 'file' (default): stdin is a regular file; 'pipe': a pipe written fully then closed */
  feed?: 'file' | 'pipe';
}

export interface Case extends Run {
  /** builds the pre-existing layout in the working directory (called once per tree) */
  setup?: (w: string) => void;
  /** more runs on the same tree, after the first one */
  then?: Run[];
  env?: Record<string, string>;
  umask?: string;
  /** stderr redirected to this path (e.g. /dev/full) instead of being captured */
  stderrTo?: string;
  /** extra shell redirections for the program, e.g. '<&-' (stdin closed) */
  redirect?: string;
  /** a chain-loading prefix, e.g. ['softlimit', '-m', '3000000'] as in a daemontools run script */
  wrap?: string[];
}

export interface Outcome {
  impl: Impl;
  w: string;
  codes: (number | null)[];
  signals: (string | null)[];
  stderr: Buffer;
  stdout: Buffer;
  t0: bigint;
  t1: bigint;
  ms: number;
  entries: Entry[];
}

export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...extra };
}

function subst(args: string[], w: string): string[] {
  return args.map((a) => a.split('{W}').join(w));
}

/** Runs one multilog to completion in `w`. */
export function runOnce(
  impl: Impl,
  w: string,
  r: Run,
  opts: { env?: Record<string, string>; umask?: string; stderrTo?: string; redirect?: string; wrap?: string[] } = {},
): Promise<{ code: number | null; signal: string | null; stderr: Buffer; stdout: Buffer }> {
  const input = typeof r.input === 'string' ? Buffer.from(r.input, 'latin1') : (r.input ?? Buffer.alloc(0));
  const feed = r.feed ?? 'file';
  let fd: number | undefined;
  if (feed === 'file') {
    const f = join(w, '..', `stdin-${Math.random().toString(36).slice(2)}`);
    writeFileSync(f, input);
    fd = openSync(f, 'r');
  }
  const argv = [...(opts.wrap ?? []), ...impl.argv, ...subst(r.args, w)];
  return new Promise((resolve, reject) => {
    const script = `umask "$0"; exec "$@"${opts.stderrTo === undefined ? '' : ` 2>'${opts.stderrTo}'`} ${opts.redirect ?? ''}`;
    const child = spawn('/bin/sh', ['-c', script, opts.umask ?? '022', ...argv], {
      cwd: w,
      env: baseEnv(opts.env),
      stdio: [fd ?? 'pipe', 'pipe', 'pipe'],
    });
    if (fd !== undefined) closeSync(fd);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr: Buffer.concat(err), stdout: Buffer.concat(out) }));
    if (feed === 'pipe') {
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

/** Runs a whole case (setup, then every run) for one implementation in a fresh tree. */
export async function runCase(impl: Impl, scratch: Scratch, c: Case, tag = 'case'): Promise<Outcome> {
  const root = scratch.dir(`${impl.name}-${tag}`);
  const w = join(root, 'w');
  mkdirSync(w);
  c.setup?.(w);
  const codes: (number | null)[] = [];
  const signals: (string | null)[] = [];
  const errs: Buffer[] = [];
  const outs: Buffer[] = [];
  const t0 = nowMicros();
  const start = Date.now();
  for (const r of [c, ...(c.then ?? [])]) {
    const res = await runOnce(impl, w, r, { env: c.env, umask: c.umask, stderrTo: c.stderrTo, redirect: c.redirect, wrap: c.wrap });
    codes.push(res.code);
    signals.push(res.signal);
    errs.push(res.stderr);
    outs.push(res.stdout);
  }
  const ms = Date.now() - start;
  const t1 = nowMicros() + 1000n;
  return { impl, w, codes, signals, stderr: Buffer.concat(errs), stdout: Buffer.concat(outs), t0, t1, ms, entries: snapshot(w) };
}

/** Runs the case for Debian and for the candidate, in parallel, in two separate trees. */
export async function runBoth(scratch: Scratch, c: Case, tag = 'case'): Promise<[Outcome, Outcome]> {
  return Promise.all([runCase(DEBIAN, scratch, c, tag), runCase(CANDIDATE, scratch, c, tag)]);
}

// ---------------------------------------------------------------------------------------------------------
// Comparing

function show(s: string, from: number, len = 60): string {
  return JSON.stringify(s.slice(Math.max(0, from - 20), from + len));
}

function firstDiff(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** A readable description of how two byte strings (already masked) differ, or undefined when equal. */
export function bytesDiff(what: string, exp: string, act: string): string | undefined {
  if (exp === act) return undefined;
  const i = firstDiff(exp, act);
  return `${what}: differs at byte ${i} (expected ${exp.length} bytes, got ${act.length}): expected ${show(exp, i)}, got ${show(act, i)}`;
}

function normStderr(o: Outcome): string {
  return maskBytes(o.stderr).split(o.w).join('{W}');
}

export interface CompareOptions {
  /** log directories whose old files may be cut differently: compared as one stream + by name pattern */
  rotated?: string[];
  /** entries (relative names) left out of the comparison */
  ignore?: (name: string) => boolean;
  /** compare stderr as a multiset of lines (when only the interleaving of several logdirs' events may differ) */
  stderrUnordered?: boolean;
}

/**
 * Every difference between the expected (Debian) and actual outcomes: exit codes, stderr, stdout, names
 * (labels masked), kinds, modes and contents (labels masked). Empty when they match.
 */
export function compareOutcomes(exp: Outcome, act: Outcome, opts: CompareOptions = {}): string[] {
  const d: string[] = [];
  if (JSON.stringify(exp.codes) !== JSON.stringify(act.codes)) d.push(`exit codes: expected ${JSON.stringify(exp.codes)}, got ${JSON.stringify(act.codes)}`);
  if (JSON.stringify(exp.signals) !== JSON.stringify(act.signals))
    d.push(`signals: expected ${JSON.stringify(exp.signals)}, got ${JSON.stringify(act.signals)}`);
  const sortLines = (t: string): string => (opts.stderrUnordered ? t.split('\n').sort().join('\n') : t);
  const e1 = bytesDiff(opts.stderrUnordered ? 'stderr (lines sorted)' : 'stderr', sortLines(normStderr(exp)), sortLines(normStderr(act)));
  if (e1) d.push(e1);
  const e2 = bytesDiff('stdout', maskBytes(exp.stdout), maskBytes(act.stdout));
  if (e2) d.push(e2);

  const rotated = (opts.rotated ?? []).map((r) => r.replace(/^\.\//, '') + '/');
  const isRotatedOld = (name: string): boolean =>
    rotated.some((p) => name.startsWith(p) && !name.slice(p.length).includes('/') && name.slice(p.length).startsWith('@'));
  const pick = (o: Outcome): Entry[] => o.entries.filter((e) => !isRotatedOld(e.name) && !(opts.ignore?.(e.name) ?? false));
  // In a rotated directory `current` holds whatever follows the last cut: its bytes are compared as part of
  // the stream below, its name and mode here.
  const streamOnly = (name: string): boolean => rotated.some((p) => name === p + 'current');
  const a = pick(exp);
  const b = pick(act);
  const names = (l: Entry[]): string => l.map((e) => maskName(e.name)).join(' ');
  if (names(a) !== names(b)) d.push(`names: expected [${names(a)}], got [${names(b)}]`);
  // Pair entries by masked name, in order.
  const byName = new Map<string, Entry[]>();
  for (const e of b) {
    const k = maskName(e.name);
    byName.set(k, [...(byName.get(k) ?? []), e]);
  }
  for (const e of a) {
    const k = maskName(e.name);
    const other = byName.get(k)?.shift();
    if (!other) continue;
    if (e.kind !== other.kind) d.push(`${k}: expected a ${e.kind}, got a ${other.kind}`);
    if (e.mode !== other.mode) d.push(`${k}: mode expected ${e.mode.toString(8)}, got ${other.mode.toString(8)}`);
    const c = streamOnly(e.name) ? undefined : bytesDiff(k, maskBytes(e.data), maskBytes(other.data));
    if (c) d.push(c);
  }
  for (const dir of opts.rotated ?? []) {
    const s = bytesDiff(`${dir} (old files + current)`, maskBytes(logStream(exp.entries, dir)), maskBytes(logStream(act.entries, dir)));
    if (s) d.push(s);
    const olds = oldFiles(act.entries, dir);
    for (const o of olds) if (!OLD_NAME.test(o.name.split('/').pop()!)) d.push(`${o.name}: not an @<tai64n>.s/.u name`);
    const modes = (l: Entry[]): string => [...new Set(l.map((x) => `${x.name.endsWith('.u') ? 'u' : 's'}:${x.mode.toString(8)}`))].sort().join(',');
    if (modes(oldFiles(exp.entries, dir)) !== modes(olds))
      d.push(`${dir} old files: kinds/modes expected {${modes(oldFiles(exp.entries, dir))}}, got {${modes(olds)}}`);
    if (oldFiles(exp.entries, dir).length > 0 && olds.length === 0) d.push(`${dir}: no old files at all`);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------------------
// Live processes (signals, locks): stdin is a FIFO we write to piece by piece.

export interface Live {
  impl: Impl;
  w: string;
  child: ChildProcess;
  pid: number;
  write(data: string | Buffer): void;
  /** closes our write end (EOF for the reader once nothing else holds it) */
  closeInput(): void;
  /** what is left in the FIFO, read by a second reader (cat) after our write end is closed */
  leftover(): Promise<Buffer>;
  exited: Promise<{ code: number | null; signal: string | null }>;
  stderr(): Buffer;
  done(): void;
}

export function startLive(impl: Impl, w: string, args: string[], opts: { env?: Record<string, string>; prelude?: string } = {}): Live {
  const fifo = join(w, '..', 'stdin.fifo');
  if (!existsSync(fifo)) {
    const r = spawnSync('mkfifo', [fifo]);
    if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
  }
  const rfd = openSync(fifo, FS.O_RDONLY | FS.O_NONBLOCK);
  let wfd: number | undefined = openSync(fifo, FS.O_WRONLY);
  const child = spawn('/bin/sh', ['-c', `${opts.prelude ?? ''} umask 022; exec "$@"`, 'sh', ...impl.argv, ...subst(args, w)], {
    cwd: w,
    env: baseEnv(opts.env),
    stdio: [rfd, 'ignore', 'pipe'],
  });
  const err: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  let rOpen = true;
  return {
    impl,
    w,
    child,
    pid: child.pid!,
    write(data) {
      const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
      if (wfd === undefined) throw new Error('input already closed');
      let off = 0;
      while (off < b.length) off += writeSync(wfd, b, off);
    },
    closeInput() {
      if (wfd !== undefined) closeSync(wfd);
      wfd = undefined;
    },
    async leftover() {
      this.closeInput();
      const r = await new Promise<Buffer>((resolve, reject) => {
        const cat = spawn('cat', [], { stdio: [rfd, 'pipe', 'ignore'] });
        const out: Buffer[] = [];
        cat.stdout!.on('data', (b: Buffer) => out.push(b));
        cat.on('error', reject);
        cat.on('close', () => resolve(Buffer.concat(out)));
      });
      return r;
    },
    exited,
    stderr: () => Buffer.concat(err),
    done() {
      this.closeInput();
      if (rOpen) closeSync(rfd);
      rOpen = false;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Waits until a file holds exactly `content`. */
export function waitContent(path: string, content: string, what = path): Promise<boolean> {
  const check = (): boolean => {
    try {
      return readFileSync(path).toString('latin1') === content;
    } catch {
      return false; // missing, or renamed away by a rotation under our feet
    }
  };
  return waitFor(check, `${what} == ${JSON.stringify(content)}`);
}

/**
 * True when some process holds an exclusive flock on `path`. Read from /proc/locks (by inode), never probed
 * by taking the lock: a probe would itself make a starting multilog fail to lock.
 */
export function lockHeld(path: string): boolean {
  if (!existsSync(path)) return false;
  const ino = String(lstatSync(path).ino);
  return readFileSync('/proc/locks', 'latin1')
    .split('\n')
    .some((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === 'FLOCK' && f[3] === 'WRITE' && f[5]?.split(':')[2] === ino;
    });
}

function procField(pid: number, file: string, key: string): string | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/${file}`, 'latin1');
    return t.split('\n').find((l) => l.startsWith(key + ':'))?.slice(key.length + 1).trim();
  } catch {
    return undefined;
  }
}

/**
 * Waits until a process has taken delivery of every signal sent to it and is asleep again (blocked in a
 * read or a poll): the observable sign that it has acted on the signal and now waits for input.
 */
export async function waitSettled(pid: number, what = `process ${pid} to settle`): Promise<void> {
  let stable = 0;
  await waitFor(() => {
    const pnd = procField(pid, 'status', 'SigPnd');
    const shd = procField(pid, 'status', 'ShdPnd');
    const state = procField(pid, 'status', 'State');
    const ok = pnd !== undefined && /^0+$/.test(pnd) && shd !== undefined && /^0+$/.test(shd) && state !== undefined && state.startsWith('S');
    stable = ok ? stable + 1 : 0;
    return stable >= 4;
  }, what);
}

/** Snapshot + outcome shape for a live run, so compareOutcomes can be used on it. */
export function liveOutcome(l: Live, res: { code: number | null; signal: string | null }, skip?: (n: string) => boolean): Outcome {
  return {
    impl: l.impl,
    w: l.w,
    codes: [res.code],
    signals: [res.signal],
    stderr: l.stderr(),
    stdout: Buffer.alloc(0),
    t0: 0n,
    t1: 0n,
    ms: 0,
    entries: snapshot(l.w, skip),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Input generators (deterministic)

/** A small deterministic PRNG (LCG), so inputs are the same on every run. */
export function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** `count` lines, line i being `len(i)` bytes of printable text (newline not counted), each distinct. */
export function makeLines(count: number, len: (i: number) => number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const n = len(i);
    const head = `L${i}:`;
    const b = Buffer.alloc(n + 1, 0x61 + (i % 26));
    b.write(head.slice(0, n), 0, 'latin1');
    b[n] = 10;
    parts.push(b);
  }
  return Buffer.concat(parts);
}

export function writeFile(w: string, rel: string, data: string | Buffer, mode: number): void {
  const p = join(w, rel);
  writeFileSync(p, data);
  chmodSync(p, mode);
}
