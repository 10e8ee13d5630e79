// Benchmark (not a test): `deidentifyModel` of the nodejs build against the native `veil deid` on
// the same synthetic model, side by side, and the module's instantiation time in a fresh Node.
//
//   node crates/wasm/bench/deid.mjs [--triangles 1000000] [--veil target/release/veil] [--runs 3]
//
// Needs `cargo xtask npm`, a release `veil` (cargo build --release -p veil-cli) and the
// `synth_model` example. Prints one line per measurement and the wasm/native ratios (budget: 2x).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
const { values } = parseArgs({
  options: {
    triangles: { type: 'string', default: '1000000' },
    veil: { type: 'string', default: join(TARGET, 'release', 'veil') },
    synth: { type: 'string', default: join(TARGET, 'debug', 'examples', 'synth_model') },
    pkg: { type: 'string', default: join(TARGET, 'npm', 'nodejs', 'veil_core.js') },
    runs: { type: 'string', default: '3' },
  },
});
const runs = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'veil-bench-'));
const model = join(dir, 'head.stl');
execFileSync(values.synth, ['head', values.triangles, model]);
const bytes = new Uint8Array(readFileSync(model));

// Instantiation: require() of the nodejs build compiles and instantiates the module.
const inst = [];
for (let i = 0; i < 5; i++) {
  const ms = execFileSync(process.execPath, ['-e', `const t=performance.now();require(${JSON.stringify(values.pkg)});console.log(performance.now()-t)`], { encoding: 'utf8' });
  inst.push(Number(ms));
}
console.log(`instantiate (fresh node, require): min ${Math.min(...inst).toFixed(1)} ms, median ${inst.sort((a, b) => a - b)[2].toFixed(1)} ms (budget 100 ms)`);

const veil = createRequire(import.meta.url)(values.pkg);
const best = (f) => { let b = Infinity; for (let i = 0; i < runs; i++) { const t = performance.now(); f(); b = Math.min(b, performance.now() - t); } return b; };
const bestAsync = async (f) => { let b = Infinity; for (let i = 0; i < runs; i++) { const t = performance.now(); await f(); b = Math.min(b, performance.now() - t); } return b; };

for (const report of [false, true]) {
  const args = ['deid', model, '-o', join(dir, 'out.stl'), '--seed', '1', ...(report ? ['--report', join(dir, 'r.json')] : [])];
  const native = best(() => execFileSync(values.veil, args));
  // Like the CLI: read the file, de-identify, write the output (and the report).
  const wasm = await bestAsync(async () => {
    const input = new Uint8Array(readFileSync(model));
    const r = await veil.deidentifyModel(input, { seed: 1, hausdorff: report, inputFormat: 'stl' });
    writeFileSync(join(dir, 'wasm.stl'), r.model);
    if (report) writeFileSync(join(dir, 'wasm.json'), JSON.stringify(r.report, null, 2));
  });
  const label = report ? 'with the Hausdorff report' : 'without the report';
  console.log(`deid ${values.triangles} triangles ${label}: native CLI ${native.toFixed(0)} ms (process, file in and out), wasm in node ${wasm.toFixed(0)} ms (file in and out), ratio ${(wasm / native).toFixed(2)}x (budget 2x)`);
}
rmSync(dir, { recursive: true, force: true });
