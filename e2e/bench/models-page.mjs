// The Models page on a large model: upload it, wait for the report and the download, and print
// the times and what the report says. Checks the page end to end (worker, pipeline, preview with
// its deviation map, download) at a size the e2e suite does not run on every build.
//
//   VEIL_URL=http://127.0.0.1:8080 node e2e/bench/models-page.mjs target/bench/head-5000000.stl
//
// Needs a running `veil serve` with the built PWA (`cargo xtask serve`). Prints `RESULT {json}`.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { launch, openPage } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';

const model = process.argv[2];
if (!model) {
  console.error('usage: VEIL_URL=... node e2e/bench/models-page.mjs MODEL.stl');
  process.exit(2);
}
const { browser, close } = await launch();
let failed = false;
try {
  const { page, errors } = await openPage(browser);
  page.setDefaultTimeout(0);
  const app = new VeilApp(page);
  await app.open('/models');
  await page.waitForSelector('[data-testid="page-models"][data-worker="ready"]');
  // When the progress bar passes each share of the work (the pipeline takes 0 to 0.85 of it, the
  // preview the rest: app/src/mesh_job.rs; the pipeline's own shares in crates/mesh/src/pipeline.rs),
  // so a slow run says which part was slow.
  await page.evaluate(() => {
    window.__marks = {};
    const t0 = performance.now();
    const poll = () => {
      const value = Number(document.querySelector('[data-testid="model-progress"]')?.value ?? 0);
      for (const m of [0.17, 0.57, 0.68, 0.765, 0.85]) if (value >= m && !(m in window.__marks)) window.__marks[m] = Math.round(performance.now() - t0);
      if (!document.querySelector('[data-testid="model-report"]')) setTimeout(poll, 20);
    };
    poll();
  });
  const input = await page.$('[data-testid="model-file"]');
  const t0 = Date.now();
  await input.uploadFile(resolve(model));
  await page.waitForSelector('[data-testid="model-report"]');
  const reportMs = Date.now() - t0;
  const marks = await page.evaluate(() => window.__marks);
  console.log(`progress reached (ms): read ${marks[0.17]}, mask ${marks[0.57]}, the report's second half (here) ${marks[0.68]}, written ${marks[0.765]}, report (the first half from the helper) ${marks[0.85]}`);
  const summary = await page.$eval('[data-testid="model-report"]', (el) => el.textContent.replace(/\s+/g, ' ').slice(0, 400));
  const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
  console.log(`report after ${reportMs} ms: ${summary}`);
  console.log(`RESULT ${JSON.stringify({ area: 'models-page', inputBytes: statSync(model).size, reportMs, progressMs: marks, pageJsHeapBytes: heap })}`);
  if (errors.length) {
    console.error(`page errors:\n${errors.join('\n')}`);
    failed = true;
  }
} catch (e) {
  console.error(`models page: ${e?.message ?? e}`);
  failed = true;
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
