// Undoes what starting through Node changed, from what bin/upkeep handed over (see upkeep(8), RUNTIME):
// - signals ignored by our parent stay ignored (Node resets every disposition at start-up);
// - SIGUSR1 does what it does to a C program (terminate), instead of opening Node's inspector, which
//   would let any local user attach a debugger to a supervisor running as root;
// - NODE_OPTIONS goes back into the environment our children get, untouched;
// - the launcher's variables are removed, so no child sees them.
import { constants } from 'node:os';

// Signals whose default action ends a process, and that a parent commonly ignores (nohup, `cmd &`).
// SIGPIPE stays ignored whatever the parent did (a broken stderr must never kill a logger: upkeep(8)).
const IGNORABLE = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGTERM', 'SIGVTALRM', 'SIGPROF', 'SIGPOLL', 'SIGPWR'] as const;

function noop(): void {}

export function restoreRuntime(env: NodeJS.ProcessEnv = process.env): void {
  const mask = env.UPKEEP_SIGIGN;
  delete env.UPKEEP_SIGIGN;
  delete env.UPKEEP_ARGV0;
  if (env.UPKEEP_NODE_OPTIONS !== undefined) {
    env.NODE_OPTIONS = env.UPKEEP_NODE_OPTIONS;
    delete env.UPKEEP_NODE_OPTIONS;
  }
  let ignored = 0n;
  if (mask !== undefined && /^[0-9a-fA-F]{1,16}$/.test(mask)) ignored = BigInt(`0x${mask}`);
  for (const name of IGNORABLE) {
    const num = (constants.signals as Record<string, number | undefined>)[name];
    if (num === undefined) continue;
    if (ignored & (1n << BigInt(num - 1))) process.on(name, noop);
    else if (name === 'SIGUSR1') process.once('SIGUSR1', dieOfUsr1);
  }
}

function dieOfUsr1(): void {
  // The once-listener is gone, so libuv has put back the default action: re-raise to terminate as C does.
  process.kill(process.pid, 'SIGUSR1');
}
