// `upkeep deploy SERVICE TARGET` and `upkeep rollback SERVICE`: ask the running svscan (through
// DIR/.upkeep/control.sock) to repoint the service's symlink and restart it in the new target at once;
// its logger follows it there (the same logger carries on; another is restarted once the old one has read
// the old version's lines to the end). Without a running svscan the link is only repointed (the next svscan
// starts the service there).
import { join } from 'node:path';
import { EXIT, FatalError } from '../core/errors.js';
import { request, type Reply } from '../io/control-socket.js';
import { deploy, rollback } from '../io/deploy.js';
import { resolveService } from '../io/svname.js';

export const HELP = `usage: upkeep deploy [--dir DIR] SERVICE TARGET
       upkeep rollback [--dir DIR] SERVICE

deploy:   points SERVICE's symlink in the tree at TARGET (a directory with a run file), atomically, keeping
          the previous target as .SERVICE.previous, and restarts the service in TARGET at once.
rollback: swaps SERVICE back to .SERVICE.previous (and keeps the one it leaves as the new previous).

The running upkeep svscan of the tree does both (asked through DIR/.upkeep/control.sock), so supervise/ of
the new target (and of its log/) is served as soon as the command returns, and no line is lost across
versions: the same logger (e.g. one log directory at a stable path) carries on, only its supervise/ moves;
another logger is restarted in TARGET/log once the old one has logged the old version's last line.
Without a running svscan the link is only repointed, with a warning.

SERVICE is a path (tree/NAME) or a NAME in --dir DIR, else $SVDIR, else /service.
Prints "SERVICE: FROM -> TO". exit codes: 0 done, 100 usage, 111 failure (nothing changed).
`;

export interface DeployOptions {
  dir?: string;
  service: string;
  /** Absent: rollback. */
  target?: string;
}

export async function runDeploy(o: DeployOptions): Promise<number> {
  const { tree, name } = resolveService(o.service, o.dir);
  const what = o.target === undefined ? 'roll back' : 'deploy';
  const client = { pid: process.pid, program: o.target === undefined ? 'upkeep rollback' : 'upkeep deploy' };
  const req = o.target === undefined ? { op: 'rollback', service: name, client } : { op: 'deploy', service: name, target: o.target, client };
  let reply: Reply;
  try {
    reply = await request(join(tree, '.upkeep'), req);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw new FatalError(`unable to ask svscan in ${tree}`, e);
    // No svscan runs on this tree: repoint only.
    const r = o.target === undefined ? rollback(tree, name) : deploy(tree, name, o.target);
    process.stderr.write(`upkeep ${o.target === undefined ? 'rollback' : 'deploy'}: warning: no svscan running on ${tree}: ${name} repointed only\n`);
    process.stdout.write(`${name}: ${r.from ?? '(none)'} -> ${r.to}\n`);
    return EXIT.OK;
  }
  if (!reply.ok) {
    const text = reply.error.startsWith('unable to ') ? reply.error : `unable to ${what} ${name}: ${reply.error}`;
    throw new FatalError(text);
  }
  process.stdout.write(`${name}: ${String(reply.from ?? '(none)')} -> ${String(reply.to)}\n`);
  return EXIT.OK;
}


