// daemonproxy's model on top of svscan's Tree: every journal event is also published to subscribers (the
// command socket's `events` connections and controller services), a new subscriber first gets a snapshot
// (one `state` line per service, then `sync`), and the command language of core/control.ts is executed
// here, from the socket, from a controller's stdout, or from `svscan --commands`.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import {
  CommandError,
  formatEventJson,
  formatEventLine,
  formatReply,
  parseCommand,
  stateEvent,
  TextLines,
  type AddSpec,
  type Command,
  type ReplyLine,
} from '../core/control.js';
import { describeError } from '../core/errors.js';
import type { JournalEvent } from '../core/journal.js';
import type { Clock } from './clock.js';
import { DEFAULT_PEER_BUFFER, Peer, type Connection, type Reply, type Request } from './control-socket.js';
import type { Journal } from './journal.js';
import { procSender } from './proc.js';
import type { Tree } from './tree.js';

/** Where services added at run time keep their generated service directory (run, env/, supervise/). */
export const RUNTIME_DIR = 'runtime';

/** svc letters for the signals the state machine knows (so an asked-for death is not counted as a crash). */
const SIGNAL_LETTER: Record<string, string> = {
  SIGSTOP: 'p', SIGCONT: 'c', SIGHUP: 'h', SIGALRM: 'a', SIGINT: 'i', SIGTERM: 't', SIGKILL: 'k',
};

export interface ControlPlaneOptions {
  tree: Tree;
  dir: string;
  clock: Clock;
  journal: Journal;
  /** Bytes a subscriber may leave unread before it is dropped. */
  peerBuffer?: number;
  /** Legacy JSON requests (deploy, rollback). */
  json?: (r: Request, sender: string | undefined) => Promise<Reply>;
}

export class ControlPlane {
  private readonly subscribers = new Set<Peer>();
  private readonly limit: number;
  /** The journal that also publishes: svscan hands this one to the Tree. */
  readonly journal: Journal;
  tree!: Tree;

  constructor(private readonly opts: Omit<ControlPlaneOptions, 'tree'> & { tree?: Tree }) {
    this.limit = opts.peerBuffer ?? DEFAULT_PEER_BUFFER;
    const inner = opts.journal;
    this.journal = {
      stream: inner.stream,
      close: () => inner.close(),
      write: (ev: JournalEvent) => {
        inner.write(ev);
        this.publish(ev);
      },
    };
    if (opts.tree) this.tree = opts.tree;
  }

  setJson(json: (r: Request, sender: string | undefined) => Promise<Reply>): void {
    this.opts.json = json;
  }

  private now(): number {
    return this.opts.clock.nowMicros();
  }

  private publish(ev: JournalEvent): void {
    if (this.subscribers.size === 0) return;
    const t = this.now();
    let text: string | undefined;
    let json: string | undefined;
    for (const p of this.subscribers) {
      if (p.json) p.write((json ??= formatEventJson(ev as never, t)));
      else p.write((text ??= formatEventLine(ev as never, t)));
    }
  }

  /** The snapshot a new subscriber starts with: a `state` line per service, then `sync`. */
  private snapshot(p: Peer, only?: string): number {
    const t = this.now();
    const views = this.tree.snapshot().filter((v) => only === undefined || v.name === only);
    for (const v of views) {
      const ev = stateEvent(v);
      p.write(p.json ? formatEventJson(ev, t) : formatEventLine(ev, t));
    }
    return views.length;
  }

  private subscribe(p: Peer): void {
    const n = this.snapshot(p);
    const sync = { event: 'sync', service: '-', services: n };
    p.write(p.json ? formatEventJson(sync, this.now()) : formatEventLine(sync, this.now()));
    this.subscribers.add(p);
    p.onDrop = () => {
      this.subscribers.delete(p);
      this.journal.write({ event: 'warning', service: '-', msg: `an event subscriber left ${this.limit} bytes unread: dropped` });
    };
  }

  private unsubscribe(p: Peer): void {
    this.subscribers.delete(p);
  }

  /** A command socket connection. */
  connection(sock: Socket): Connection {
    let peer: Peer | undefined;
    let sender: string | undefined; // set by a `from PID [PROGRAM]` line (upkeep's clients send one first)
    const peerOf = (json: boolean): Peer => (peer ??= new Peer(sock, json, this.limit, () => this.now()));
    sock.on('close', () => peer && this.unsubscribe(peer));
    return {
      onLine: async (line: string) => {
        if (line.startsWith('{')) {
          await this.jsonLine(line, sock);
          return;
        }
        let cmd: Command | undefined;
        try {
          cmd = parseCommand(line);
        } catch (e) {
          peerOf(false).write(formatReply({ ok: false, verb: line.split(/\s/)[0] ?? '-', service: '-', msg: describeError(e) }, false));
          return;
        }
        if (!cmd) return;
        if (cmd.verb === 'from') {
          sender = senderOf(cmd.pid, cmd.program);
          return;
        }
        if (cmd.verb === 'events') {
          const p = peerOf(cmd.json);
          if (cmd.follow) this.subscribe(p);
          else {
            const n = this.snapshot(p);
            p.write(formatEventLine({ event: 'sync', service: '-', services: n }, this.now()));
            sock.end();
          }
          return;
        }
        const p = peerOf(false);
        await this.execute(cmd, p, 'socket', sender);
      },
    };
  }

