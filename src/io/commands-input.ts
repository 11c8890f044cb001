// `svscan --commands FILE|-`: a stream of command lines (docs/commands.md) from a file or stdin, run in
// order, one at a time; a failed command is a warning (svscan keeps going), never fatal.
import { createReadStream } from 'node:fs';
import { TextLines, type ReplyLine } from '../core/control.js';

export async function readCommands(
  source: string,
  exec: (line: string) => Promise<ReplyLine | undefined>,
  warn: (text: string) => void,
): Promise<void> {
  const input: NodeJS.ReadableStream = source === '-' ? process.stdin : createReadStream(source);
  const name = source === '-' ? 'stdin' : source;
  const lines = new TextLines();
  let n = 0;
  const one = async (line: string): Promise<void> => {
    n++;
    const r = await exec(line);
    if (r && !r.ok) warn(`${name}:${n}: ${r.verb}: ${r.msg}`);
  };
  try {
    input.setEncoding('utf8');
    for await (const chunk of input as AsyncIterable<string>) {
      for (const line of lines.push(chunk)) await one(line);
    }
    if (lines.rest !== '') await one(lines.rest);
  } catch (e) {
    warn(`unable to read commands from ${name}: ${(e as Error).message}`);
  }
}
