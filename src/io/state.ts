// DIR/.upkeep/state.json: what a successor needs to take over after svscan was killed (SIGKILL): for each
// service the pid of its run and of its logger, each with its start time from /proc (so a reused pid is
// never mistaken for ours), the pipe's fd number inside the shared logger process (read by a log/script
// logger, or only held for a log/run one), and the loghost pid.
// Written atomically (state.json.new + rename) whenever a pid changes; read once at start-up.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcRef {
  pid: number;
  /** /proc/PID/stat field 22. */
  start: number;
}

export interface ServiceState {
  target: string;
  run?: ProcRef;
  logger?: ProcRef & { kind: 'run' | 'script' };
  /** The fd of this service's pipe inside loghost (log/script). */
  hostFd?: number;
  /** The fd of the read end loghost holds (never reads) of this service's `log/run` pipe. */
  heldFd?: number;
  /** svc -d / svc -o given to the service and to its logger (absent: wanted up). */
  want?: 'down' | 'once';
  logWant?: 'down' | 'once';
}

export interface TreeState {
  v: 1;
  svscan: number;
  loghost?: ProcRef;
  services: Record<string, ServiceState>;
}

export const STATE_FILE = 'state.json';

export function writeState(stateDir: string, s: TreeState): void {
  const path = join(stateDir, STATE_FILE);
  writeFileSync(`${path}.new`, `${JSON.stringify(s)}\n`, { mode: 0o644 });
  renameSync(`${path}.new`, path);
}

export function readState(stateDir: string): TreeState | undefined {
  try {
    const s = JSON.parse(readFileSync(join(stateDir, STATE_FILE), 'utf8')) as TreeState;
    return s && s.v === 1 && typeof s.services === 'object' ? s : undefined;
  } catch {
    return undefined;
  }
}
