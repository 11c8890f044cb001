// Entry of `upkeep tail`'s one-file bundle, dist/bundle/tail.cjs (built by `npm run build` with esbuild;
// bin/upkeep runs it for `upkeep tail`). Start-up is part of tail's speed targets (issue 5: `--since`'s
// first line in under a tenth of `grep -c`'s scan; the merge as fast as `sort -m`), and Node 20's ESM
// loader spends ~1 ms per module (resolve, read, compile, link: ~19 ms for tail's 18 modules here),
// where one CommonJS file of the same code loads in ~3 ms (bench/README.md). Same code, same behaviour:
// the tests run `upkeep tail` through bin/upkeep, so through this bundle.
import { restoreRuntime, runOne } from './run-one.js';

restoreRuntime();
void runOne('upkeep tail', () => import('./tail.js'), process.argv.slice(2));
