// OTLP/HTTP JSON: resource per service, nanosecond strings, bytesValue for invalid UTF-8.
import { describe, expect, it } from 'vitest';
import { otlpLogsRequest } from '../../src/core/otlp.js';

describe('otlp', () => {
  it('groups records by service and encodes times as decimal nanosecond strings', () => {
    const body = JSON.parse(
      otlpLogsRequest('vm1', [
        { service: 'web', unixSec: 1795342628, nano: 279391500, label: '@400000006b02c12e10a72d0c', msg: Buffer.from('a') },
        { service: 'db', unixSec: 1795342629, nano: 5, label: null, msg: Buffer.from([0x62, 0xff]) },
        { service: 'web', unixSec: 1795342630, nano: 0, label: null, msg: Buffer.from('c') },
      ], { sec: 1795342700, nano: 1 }),
    );
    expect(body.resourceLogs).toHaveLength(2);
    const web = body.resourceLogs[0];
    expect(web.resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'web' } },
      { key: 'host.name', value: { stringValue: 'vm1' } },
    ]);
    const recs = web.scopeLogs[0].logRecords;
    expect(recs.map((r: { body: { stringValue: string } }) => r.body.stringValue)).toEqual(['a', 'c']);
    expect(recs[0].timeUnixNano).toBe('1795342628279391500');
    expect(recs[0].observedTimeUnixNano).toBe('1795342700000000001');
    expect(BigInt(recs[0].timeUnixNano)).toBe(1795342628n * 1000000000n + 279391500n);
    expect(recs[0].attributes).toEqual([{ key: 'log.tai64n', value: { stringValue: '@400000006b02c12e10a72d0c' } }]);
    const db = body.resourceLogs[1].scopeLogs[0].logRecords[0];
    expect(db.timeUnixNano).toBe('1795342629000000005');
    expect(Buffer.from(db.body.bytesValue, 'base64')).toEqual(Buffer.from([0x62, 0xff]));
  });
});
