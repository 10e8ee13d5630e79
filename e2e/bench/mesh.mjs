// Browser mesh benchmark: `deidentifyModel` of the npm package's web build on a model, in a module
// worker of headless Chromium (e2e/lib/browser.mjs), without and with the Hausdorff report, and
// with the report on the package's MeshPool (one worker per core).
// Prints `RESULT {json}` for xtask (milliseconds, bytes, wasm memory after each run).
//
//   node e2e/bench/mesh.mjs --pkg target/npm/web --model target/bench/head-5000000.stl [--runs 1]
//
// Normally run by `cargo xtask bench mesh`, which builds the model and expects the npm package
// (`cargo xtask npm`).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launch, openPage } from '../lib/browser.mjs';
import { serveBench } from './serve.mjs';

const { values } = parseArgs({
  options: {
    pkg: { type: 'string' },
    model: { type: 'string' },
    runs: { type: 'string', default: '1' },
  },
});
if (!values.pkg || !values.model) {
  console.error('usage: mesh.mjs --pkg DIR --model FILE.stl [--runs N]');
  process.exit(2);
}
const MODEL = resolve(values.model);
const server = await serveBench({
  pkg: values.pkg,
  index: 'mesh.html',
  files: { '/model.stl': { file: MODEL, type: 'model/stl' } },
});
const url = `${server.url}mesh.html`;

const { browser, close } = await launch();
let failed = false;
try {
  const { page, errors } = await openPage(browser);
  page.setDefaultTimeout(0);
  await page.goto(url);
  console.log(`browser: ${await browser.version()}; model ${MODEL}`);
  const reply = await page.evaluate((runs) => new Promise((done) => {
    const w = new Worker('./mesh-worker.js', { type: 'module' });
    w.onmessage = ({ data }) => done(data);
    w.onerror = (e) => done({ ok: false, error: e.message });
    w.postMessage({ runs });
  }), Number(values.runs));
  if (!reply.ok) throw new Error(reply.error);
  // The package's MeshPool (one module worker per core) with the report, from the page; its
  // workers start on first use and stay, so the best run is a warm pool's.
  const pool = await page.evaluate(async (runs) => {
    const { MeshPool } = await import('./pkg/pool.mjs');
    const bytes = new Uint8Array(await (await fetch('./model.stl')).arrayBuffer());
    const p = new MeshPool();
    let best = Infinity;
    for (let i = 0; i < runs + 1; i++) {
      const t = performance.now();
      await p.deidentifyModel(bytes, { seed: 1, hausdorff: true, inputFormat: 'stl' });
      best = Math.min(best, performance.now() - t);
    }
    p.terminate();
    return { poolReportMs: best, poolSize: p.size };
  }, Number(values.runs));
  console.log(`RESULT ${JSON.stringify({ area: 'mesh-browser', ...reply.out, ...pool })}`);
  if (errors.length) {
    console.error(`page errors:\n${errors.join('\n')}`);
    failed = true;
  }
} catch (e) {
  console.error(`mesh bench page: ${e?.message ?? e}`);
  failed = true;
} finally {
  await close();
  server.close();
}
process.exit(failed ? 1 : 0);
