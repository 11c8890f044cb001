// What `upkeep metrics` reads from a service tree, without disturbing anything: per service,
// NAME/supervise/status and ok (daemontools' files), NAME/supervise/upkeep.json (upkeep svscan's restart
// statistics), the logger's own supervise/status (log/run) or DIR/.upkeep/state.json (log/script).
import { closeSync, constants as C, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceSample } from '../core/metrics.js';
import { STATUS_SIZE, unpackStatus, WANT_UP } from '../core/status.js';
import { TAI64_BASE } from '../core/tai64n.js';
import { procAlive } from './proc.js';
import { readState } from './state.js';

function supervised(dir: string): boolean {
  try {
    closeSync(openSync(join(dir, 'supervise/ok'), C.O_WRONLY | C.O_NONBLOCK));
    return true;
  } catch {
    return false; // ENXIO: no reader; ENOENT: never supervised
  }
}

function readStatus(dir: string): ServiceSample['status'] {
  try {
    const st = unpackStatus(readFileSync(join(dir, 'supervise/status')).subarray(0, STATUS_SIZE));
    if (st === null) return null;
    // daemontools' stamps: TAI64 label = 2^62 + 10 + UNIX seconds
    const sinceUnix = Number(st.stamp.sec - TAI64_BASE - 10n) + Math.floor(st.stamp.nano / 1000) / 1e6;
    return { up: st.pid !== 0, pid: st.pid, sinceUnix, paused: st.paused !== 0, wantUp: st.want === WANT_UP };
  } catch {
    return null;
  }
}

/** The service names of a tree: its subdirectories (or links to them), dot-names excluded, sorted. */
export function treeServices(tree: string): string[] {
  return readdirSync(tree)
    .filter((n) => !n.startsWith('.'))
    .filter((n) => {
      try {
        return statSync(join(tree, n)).isDirectory();
      } catch {
        return false; // dangling link
      }
    })
    .sort();
}

/** One sample per service of `tree` (all, or those named). */
export function readSamples(tree: string, names?: readonly string[]): ServiceSample[] {
  const state = readState(join(tree, '.upkeep'));
  const hostUp = state?.loghost !== undefined && procAlive(state.loghost.pid, state.loghost.start);
  return (names ?? treeServices(tree)).map((service) => {
    const dir = join(tree, service);
    let extra: { restarts?: number; lastExit?: ServiceSample['lastExit']; backoff?: ServiceSample['backoff']; readyAt?: number | null } = {};
    try {
      extra = JSON.parse(readFileSync(join(dir, 'supervise/upkeep.json'), 'utf8')) as typeof extra;
    } catch {
      // not under upkeep svscan, or nothing happened yet
    }
    const underSvscan = state?.services[service] !== undefined;
    let logger: ServiceSample['logger'] = null;
    if (existsSync(join(dir, 'log/run'))) {
      logger = { kind: 'run', up: supervised(join(dir, 'log')) && (readStatus(join(dir, 'log'))?.up ?? false) };
    } else if (existsSync(join(dir, 'log/script'))) {
      logger = { kind: 'script', up: hostUp && state?.services[service]?.hostFd !== undefined };
    }
    return {
      service,
      supervised: supervised(dir),
      status: readStatus(dir),
      normallyUp: !existsSync(join(dir, 'down')),
      restarts: extra.restarts ?? (underSvscan ? 0 : null),
      lastExit: extra.lastExit ?? null,
      backoff: extra.backoff ?? null,
      readyAt: extra.readyAt ?? null,
      logger,
    };
  });
}
