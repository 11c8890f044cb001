// The upkeep-only line formats of a log directory (the `%json` and `%header` directives of src/core/script.ts):
// a JSON object per line, and the header line that makes the first bytes of every `current` unique. Pure.
import { base64, decodeUtf8, formatStamp, rfc3339, stampUnix, type Stamp } from './logline.js';

/** The message of a header line starts with this (after the label, when the directory is labelled). */
export const HEADER_MARK = 'upkeep-header ';

/** What makes a header unique: the machine, the directory, a random id, the moment. */
export interface HeaderFields {
  host: string;
  dir: string;
  /** Random hex (128 bits): two files never share it. */
  id: string;
  stamp: Stamp;
}

/** The header's message: "upkeep-header host=H dir=D id=ID started=RFC3339" (spaces in values as %20). */
export function headerMessage(h: HeaderFields): string {
  const esc = (v: string): string => v.replace(/%/g, '%25').replace(/ /g, '%20').replace(/\n/g, '%0A');
  return `${HEADER_MARK}host=${esc(h.host)} dir=${esc(h.dir)} id=${h.id} started=${rfc3339(stampUnix(h.stamp, 'daemontools'), h.stamp.nano)}`;
}

/** The header as a line of a text directory (label first when the directory is labelled), with "\n". */
export function headerTextLine(h: HeaderFields, labelled: boolean): string {
  return (labelled ? formatStamp(h.stamp) + ' ' : '') + headerMessage(h) + '\n';
}

/** The header as a line of a `%json` directory, with "\n": a normal line plus "upkeep_header":true and the fields. */
export function headerJsonLine(h: HeaderFields): string {
  const unix = stampUnix(h.stamp, 'daemontools');
  return (
    `{"time":"${rfc3339(unix, h.stamp.nano)}","tai64n":"${formatStamp(h.stamp)}","upkeep_header":true,` +
    `"host":${JSON.stringify(h.host)},"logdir":${JSON.stringify(h.dir)},"id":"${h.id}","message":${JSON.stringify(headerMessage(h))}}\n`
  );
}

/**
 * One `%json` line, with "\n": {"time": RFC 3339 UTC with nanoseconds, "tai64n": the label, "message": the
 * text (U+FFFD for bytes that are not UTF-8), "message_base64": the exact bytes, only when not UTF-8}.
 * `continued` marks the pieces of a line longer than the directory allows, after the first.
 */
export function jsonLogLine(msg: Uint8Array, stamp: Stamp, continued: boolean): string {
  const { text, valid } = decodeUtf8(msg);
  let s = `{"time":"${rfc3339(stampUnix(stamp, 'daemontools'), stamp.nano)}","tai64n":"${formatStamp(stamp)}",`;
  if (continued) s += '"continued":true,';
  s += `"message":${JSON.stringify(text)}`;
  if (!valid) s += `,"message_base64":"${base64(msg)}"`;
  return s + '}\n';
}

/**
 * The longest piece of a line that one JSON object may carry in a directory of `size` bytes, so that
 * every object fits in a file: JSON escapes take up to 6 bytes per input byte, and a line that is not
 * UTF-8 adds 4/3 more for message_base64, plus about 120 bytes of fields.
 */
export function jsonPieceMax(size: number): number {
  return Math.max(64, Math.floor((size - 160) / 8));
}

/** True when a stored message (without its label) is an upkeep header line. */
export function isHeaderMessage(msg: Uint8Array): boolean {
  if (msg.length < HEADER_MARK.length) return false;
  for (let i = 0; i < HEADER_MARK.length; i++) if (msg[i] !== HEADER_MARK.charCodeAt(i)) return false;
  return true;
}
