// Helpers for the supervise/svc/svstat/svok end-to-end tests: start a supervisor (upkeep's or Debian's)
// on a service directory, read its status file, wait for observable changes, and kill every process
// that was started, even when a test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { tmpdir, UPKEEP, waitFor } from '../helpers/index.js';

export type Impl = 'upkeep' | 'debian';

export interface Supervisor {
  proc: ChildProcess;
  dir: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Supervisor[] = [];
const pidFiles: string[] = [];

afterEach(async () => {
  const sups = started.splice(0);
  const files = pidFiles.splice(0);
  const pids = new Set<number>();
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const l of readFileSync(f, 'latin1').split('\n')) if (/^\d+$/.test(l)) pids.add(Number(l));
  }
  for (const s of sups) {
    const st = readStatus(s.dir);
    if (st && st.pid) pids.add(st.pid);
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
  }
  // Pids wrap within minutes on a busy machine: kill (and kill the group of) only a process that still runs
  // inside one of this test's directories, never a stranger that inherited a recorded pid.
  const roots = [...sups.map((s) => s.dir), ...files.map((f) => dirname(f))].map((d) => {
    try {
      return realpathSync(d);
    } catch {
      return d;
    }
  });
  const ours = (pid: number): boolean => {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      return roots.some((r) => cwd === r || cwd.startsWith(r + '/'));
    } catch {
      return false;
    }
  };
  for (const pid of pids) {
    if (!ours(pid)) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  await Promise.all(sups.map((s) => s.exited));
});

/** A service directory with the given run script; `pids` (every start appends $$) is cleaned up after. */
export function serviceDir(run: string | null, opts: { down?: boolean; files?: Record<string, string> } = {}): string {
  const dir = join(tmpdir('upkeep-sv-'), 'svc');
  mkdirSync(dir);
  if (run !== null) {
    writeFileSync(join(dir, 'run'), run);
    chmodSync(join(dir, 'run'), 0o755);
  }
  if (opts.down) writeFileSync(join(dir, 'down'), '');
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text);
  pidFiles.push(join(dir, 'pids'));
  return dir;
}

/** `exec sleep` that records its pid in ./pids first. */
export const SLEEPER = '#!/bin/sh\necho $$ >> pids\nexec sleep 1000\n';

export function startSupervisor(impl: Impl, dir: string, cwd?: string): Supervisor {
  const cmd = impl === 'upkeep' ? UPKEEP : 'supervise';
  const args = impl === 'upkeep' ? ['supervise', dir] : [dir];
  const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const err: Buffer[] = [];
  proc.stderr!.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('close', (code, signal) => r({ code, signal })),
  );
  const s: Supervisor = { proc, dir, stderr: () => Buffer.concat(err).toString('latin1'), exited };
  started.push(s);
  return s;
}

export interface RawStatus {
  bytes: Buffer;
  pid: number;
  paused: number;
  want: string;
  ino: number;
}

export function readStatus(dir: string): RawStatus | undefined {
  const p = join(dir, 'supervise/status');
  try {
    const ino = statSync(p).ino;
    const bytes = readFileSync(p);
    if (bytes.length < 18) return undefined;
    return { bytes, pid: bytes.readUInt32LE(12), paused: bytes[16]!, want: bytes[17] ? String.fromCharCode(bytes[17]) : '0', ino };
  } catch {
    return undefined;
  }
}

/** Waits until the status file satisfies `pred`. */
export function waitStatus(dir: string, pred: (s: RawStatus) => boolean, what: string, timeoutMs = 10_000): Promise<RawStatus> {
  return waitFor(() => {
    const s = readStatus(dir);
    return s && pred(s) ? s : undefined;
  }, `${dir}: ${what}`, timeoutMs);
}

/** The status bytes with the timestamp and the pid masked (a pid shows as "pid"), everything else exact. */
export function masked(s: RawStatus): string {
  return `T ${s.pid === 0 ? '00000000' : 'pid'} ${s.bytes.subarray(16, 18).toString('hex')} (${s.bytes.length})`;
}

/** Pids recorded in dir/pids by SLEEPER-style scripts. */
export function startedPids(dir: string): number[] {
  const f = join(dir, 'pids');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'latin1').split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

/** /proc/PID/stat fields: state, ppid, pgrp, session. */
export function procStat(pid: number): { state: string; ppid: number; pgrp: number; session: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]), session: Number(rest[3]) };
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z';
}

/** The status timestamp as UNIX microseconds (daemontools convention: 2^62 + 10 s, nanos = us*1000+500). */
export function stampMicros(s: RawStatus): number {
  const sec = Number(s.bytes.readBigUInt64BE(0) - (1n << 62n) - 10n);
  return sec * 1e6 + Math.floor(s.bytes.readUInt32BE(8) / 1000);
}
