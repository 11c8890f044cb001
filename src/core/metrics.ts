// `upkeep metrics`: per-service samples -> Prometheus text exposition format (version 0.0.4), for
// node_exporter's textfile collector. Pure: the io layer (src/io/metrics-read.ts) gathers the samples.

/** What is known of one service (null: not known, the metric is left out for it). */
export interface ServiceSample {
  service: string;
  /** A supervisor runs for it (its supervise/ok has a reader). */
  supervised: boolean;
  /** From supervise/status (null when it could not be read). */
  status: { up: boolean; pid: number; sinceUnix: number; paused: boolean; wantUp: boolean } | null;
  normallyUp: boolean;
  /** From supervise/upkeep.json (services under upkeep svscan), null elsewhere. */
  restarts: number | null;
  lastExit: { code: number | null; signal: string | null; uptime: number; at: number } | null;
  backoff: { delay: number; deaths: number; until: number } | null;
  readyAt: number | null;
  /** The service's logger: log/run (supervised) or log/script (in svscan's shared logger process). */
  logger: { kind: 'run' | 'script'; up: boolean } | null;
}

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  value(s: ServiceSample, nowUnix: number): number | null;
  labels?(s: ServiceSample): Record<string, string>;
}

const b = (v: boolean): number => (v ? 1 : 0);

const FAMILIES: Family[] = [
  { name: 'upkeep_service_supervised', type: 'gauge', help: '1 when a supervisor runs for the service.', value: (s) => b(s.supervised) },
  { name: 'upkeep_service_up', type: 'gauge', help: "1 when the service's process runs.", value: (s) => (s.status ? b(s.status.up) : null) },
  { name: 'upkeep_service_want_up', type: 'gauge', help: '1 when the service is wanted up (svc -u), 0 when wanted down.', value: (s) => (s.status ? b(s.status.wantUp) : null) },
  { name: 'upkeep_service_normally_up', type: 'gauge', help: '1 when the service directory has no down file.', value: (s) => b(s.normallyUp) },
  { name: 'upkeep_service_paused', type: 'gauge', help: '1 when the service is paused (svc -p).', value: (s) => (s.status ? b(s.status.paused) : null) },
  {
    name: 'upkeep_service_state_change_timestamp_seconds',
    type: 'gauge',
    help: 'UNIX time the service last started or stopped (supervise/status).',
    value: (s) => (s.status ? s.status.sinceUnix : null),
  },
  { name: 'upkeep_service_restarts_total', type: 'counter', help: 'Restarts after an exit since svscan started.', value: (s) => s.restarts },
  { name: 'upkeep_service_last_exit_timestamp_seconds', type: 'gauge', help: 'UNIX time of the last exit.', value: (s) => s.lastExit?.at ?? null },
  { name: 'upkeep_service_last_exit_code', type: 'gauge', help: 'Exit code of the last exit (absent when it was killed by a signal).', value: (s) => s.lastExit?.code ?? null },
  {
    name: 'upkeep_service_last_exit_signaled',
    type: 'gauge',
    help: '1 when the last exit was a death by signal (label signal).',
    value: (s) => (s.lastExit ? b(s.lastExit.signal !== null) : null),
    labels: (s): Record<string, string> => (s.lastExit?.signal ? { signal: s.lastExit.signal } : {}),
  },
  { name: 'upkeep_service_last_uptime_seconds', type: 'gauge', help: 'How long the last run lasted.', value: (s) => s.lastExit?.uptime ?? null },
  {
    name: 'upkeep_service_backoff_seconds',
    type: 'gauge',
    help: 'Seconds left before the next restart while in backoff, else 0.',
    value: (s, now) => (s.restarts === null ? null : s.backoff && s.backoff.until > now ? round(s.backoff.until - now) : 0),
  },
  { name: 'upkeep_service_backoff_delay_seconds', type: 'gauge', help: 'Delay of the last backoff.', value: (s) => s.backoff?.delay ?? null },
  { name: 'upkeep_service_backoff_deaths', type: 'gauge', help: 'Quick deaths counted by the last backoff.', value: (s) => s.backoff?.deaths ?? null },
  { name: 'upkeep_service_ready_timestamp_seconds', type: 'gauge', help: 'UNIX time of the readiness notification of the current run.', value: (s) => s.readyAt },
  {
    name: 'upkeep_logger_up',
    type: 'gauge',
    help: "1 when the service's logger runs (label kind: run = log/run, script = log/script).",
    value: (s) => (s.logger ? b(s.logger.up) : null),
    labels: (s): Record<string, string> => (s.logger ? { kind: s.logger.kind } : {}),
  },
];

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** A label value escaped as the exposition format wants: backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The exposition text: every family with its HELP and TYPE, one sample per service that has a value. */
export function formatMetrics(samples: readonly ServiceSample[], nowUnix: number): string {
  let out = '';
  const sorted = samples.slice().sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  for (const f of FAMILIES) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of sorted) {
      const v = f.value(s, nowUnix);
      if (v === null) continue;
      const labels = { service: s.service, ...(f.labels?.(s) ?? {}) };
      const l = Object.entries(labels)
        .map(([k, x]) => `${k}="${escapeLabel(x)}"`)
        .join(',');
      out += `${f.name}{${l}} ${num(v)}\n`;
    }
  }
  return out;
}
