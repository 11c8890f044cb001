// `upkeep wait SERVICE --up|--ready|--down [--timeout S]`: follows the running svscan's event stream
// (snapshot first) until SERVICE reaches the state, or the timeout passes.
import { join } from 'node:path';
import { EXIT, FatalError } from '../core/errors.js';
import { converse } from '../io/control-socket.js';
import { resolveService } from '../io/svname.js';

export const HELP = `usage: upkeep wait [--dir DIR] SERVICE --up|--ready|--down [--timeout SECONDS]

Waits until SERVICE, supervised by the upkeep svscan running on its tree, is
  --up      running (a process is up)
  --ready   running and ready: it wrote its readiness line on its notification-fd (s6's protocol)
  --down    not running (down, or between a death and its restart)
The state is taken from svscan's event stream: its snapshot first, then every event.
SERVICE is a path (the tree is its parent) or a name in --dir DIR, $SVDIR or /service.

  --timeout SECONDS   give up after this long (default: wait forever)

svscan may still be starting: a missing socket is retried until the timeout (5 s without --timeout).
exit codes: 0 the state is reached, 1 the timeout passed (svscan answering or not), 100 usage, 111 no
svscan answers within 5 s when no --timeout is given (or it stopped meanwhile).
`;

export type Goal = 'up' | 'ready' | 'down';

/** Without --timeout, how long a missing svscan socket is retried (svscan may be starting). */
export const CONNECT_RETRY_MS = 5000;

interface Line {
  event: string;
  service: string;
  state?: string;
  pid?: number;
  ready?: number | null;
}

/** Does this line of the stream show SERVICE in the goal state? */
export function reached(l: Line, name: string, goal: Goal): boolean {
  if (l.service !== name) return false;
  if (l.event === 'state') {
    if (goal === 'up') return (l.pid ?? 0) > 0;
    if (goal === 'ready') return (l.pid ?? 0) > 0 && l.ready !== null && l.ready !== undefined;
    return (l.pid ?? 0) === 0;
  }
  if (goal === 'up') return l.event === 'start';
  if (goal === 'ready') return l.event === 'ready';
  return l.event === 'exit' || l.event === 'remove';
}

export async function runWait(o: { dir?: string; service: string; goal: Goal; timeoutMs?: number }): Promise<number> {
  const { tree, name } = resolveService(o.service, o.dir);
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const start = Date.now();
  // svscan may be starting: a missing or refusing socket is retried for the timeout (5 s without one)
  const connectFor = o.timeoutMs ?? CONNECT_RETRY_MS;
  let conv: Awaited<ReturnType<typeof converse>>;
  for (;;) {
    try {
      conv = await converse(
        join(tree, '.upkeep'),
        'events -f --json',
        (text) => {
          let l: Line;
          try {
            l = JSON.parse(text) as Line;
          } catch {
            return undefined;
          }
          if (reached(l, name, o.goal)) {
            done = true;
            return true;
          }
          return undefined;
        },
        true,
      );
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ECONNREFUSED') && Date.now() - start < connectFor) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if ((code === 'ENOENT' || code === 'ECONNREFUSED') && o.timeoutMs !== undefined) {
        process.stderr.write(`upkeep wait: ${name} is not ${o.goal} after ${o.timeoutMs / 1000} s (no svscan answers in ${tree})\n`);
        return 1;
      }
      throw new FatalError(`unable to connect to svscan in ${tree}`, e);
    }
  }
  let timedOut = false;
  if (o.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      timedOut = true;
      conv.sock.destroy();
    }, Math.max(0, o.timeoutMs - (Date.now() - start)));
  }
  await conv.ended;
  if (timer) clearTimeout(timer);
  if (done) return EXIT.OK;
  if (timedOut) {
    process.stderr.write(`upkeep wait: ${name} is not ${o.goal} after ${(o.timeoutMs ?? 0) / 1000} s\n`);
    return 1;
  }
  throw new FatalError(`unable to wait for ${name}: svscan closed the event stream`);
}
