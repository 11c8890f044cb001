// Helpers for the svscan end-to-end tests: a service tree in a temp dir, `upkeep svscan` started on it,
// its journal read back, and every process it left behind killed after each test, even when one fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { tmpdir, UPKEEP, waitFor } from '../helpers/index.js';

export interface Scan {
  proc: ChildProcess;
  dir: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const scans: Scan[] = [];
const trees: string[] = [];
const extra: number[] = [];
const extraDirs: string[] = [];

/** Processes working inside `dir` count as the test's own at cleanup (e.g. versioned service dirs). */
export function trackDir(dir: string): void {
  extraDirs.push(dir);
}

/** Kills this pid (and its group) after the test, whatever happens. */
export function track(pid: number): void {
  extra.push(pid);
}

/** Every pid found in a tree's status files and pid files, and the children of the supervisors. */
function treePids(dir: string): number[] {
  const pids = new Set<number>();
  const visit = (d: string, depth: number): void => {
    if (depth > 3 || !existsSync(d)) return;
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      if (n.name === 'status' && p.endsWith('supervise/status')) {
        const b = readFileSync(p);
        if (b.length === 18) {
          const pid = b.readUInt32LE(12);
          if (pid) pids.add(pid);
        }
      } else if (n.name === 'pids') {
        for (const l of readFileSync(p, 'latin1').split('\n')) if (/^\d+$/.test(l)) pids.add(Number(l));
      } else if (n.isDirectory() || n.isSymbolicLink()) {
        try {
          visit(p, depth + 1);
        } catch {
          /* dangling */
        }
      }
    }
  };
  visit(dir, 0);
  return [...pids];
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

afterEach(async () => {
  const list = scans.splice(0);
  const dirs = trees.splice(0);
  const pids = new Set<number>();
  for (const s of list) {
    if (s.proc.pid) for (const c of childrenOf(s.proc.pid)) pids.add(c);
  }
  for (const d of dirs) for (const p of treePids(d)) pids.add(p);
  for (const p of extra.splice(0)) pids.add(p);
  for (const s of list) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
  // pids wrap quickly on a busy machine: kill only processes that still work inside one of our trees
  const roots = [...dirs.map((d) => join(d, '..')), ...extraDirs.splice(0)];
  for (const pid of pids) {
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (!roots.some((r) => cwd === r || cwd.startsWith(`${r}/`))) continue;
    for (const t of [-pid, pid]) {
      try {
        process.kill(t, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  await Promise.all(list.map((s) => s.exited));
});

/** A fresh tree directory. */
export function tree(): string {
  const d = join(tmpdir('upkeep-svscan-'), 'service');
  mkdirSync(d);
  trees.push(d);
  return d;
}

/** Writes files (path relative to `base` -> content); names ending in `run`/`finish` become executable. */
export function files(base: string, map: Record<string, string>): void {
  for (const [rel, text] of Object.entries(map)) {
    const p = join(base, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
    if (/(^|\/)(run|finish)$/.test(rel)) chmodSync(p, 0o755);
  }
}

export function startScan(dir: string, args: string[] = ['--scan-interval', '1']): Scan {
  const proc = spawn(UPKEEP, ['svscan', ...args, dir], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const err: Buffer[] = [];
  proc.stderr!.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => r({ code, signal })), // not 'close': its children may hold stderr
  );
  const s: Scan = { proc, dir, stderr: () => Buffer.concat(err).toString('latin1'), exited };
  scans.push(s);
  return s;
}

export interface Event {
  event: string;
  service: string;
  [k: string]: unknown;
}

export function journal(dir: string): Event[] {
  const p = join(dir, '.upkeep/journal.jsonl');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l) as Event);
}

/** Waits for a journal event matching `pred` (the journal is written asynchronously by pino). */
export function waitEvent(dir: string, pred: (e: Event) => boolean, what: string, timeoutMs = 10_000): Promise<Event> {
  return waitFor(() => journal(dir).find(pred), what, timeoutMs);
}

export function statusPid(svdir: string): number {
  try {
    const b = readFileSync(join(svdir, 'supervise/status'));
    return b.length === 18 ? b.readUInt32LE(12) : 0;
  } catch {
    return 0;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The numbered-line writer of the kill storms: `PID SEQ` lines, ~10k/s, progress in progress/PID. */
export const WRITER = `
import { writeSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
mkdirSync('progress', { recursive: true });
writeFileSync('pids', process.pid + '\\n', { flag: 'a' });
let seq = 0;
let stop = false;
process.on('SIGTERM', () => { stop = true; });
function batch() {
  let s = '';
  for (let i = 0; i < 100; i++) s += process.pid + ' ' + (++seq) + '\\n';
  // one write per line: atomic in the pipe (< PIPE_BUF), so a SIGKILL never leaves half a line
  let off = 0;
  const lines = s.split('\\n');
  for (let i = 0; i < lines.length - 1; i++) writeSync(1, lines[i] + '\\n');
  // tmp + rename: a SIGKILL never leaves an empty progress file (read as 0 lines written)
  writeFileSync('.progress-' + process.pid, String(seq));
  renameSync('.progress-' + process.pid, 'progress/' + process.pid);
  if (stop) { writeSync(1, process.pid + ' END ' + seq + '\\n'); process.exit(0); }
  setTimeout(batch, 10);
}
batch();
`;

/**
 * Checks a storm's log lines: for every writer pid, SEQ runs 1..k with no gap and no duplicate, and k is at
 * least what the writer had recorded as written. Returns the number of lines checked.
 */
export function checkStorm(lines: string[], progressDir: string): { lines: number; pids: number } {
  const seen = new Map<number, number[]>();
  for (const l of lines) {
    const m = /(\d+) (\d+)$/.exec(l);
    if (!m) continue;
    const pid = Number(m[1]);
    if (!seen.has(pid)) seen.set(pid, []);
    seen.get(pid)!.push(Number(m[2]));
  }
  let n = 0;
  for (const [pid, seqs] of seen) {
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i] !== i + 1) throw new Error(`writer ${pid}: line ${i + 1} is ${seqs[i]} (lost, duplicated or out of order)`);
    }
    n += seqs.length;
    const rec = Number(readFileSync(join(progressDir, String(pid)), 'latin1'));
    if (seqs.length < rec) throw new Error(`writer ${pid} wrote ${rec} lines, the log has ${seqs.length}`);
  }
  for (const f of readdirSync(progressDir)) {
    if (Number(readFileSync(join(progressDir, f), 'latin1')) > 0 && !seen.has(Number(f))) {
      throw new Error(`writer ${f} wrote lines, none is in the log`);
    }
  }
  return { lines: n, pids: seen.size };
}

/** Every line of a multilog directory (archives, then current), TAI64N labels stripped unless `strip` is false. */
export function logLines(logdir: string, strip = true): string[] {
  if (!existsSync(logdir)) return [];
  const names = readdirSync(logdir).filter((n) => n.startsWith('@')).sort();
  return [...names, 'current']
    .map((n) => (existsSync(join(logdir, n)) ? readFileSync(join(logdir, n), 'latin1') : ''))
    .join('')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (strip ? l.replace(/^@[0-9a-f]{24} /, '') : l));
}
