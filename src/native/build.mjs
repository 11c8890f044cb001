// Builds the native follower (src/native/follow.c) into dist/native/follow.node with the machine's C
// compiler and node's own headers (`npm run build` runs it). It is optional: where it cannot be built,
// this says why on one line and exits 0, and `upkeep tail -f` runs the JavaScript follower alone
// (src/io/native-follow.ts). UPKEEP_REQUIRE_NATIVE=1 (.ci/run) makes a failure an error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'dist', 'native', 'follow.node');
const required = process.env.UPKEEP_REQUIRE_NATIVE === '1';

function skip(why) {
  rmSync(out, { force: true });
  const msg = `upkeep build: native follower not built: ${why} (tail -f uses the JavaScript follower)`;
  if (required) {
    console.error(`${msg}; fatal: UPKEEP_REQUIRE_NATIVE=1`);
    process.exit(111);
  }
  console.error(msg);
  process.exit(0);
}

if (process.env.UPKEEP_NATIVE === '0') skip('UPKEEP_NATIVE=0');
if (process.platform !== 'linux') skip(`inotify is Linux's, this is ${process.platform}`);
// node's headers: beside the binary (the official builds, nvm), or where a distribution puts them.
const headers = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].find((d) =>
  existsSync(join(d, 'node_api.h')),
);
if (!headers) skip("node's headers (node_api.h) not found");
const cc = process.env.CC || 'cc';
mkdirSync(dirname(out), { recursive: true });
const r = spawnSync(
  cc,
  ['-O2', '-std=c11', '-D_FILE_OFFSET_BITS=64', '-Wall', '-Wextra', ...(required ? ['-Werror'] : []), '-shared', '-fPIC', `-I${headers}`, '-o', out, join(root, 'src', 'native', 'follow.c'), '-lpthread'],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
if (r.error) skip(`${cc}: ${r.error.code === 'ENOENT' ? 'no C compiler' : r.error.message}`);
if (r.status !== 0) skip(`${cc} exited ${r.status}`);
