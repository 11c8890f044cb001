// Every program upkeep runs, loaded lazily so that a program pays only for what it imports.
// 'djb' programs keep daemontools' exact argument syntax and parse their own arguments;
// 'upkeep' programs are driven by commander (in src/cli/).

import { type ProgramModule } from './run-one.js';

export { type ProgramModule };

export interface ProgramEntry {
  style: 'djb' | 'upkeep';
  summary: string;
  /** Listed by `upkeep links` (daemontools-compatible names that run scripts call). */
  link: boolean;
  load(): Promise<ProgramModule>;
}

export const PROGRAMS: Record<string, ProgramEntry> = {
  multilog: {
    style: 'djb',
    summary: 'read a log from stdin, filter it and write it to rotated log directories (daemontools multilog)',
    link: true,
    load: () => import('../programs/multilog.js'),
  },
  tai64n: {
    style: 'djb',
    summary: 'put a TAI64N timestamp on every line of stdin',
    link: true,
    load: () => import('../programs/tai64n.js'),
  },
  tai64nlocal: {
    style: 'djb',
    summary: 'convert TAI64N timestamps at line starts to local time',
    link: true,
    load: () => import('../programs/tai64nlocal.js'),
  },
  supervise: {
    style: 'djb',
    summary: 'run a service directory\'s ./run and keep it running (daemontools supervise)',
    link: true,
    load: () => import('../programs/supervise.js'),
  },
  svc: {
    style: 'djb',
    summary: 'send control commands to supervised services (daemontools svc)',
    link: true,
    load: () => import('../programs/svc.js'),
  },
  svstat: {
    style: 'djb',
    summary: 'print the status of supervised services (daemontools svstat)',
    link: true,
    load: () => import('../programs/svstat.js'),
  },
  svok: {
    style: 'djb',
    summary: 'exit 0 if a supervise is running for a service directory (daemontools svok)',
    link: true,
    load: () => import('../programs/svok.js'),
  },
  svscan: {
    style: 'djb',
    summary: 'supervise every service directory of a tree in one process, with persistent log pipes (daemontools svscan)',
    link: true,
    load: () => import('../programs/svscan.js'),
  },
  loghost: {
    style: 'djb',
    summary: "internal: svscan's shared logger process for log/script loggers (not run by hand)",
    link: false,
    load: () => import('../programs/loghost.js'),
  },
  deploy: {
    style: 'upkeep',
    summary: "repoint a service's symlink to a new version and restart it there, keeping its log pipe and logger",
    link: false,
    load: () => import('./deploy.js'),
  },
  rollback: {
    style: 'upkeep',
    summary: 'swap a service back to the version it ran before the last deploy',
    link: false,
    load: () => import('./rollback.js'),
  },
  events: {
    style: 'upkeep',
    summary: "print a running svscan's service states and its live event stream (text or JSON)",
    link: false,
    load: () => import('./events.js'),
  },
  ctl: {
    style: 'upkeep',
    summary: 'send a command to a running svscan: up, down, once, restart, signal, status, add, remove, rescan',
    link: false,
    load: () => import('./ctl.js'),
  },
  wait: {
    style: 'upkeep',
    summary: 'wait until a service supervised by svscan is up, ready or down',
    link: false,
    load: () => import('./wait.js'),
  },
  tail: {
    style: 'upkeep',
    summary: "print services' log lines merged by time, follow them, resume with a cursor",
    link: false,
    load: () => import('./tail.js'),
  },
  export: {
    style: 'upkeep',
    summary: 'ship log lines to collectors: syslog (UDP, TCP), JSON lines over HTTP, OTLP/HTTP',
    link: false,
    load: () => import('./export.js'),
  },
  metrics: {
    style: 'upkeep',
    summary: 'service state (up, restarts, backoff, logger) in Prometheus text format',
    link: false,
    load: () => import('./metrics.js'),
  },
  report: {
    style: 'upkeep',
    summary: 'flapping and failure reports from the restart journal (text, JSON, HTML)',
    link: false,
    load: () => import('./report.js'),
  },
  links: {
    style: 'upkeep',
    summary: 'create links named after the daemontools programs, so run scripts call upkeep unchanged',
    link: false,
    load: () => import('./links.js'),
  },
  help: {
    style: 'upkeep',
    summary: 'show the help of a program',
    link: false,
    load: () => import('./help.js'),
  },
};
