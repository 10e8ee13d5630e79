// What the npm package's browser tests compare with: a synthetic head from the `synth_model`
// example, de-identified by `veil deid --seed --report` (the debug builds `cargo xtask test`'s npm
// stage makes, or VEIL_BIN / VEIL_SYNTH).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository, and cargo's target folder in it. */
export const ROOT = process.env.VEIL_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
export const VEIL = process.env.VEIL_BIN ?? join(TARGET, 'debug', 'veil');
export const SYNTH = process.env.VEIL_SYNTH ?? join(TARGET, 'debug', 'examples', 'synth_model');

/**
 * A head of about `triangles` triangles written to `dir/head.stl`, and the CLI's output for it with
 * `seed`: `{ model, sha256, report }` (`model` the input's path, `sha256` the output's digest in hex,
 * `report` the `--report` JSON).
 */
export function cliDeidHead(dir, triangles, seed) {
  const model = join(dir, 'head.stl');
  execFileSync(SYNTH, ['head', String(triangles), model]);
  const out = join(dir, 'cli.stl');
  const report = join(dir, 'cli.json');
  execFileSync(VEIL, ['deid', model, '-o', out, '--seed', String(seed), '--report', report]);
  return {
    model,
    sha256: createHash('sha256').update(readFileSync(out)).digest('hex'),
    report: JSON.parse(readFileSync(report, 'utf8')),
  };
}
