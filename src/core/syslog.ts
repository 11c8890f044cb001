// RFC 5424 syslog messages and RFC 6587 octet-counting framing, pure, on bytes.
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
// TIMESTAMP is UTC to the microsecond (RFC 5424 allows at most 6 fraction digits); APP-NAME is the
// service (printable US-ASCII, at most 48 characters); PROCID and MSGID are "-"; STRUCTURED-DATA
// carries the original TAI64N label; MSG is the stored message bytes unchanged (MSG-ANY: no BOM is
// added, so invalid UTF-8 is passed through byte for byte).
import { rfc3339 } from './logline.js';

export const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
};

export const SEVERITIES: Record<string, number> = {
  emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7,
};

/** PRINTUSASCII only (33..126), "-" when empty, cut to `max`. */
export function syslogField(s: string, max: number): string {
  let out = '';
  for (let i = 0; i < s.length && out.length < max; i++) {
    const c = s.charCodeAt(i);
    out += c >= 33 && c <= 126 ? s[i] : '_';
  }
  return out === '' ? '-' : out;
}

export interface SyslogHeader {
  facility: number;
  severity: number;
  host: string;
  app: string;
}

const enc = new TextEncoder();

/** One RFC 5424 message: header for this line + its message bytes. */
export function syslogMessage(h: SyslogHeader, unixSec: number | null, nano: number, label: string | null, msg: Uint8Array): Uint8Array {
  const pri = h.facility * 8 + h.severity;
  const sd = label === null ? '-' : `[upkeep@32473 tai64n="${label}"]`;
  // (unixSec null: the line's time is unknown: RFC 5424's NILVALUE)
  const head = enc.encode(
    `<${pri}>1 ${unixSec === null ? '-' : rfc3339(unixSec, nano, 6)} ${syslogField(h.host, 255)} ${syslogField(h.app, 48)} - - ${sd} `,
  );
  const out = new Uint8Array(head.length + msg.length);
  out.set(head);
  out.set(msg, head.length);
  return out;
}

/** RFC 6587 octet counting: "LEN SP MSG". */
export function octetFrame(msg: Uint8Array): Uint8Array {
  const len = enc.encode(`${msg.length} `);
  const out = new Uint8Array(len.length + msg.length);
  out.set(len);
  out.set(msg, len.length);
  return out;
}