  private async jsonLine(line: string, sock: Socket): Promise<void> {
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      sock.write(`${JSON.stringify({ ok: false, error: 'not a JSON request' })}\n`);
      return;
    }
    const client = req.client as { pid?: unknown; program?: unknown } | undefined;
    const sender =
      client && typeof client.pid === 'number' && Number.isInteger(client.pid) && client.pid > 0
        ? senderOf(client.pid, typeof client.program === 'string' ? client.program : '')
        : undefined;
    if ((req.op === 'deploy' || req.op === 'rollback') && this.opts.json) {
      try {
        sock.write(`${JSON.stringify(await this.opts.json(req, sender))}\n`);
      } catch (e) {
        sock.write(`${JSON.stringify({ ok: false, error: describeError(e) })}\n`);
      }
      return;
    }
    // The JSON form of a text command: {"op":"up","service":"web"}, {"op":"signal","service":..,"signal":..}
    const words = [req.op, req.service, req.signal].filter((w): w is string => typeof w === 'string');
    let cmd: Command | undefined;
    try {
      cmd = parseCommand(words.map((w) => `'${w.replace(/'/g, '')}'`).join(' '));
    } catch (e) {
      sock.write(`${JSON.stringify({ ok: false, error: describeError(e) })}\n`);
      return;
    }
    if (!cmd || cmd.verb === 'events' || cmd.verb === 'add' || cmd.verb === 'from') {
      sock.write(`${JSON.stringify({ ok: false, error: `unknown request ${JSON.stringify(req.op)}` })}\n`);
      return;
    }
    await this.execute(cmd, new Peer(sock, true, this.limit, () => this.now()), 'socket', sender);
  }

  /** A controller service started: its stdout is commands, its stdin the event stream (snapshot first). */
  controller(name: string, child: ChildProcess): void {
    const stdin = child.stdin;
    const stdout = child.stdout;
    if (!stdin || !stdout) return;
    stdin.on('error', () => {});
    const peer = new Peer(stdin as never, false, this.limit, () => this.now());
    this.subscribe(peer);
    // A controller that stops reading would go on without events: stop it instead; its restart
    // resynchronises it from a new snapshot.
    const dropped = peer.onDrop;
    peer.onDrop = () => {
      dropped?.();
      this.journal.write({ event: 'warning', service: name, msg: `controller ${name} left ${this.limit} bytes of events unread: stopping it (it restarts with a new snapshot)` });
      try {
        child.kill('SIGTERM');
      } catch {
        /* gone */
      }
    };
    const lines = new TextLines();
    let chain = Promise.resolve();
    stdout.setEncoding('utf8');
    stdout.on('data', (t: string) => {
      for (const line of lines.push(t)) {
        chain = chain.then(async () => void (await this.textLine(line, peer, 'controller', `controller ${name}${child.pid ? ` pid ${child.pid}` : ''}`))).catch(() => {});
      }
    });
    child.once('exit', () => this.unsubscribe(peer));
  }

  /** One text command line from a controller or a --commands stream; the reply goes to `peer` if given. */
  async textLine(line: string, peer: Peer | undefined, via: Channel, sender?: string): Promise<ReplyLine | undefined> {
    let cmd: Command | undefined;
    try {
      cmd = parseCommand(line);
    } catch (e) {
      const r = { ok: false, verb: line.trim().split(/\s/)[0] ?? '-', service: '-', msg: describeError(e) };
      peer?.write(formatReply(r, false));
      return r;
    }
    if (!cmd) return undefined;
    if (cmd.verb === 'events' || cmd.verb === 'from') {
      const r = { ok: false, verb: cmd.verb, service: '-', msg: `${cmd.verb}: only on the command socket` };
      peer?.write(formatReply(r, false));
      return r;
    }
    return this.execute(cmd, peer, via, sender);
  }

  /** Runs one command and writes its reply (status: the state lines first). */
  async execute(cmd: Exclude<Command, { verb: 'events' | 'from' }>, peer: Peer | undefined, via: Channel, sender?: string): Promise<ReplyLine> {
    const service = 'service' in cmd && cmd.service !== undefined ? cmd.service : '-';
    let r: ReplyLine;
    try {
      const msg = await this.run(cmd, peer, via, sender);
      r = { ok: true, verb: cmd.verb, service, msg };
    } catch (e) {
      r = { ok: false, verb: cmd.verb, service, msg: e instanceof CommandError ? e.message : describeError(e) };
    }
    peer?.write(formatReply(r, peer.json));
    return r;
  }

  private async run(cmd: Exclude<Command, { verb: 'events' | 'from' }>, peer: Peer | undefined, via: Channel, sender: string | undefined): Promise<string> {
    const who = sender === undefined ? {} : { sender };
    const tree = this.tree;
    if (cmd.verb === 'status') {
      if (cmd.service !== undefined && !tree.snapshot().some((v) => v.name === cmd.service)) {
        throw new CommandError(`no such service: ${cmd.service}`);
      }
      const n = peer ? this.snapshot(peer, cmd.service) : tree.snapshot().length;
      return `${n} service${n === 1 ? '' : 's'}`;
    }
    if (cmd.verb === 'rescan') {
      this.journal.write({ event: 'control', service: '-', command: 'rescan', via, ...who });
      await tree.scan();
      return `scanned: ${tree.names.length} services`;
    }
    if (cmd.verb === 'add') return this.add(cmd.service, cmd.spec, via, who);
    if (cmd.verb === 'remove') {
      if (!tree.isRuntime(cmd.service)) {
        throw new CommandError(tree.names.includes(cmd.service) ? `${cmd.service} is a directory of the tree: remove its directory instead` : `no such service: ${cmd.service}`);
      }
      this.journal.write({ event: 'control', service: cmd.service, command: 'remove', via, ...who });
      await tree.removeRuntime(cmd.service);
      rmSync(join(this.runtimeRoot(), cmd.service), { recursive: true, force: true });
      return 'stopped and removed';
    }
    const svc = tree.service(cmd.service);
    if (!svc) throw new CommandError(`no such service: ${cmd.service}`);
    const word = cmd.verb === 'signal' ? `signal ${cmd.signal}` : cmd.verb;
    this.journal.write({ event: 'control', service: cmd.service, command: word, via, ...who });
    const before = svc.pid;
    switch (cmd.verb) {
      case 'up':
        svc.control('u');
        return before ? `already up, pid ${before}` : 'wanted up: starting';
      case 'down':
        svc.control('d');
        return before ? `wanted down: pid ${before} sent ${svc.policy?.downSignal ?? 'SIGTERM'}` : 'wanted down: not running';
      case 'once':
        svc.control('o');
        return before ? `run once: pid ${before} left running` : 'run once: starting';
      case 'restart':
        svc.control('u');
        if (before) svc.control('t');
        return before ? `restarting: pid ${before} sent SIGTERM` : 'was down: starting';
      case 'signal': {
        if (!before) throw new CommandError(`${cmd.service} is not running`);
        const letter = SIGNAL_LETTER[cmd.signal];
        if (letter) svc.control(letter);
        else {
          try {
            process.kill(before, cmd.signal as NodeJS.Signals);
          } catch (e) {
            throw new CommandError(`unable to send ${cmd.signal} to pid ${before}: ${describeError(e)}`);
          }
        }
        return `pid ${before} sent ${cmd.signal}`;
      }
    }
  }

  private runtimeRoot(): string {
    return resolve(this.opts.dir, '.upkeep', RUNTIME_DIR);
  }

  /** `add`: a generated service directory under DIR/.upkeep/runtime/NAME, supervised like any other. */
  private async add(name: string, spec: AddSpec, via: Channel, who: { sender?: string }): Promise<string> {
    const tree = this.tree;
    if (tree.names.includes(name)) throw new CommandError(`${name} already exists`);
    const dir = join(this.runtimeRoot(), name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'env'), { recursive: true, mode: 0o700 });
    writeRuntimeDir(dir, spec);
    this.journal.write({ event: 'control', service: name, command: 'add', via, ...who });
    await tree.addRuntime(name, dir);
    const pid = tree.service(name)?.pid ?? 0;
    return spec.down ? 'added, down' : pid ? `added, pid ${pid}` : 'added';
  }

  /** svscan stops: the generated directories go (their services are down by now). */
  cleanup(): void {
    rmSync(this.runtimeRoot(), { recursive: true, force: true });
  }
}

