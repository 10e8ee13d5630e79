// Driver of the browser benchmarks: serves this folder and the wasm-bindgen output of
// `veil-bench-wasm` on 127.0.0.1, opens the page in headless Chromium (e2e/lib/browser.mjs) and
// runs the named areas. Prints a line per figure and, per area, `RESULT {json}` for xtask.
//
//   node e2e/bench/run.mjs --pkg target/bench-wasm/pkg [--iterations 500] [--megabytes 50] trust seal
//
// Normally run by `cargo xtask bench trust|seal|all`, which builds the package first.
import { parseArgs } from 'node:util';
import { launch, openPage } from '../lib/browser.mjs';
import { serveBench } from './serve.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pkg: { type: 'string' },
    iterations: { type: 'string', default: '500' },
    megabytes: { type: 'string', default: '50' },
    rounds: { type: 'string' },
  },
});
if (!values.pkg || positionals.length === 0 || positionals.some((a) => !['trust', 'seal'].includes(a))) {
  console.error('usage: run.mjs --pkg DIR [--iterations N] [--megabytes N] [--rounds N] trust|seal ...');
  process.exit(2);
}
const server = await serveBench({ pkg: values.pkg });
const url = server.url;

const { browser, close } = await launch();
let failed = false;
try {
  const { page, errors } = await openPage(browser);
  page.setDefaultTimeout(0);
  await page.goto(url);
  await page.waitForFunction('window.veilBench !== undefined');
  await page.evaluate('window.veilBench.ready');
  console.log(`browser: ${await browser.version()}; cross-origin isolated: ${await page.evaluate('crossOriginIsolated')}`);
  for (const area of positionals) {
    const opts = area === 'trust'
      ? { iterations: Number(values.iterations), ...(values.rounds ? { rounds: Number(values.rounds) } : {}) }
      : { megabytes: Number(values.megabytes), ...(values.rounds ? { rounds: Number(values.rounds) } : {}) };
    const result = await page.evaluate((a, o) => window.veilBench[a](o), area, opts);
    console.log(`RESULT ${JSON.stringify({ area, ...result })}`);
  }
  if (errors.length) {
    console.error(`page errors:\n${errors.join('\n')}`);
    failed = true;
  }
} catch (e) {
  console.error(`bench page: ${e?.message ?? e}`);
  failed = true;
} finally {
  await close();
  server.close();
}
process.exit(failed ? 1 : 0);
