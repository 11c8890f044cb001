// The `upkeep` command itself: dispatch, help, version, links, man pages for every program.
import { existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROGRAMS } from '../../src/cli/registry.js';
import { ROOT, UPKEEP, run, tmpdir, upkeep } from '../helpers/index.js';

describe('upkeep', () => {
  it('lists every program with no arguments and with --help', async () => {
    for (const args of [[], ['--help'], ['help']]) {
      const r = await upkeep(args);
      expect(r.code).toBe(0);
      const out = r.stdout.toString();
      for (const name of Object.keys(PROGRAMS)) expect(out).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    }
  });

  it('prints its version', async () => {
    const r = await upkeep(['--version']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.stdout.toString()).toBe(`${pkg.version}\n`);
  });

  it('refuses an unknown program with a one-line error and exit 100', async () => {
    const r = await upkeep(['frobnicate']);
    expect(r.code).toBe(100);
    expect(r.stderr.toString()).toBe('upkeep: fatal: unable to run frobnicate: no such program (see upkeep help)\n');
  });

  it('shows each program\'s help through upkeep help PROGRAM', async () => {
    for (const name of Object.keys(PROGRAMS)) {
      const r = await upkeep(['help', name]);
      expect(r.code, name).toBe(0);
      expect(r.stdout.length, name).toBeGreaterThan(40);
      expect(r.stdout.toString(), name).toContain(name);
    }
  });

  it('refuses help for an unknown program with exit 100', async () => {
    const r = await upkeep(['help', 'nope']);
    expect(r.code).toBe(100);
    expect(r.stderr.toString()).toMatch(/^upkeep help: fatal: unable to find program nope/);
  });

  it('has a man page for every program, listed in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { man: string[] };
    expect(pkg.man).toContain('man/upkeep.8');
    for (const name of Object.keys(PROGRAMS).filter((n) => n !== 'help')) {
      const page = `man/upkeep-${name}.8`;
      expect(existsSync(join(ROOT, page)), page).toBe(true);
      expect(pkg.man, page).toContain(page);
      const text = readFileSync(join(ROOT, page), 'utf8');
      for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT CODES', 'SEE ALSO']) {
        expect(text, `${page} ${section}`).toMatch(new RegExp(`^\\.SH "?${section}"?`, 'm'));
      }
    }
  });
});

describe('upkeep links', () => {
  it('creates a link per daemontools program, and a link runs that program', async () => {
    const dir = join(tmpdir(), 'bin');
    const r = await upkeep(['links', dir]);
    expect(r.code).toBe(0);
    const names = Object.keys(PROGRAMS).filter((n) => PROGRAMS[n]!.link);
    expect(names).toContain('multilog');
    for (const n of names) {
      expect(lstatSync(join(dir, n)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dir, n))).toBe(UPKEEP);
    }
    // Through the link, tai64nlocal copies a line without a label unchanged.
    const t = await run(join(dir, 'tai64nlocal'), [], { input: 'no label here\n' });
    expect(t.code).toBe(0);
    expect(t.stdout.toString()).toBe('no label here\n');
    // Running links again is idempotent.
    expect((await upkeep(['links', dir])).code).toBe(0);
  });

  it('refuses to replace a foreign file unless --force', async () => {
    const dir = tmpdir();
    writeFileSync(join(dir, 'multilog'), 'not ours');
    const r = await upkeep(['links', dir]);
    expect(r.code).toBe(111);
    expect(r.stderr.toString()).toMatch(/^upkeep links: fatal: unable to create link .*multilog: file already exists/);
    const f = await upkeep(['links', '--force', dir]);
    expect(f.code).toBe(0);
    expect(readlinkSync(join(dir, 'multilog'))).toBe(UPKEEP);
  });

  it("every upkeep program reports commander's usage errors as '<program>: usage: ...', exit 100", async () => {
    // (tail and export built their own commander programs and printed commander's "error: ...")
    const names = Object.entries(PROGRAMS).filter(([, e]) => e.style === 'upkeep').map(([n]) => n);
    expect(names).toEqual(expect.arrayContaining(['tail', 'export', 'report', 'ctl']));
    for (const name of names) {
      const r = await upkeep([name, '--no-such-option']);
      // (export checks its required --to first)
      const what = name === 'export' ? "required option '--to <destination>' not specified" : "unknown option '--no-such-option'";
      expect({ name, code: r.code, err: r.stderr.toString() }).toEqual({ name, code: 100, err: `upkeep ${name}: usage: ${what}\n` });
    }
  });

  it('rejects a missing argument as a usage error', async () => {
    const r = await upkeep(['links']);
    expect(r.code).toBe(100);
    expect(r.stderr.toString()).toMatch(/missing required argument/);
  });
});
