// OTLP/HTTP logs, JSON encoding (the body POSTed to /v1/logs), pure. One ResourceLogs per service
// (resource attributes service.name and host.name), one LogRecord per line. Times are decimal strings
// of UNIX nanoseconds (int64 as JSON strings, per the OTLP JSON mapping). A message that is valid UTF-8
// is a stringValue; otherwise the body is a bytesValue (base64) holding the exact bytes.
import { base64, decodeUtf8 } from './logline.js';

export interface OtlpRecord {
  service: string;
  unixSec: number;
  nano: number;
  label: string | null;
  msg: Uint8Array;
}

function nanos(sec: number, nano: number): string {
  return sec === 0 && nano === 0 ? '0' : `${sec}${String(nano).padStart(9, '0')}`;
}

function attr(key: string, value: string): unknown {
  return { key, value: { stringValue: value } };
}

/** The ExportLogsServiceRequest JSON for a batch; `observedSec`/`observedNano`: when upkeep read them. */
export function otlpLogsRequest(host: string, records: readonly OtlpRecord[], observed: { sec: number; nano: number }): string {
  const bySvc = new Map<string, OtlpRecord[]>();
  for (const r of records) {
    let l = bySvc.get(r.service);
    if (!l) bySvc.set(r.service, (l = []));
    l.push(r);
  }
  const obs = nanos(observed.sec, observed.nano);
  const resourceLogs = [...bySvc].map(([service, recs]) => ({
    resource: { attributes: [attr('service.name', service), attr('host.name', host)] },
    scopeLogs: [
      {
        scope: { name: 'upkeep' },
        logRecords: recs.map((r) => {
          const { text, valid } = decodeUtf8(r.msg);
          return {
            timeUnixNano: nanos(r.unixSec, r.nano),
            observedTimeUnixNano: obs,
            body: valid ? { stringValue: text } : { bytesValue: base64(r.msg) },
            attributes: r.label === null ? [] : [attr('log.tai64n', r.label)],
          };
        }),
      },
    ],
  }));
  return JSON.stringify({ resourceLogs });
}
