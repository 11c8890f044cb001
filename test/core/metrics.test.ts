// The Prometheus text of `upkeep metrics` from samples (src/core/metrics.ts): families, label escaping,
// samples left out when unknown, the backoff countdown.
import { describe, expect, it } from 'vitest';
import { escapeLabel, formatMetrics, type ServiceSample } from '../../src/core/metrics.js';

const base: ServiceSample = {
  service: 'a',
  supervised: true,
  status: { up: true, pid: 42, sinceUnix: 1000.5, paused: false, wantUp: true },
  normallyUp: true,
  restarts: null,
  lastExit: null,
  backoff: null,
  readyAt: null,
  logger: null,
};

describe('formatMetrics', () => {
  it('HELP and TYPE for every family, even without samples; unknown values are left out', () => {
    const t = formatMetrics([base], 2000);
    expect(t).toContain('# TYPE upkeep_service_restarts_total counter\n');
    expect(t).toContain('upkeep_service_up{service="a"} 1\n');
    expect(t).toContain('upkeep_service_state_change_timestamp_seconds{service="a"} 1000.5\n');
    expect(t).not.toContain('upkeep_service_restarts_total{');
    expect(t).not.toContain('upkeep_logger_up{');
    expect(t.match(/^# TYPE /gm)!.length).toBe(t.match(/^# HELP /gm)!.length);
  });

  it('last exit by signal, backoff seconds left (0 once passed), logger kind, sorted services', () => {
    const s: ServiceSample = {
      ...base,
      service: 'b',
      status: { up: false, pid: 0, sinceUnix: 1990, paused: false, wantUp: true },
      restarts: 7,
      lastExit: { code: null, signal: 'SIGKILL', uptime: 0.25, at: 1990 },
      backoff: { delay: 4, deaths: 3, until: 2003 },
      logger: { kind: 'script', up: false },
    };
    const t = formatMetrics([s, base], 2000);
    expect(t).toContain('upkeep_service_last_exit_signaled{service="b",signal="SIGKILL"} 1\n');
    expect(t).not.toContain('upkeep_service_last_exit_code{');
    expect(t).toContain('upkeep_service_backoff_seconds{service="b"} 3\n');
    expect(formatMetrics([s], 2010)).toContain('upkeep_service_backoff_seconds{service="b"} 0\n');
    expect(t).toContain('upkeep_logger_up{service="b",kind="script"} 0\n');
    expect(t).toContain('upkeep_service_restarts_total{service="b"} 7\n');
    expect(t.indexOf('upkeep_service_up{service="a"}')).toBeLessThan(t.indexOf('upkeep_service_up{service="b"}'));
  });

  it('escapes label values as the exposition format requires', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(formatMetrics([{ ...base, service: 'we"ird' }], 0)).toContain('upkeep_service_up{service="we\\"ird"} 1\n');
  });
});
