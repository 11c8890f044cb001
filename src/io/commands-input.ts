// `svscan --commands FILE|-`: a stream of command lines (docs/commands.md) from a file or stdin, run in
// order, one at a time; a failed command is a warning (svscan keeps going), never fatal.
import { createReadStream } from 'node:fs';
import type { ReplyLine } from '../core/control.js';

export async function readCommands(
  source: string,
  exec: (line: string) => Promise<ReplyLine | undefined>,
  warn: (text: string) => void,
): Promise<void> {
  const input: NodeJS.ReadableStream = source === '-' ? process.stdin : createReadStream(source);
  const name = source === '-' ? 'stdin' : source;
  let buf = '';
  let n = 0;
  const one = async (line: string): Promise<void> => {
    n++;
    const r = await exec(line);
    if (r && !r.ok) warn(`${name}:${n}: ${r.verb}: ${r.msg}`);
  };
  try {
    input.setEncoding('utf8');
    for await (const chunk of input as AsyncIterable<string>) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        await one(line);
      }
    }
    if (buf !== '') await one(buf);
  } catch (e) {
    warn(`unable to read commands from ${name}: ${(e as Error).message}`);
  }
}
