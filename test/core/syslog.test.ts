// RFC 5424 messages and RFC 6587 octet counting, byte for byte.
import { describe, expect, it } from 'vitest';
import { FACILITIES, SEVERITIES, octetFrame, syslogField, syslogMessage } from '../../src/core/syslog.js';

const h = { facility: FACILITIES.daemon!, severity: SEVERITIES.info!, host: 'vm1', app: 'web' };

describe('syslog', () => {
  it('formats an RFC 5424 message: PRI, version, UTC time to the microsecond, host, app, SD with the label', () => {
    const m = syslogMessage(h, 1795342628, 279391500, '@400000006b02c12e10a72d0c', Buffer.from('hello'));
    expect(Buffer.from(m).toString()).toBe(
      '<30>1 2026-11-22T10:17:08.279391Z vm1 web - - [upkeep@32473 tai64n="@400000006b02c12e10a72d0c"] hello',
    );
  });
  it('a line of unknown time gets the NILVALUE timestamp', () => {
    expect(Buffer.from(syslogMessage(h, null, 0, null, Buffer.from('x'))).toString()).toBe('<30>1 - vm1 web - - - x');
  });
  it('passes message bytes through unchanged (no BOM, invalid UTF-8 kept)', () => {
    const m = syslogMessage(h, 0, 0, null, Uint8Array.from([0xff, 0x41]));
    expect(Buffer.from(m).subarray(-2)).toEqual(Buffer.from([0xff, 0x41]));
    expect(Buffer.from(m).toString('latin1')).toMatch(/^<30>1 1970-01-01T00:00:00.000000Z vm1 web - - - /);
  });
  it('frames with the octet count of the message in bytes', () => {
    const msg = Buffer.from('<30>1 - - - - - - héllo');
    expect(Buffer.from(octetFrame(msg)).toString()).toBe(`${msg.length} <30>1 - - - - - - héllo`);
  });
  it('keeps header fields to printable ASCII and their RFC lengths', () => {
    expect(syslogField('my app', 48)).toBe('my_app');
    expect(syslogField('x'.repeat(60), 48)).toHaveLength(48);
    expect(syslogField('', 48)).toBe('-');
  });
});