/** A single-quoted shell word. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function writeRuntimeDir(dir: string, spec: AddSpec): void {
  const cd = spec.cwd ? `cd ${shQuote(resolve(spec.cwd))} || exit 111\n` : '';
  writeFileSync(join(dir, 'run'), `#!/bin/sh\n# generated by upkeep svscan for a service added at run time\n${cd}exec ${spec.argv.map(shQuote).join(' ')}\n`);
  chmodSync(join(dir, 'run'), 0o755);
  for (const [k, v] of spec.env) writeFileSync(join(dir, 'env', k), `${v}\n`);
  if (spec.down) writeFileSync(join(dir, 'down'), '');
  if (spec.controller) writeFileSync(join(dir, 'controller'), '');
  if (spec.notificationFd !== undefined) writeFileSync(join(dir, 'notification-fd'), `${spec.notificationFd}\n`);
  if (spec.listen.length) writeFileSync(join(dir, 'listen'), `${spec.listen.join('\n')}\n`);
}

/** Where a command came from: the command socket, a controller service's stdout, svscan --commands. */
export type Channel = 'socket' | 'controller' | 'commands';

/** The journal's `sender` for a client that said `from PID [PROGRAM]` (checked against /proc). */
function senderOf(pid: number, program: string): string {
  return procSender(pid, program) ?? `pid ${pid}${program ? ` (${program})` : ''}, not running`;
}
