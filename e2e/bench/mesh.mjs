// Browser mesh benchmark: `deidentifyModel` of the npm package's web build on a model, in a module
// worker of headless Chromium (e2e/lib/browser.mjs), without and with the Hausdorff report.
// Prints `RESULT {json}` for xtask (milliseconds, bytes, wasm memory after each run).
//
//   node e2e/bench/mesh.mjs --pkg target/npm/web --model target/bench/head-5000000.stl [--runs 1]
//
// Normally run by `cargo xtask bench mesh`, which builds the model and expects the npm package
// (`cargo xtask npm`).
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launch, openPage } from '../lib/browser.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
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
const PKG = resolve(values.pkg);
const MODEL = resolve(values.model);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cache-control': 'no-store',
};

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path === '/model.stl') {
    const { size } = await stat(MODEL);
    res.writeHead(200, { ...HEADERS, 'content-type': 'model/stl', 'content-length': size });
    createReadStream(MODEL).pipe(res);
    return;
  }
  const [base, rel] = path.startsWith('/pkg/') ? [PKG, path.slice(5)] : [HERE, path.slice(1) || 'mesh.html'];
  const file = normalize(join(base, rel));
  if (file !== base && !file.startsWith(`${base}/`)) { res.writeHead(403).end(); return; }
  try {
    const body = await readFile(file);
    res.writeHead(200, { ...HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/mesh.html`;

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
  console.log(`RESULT ${JSON.stringify({ area: 'mesh-browser', ...reply.out })}`);
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
