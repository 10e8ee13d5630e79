// The npm package's `bundler` build as a partner portal bundles it: webpack 5 takes
// e2e/bundler/entry.mjs, which imports `@veil/core` and `@veil/core/pool.mjs` by package name
// from a node_modules copy of target/npm/bundler, and the bundle runs in headless Chromium under a
// strict CSP. The pool (its worker found by webpack through `new Worker(new URL(...))`, the wasm
// through `experiments.asyncWebAssembly`) and `deidentifyModel` on the page give the bytes and
// report of `veil deid --seed --report`.
//
// Needs `cargo xtask npm` (the package) and the debug `veil` binary and `synth_model` example
// (both built by the npm stage of `cargo xtask test`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import webpack from 'webpack';
import { launch, openPage } from '../lib/browser.mjs';
import { serveStatic } from '../lib/static.mjs';
import { ROOT, TARGET, VEIL, SYNTH, cliDeidHead } from '../lib/cli-deid.mjs';

const PKG = process.env.VEIL_NPM_BUNDLER ?? join(TARGET, 'npm', 'bundler');
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'";

let tmp;
let dist;
let server;
let base;
let session;

/** webpack's production build of the entry into `dist`; its stats, or the errors it printed. */
function bundle(nodeModules) {
  const compiler = webpack({
    mode: 'production',
    target: 'web',
    context: join(ROOT, 'e2e', 'bundler'),
    entry: './entry.mjs',
    output: { path: dist, filename: 'main.js', publicPath: 'auto', clean: true },
    resolve: { modules: [nodeModules] },
    experiments: { asyncWebAssembly: true },
    performance: { hints: false },
  });
  return new Promise((ok, fail) => {
    compiler.run((err, stats) => {
      compiler.close(() => {});
      if (err) fail(err);
      else if (stats.hasErrors()) fail(new Error(stats.toString({ all: false, errors: true })));
      else ok(stats.toJson({ all: false, assets: true }));
    });
  });
}

before(async () => {
  for (const [what, path] of [['the bundler build of @veil/core (cargo xtask npm)', join(PKG, 'veil_core.js')], ['veil', VEIL], ['synth_model', SYNTH]]) {
    assert.ok(existsSync(path), `${what} is missing at ${path}`);
  }
  tmp = mkdtempSync(join(tmpdir(), 'veil-bundler-'));
  dist = join(tmp, 'dist');
  // The package as `npm install` leaves it: its published files under node_modules/@veil/core.
  const nodeModules = join(tmp, 'node_modules');
  const installed = join(nodeModules, '@veil', 'core');
  mkdirSync(installed, { recursive: true });
  const { files } = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));
  for (const f of ['package.json', ...files]) cpSync(join(PKG, f), join(installed, f), { recursive: true });
  const stats = await bundle(nodeModules);
  const names = stats.assets.map((a) => a.name);
  assert.ok(names.some((n) => n.endsWith('.wasm')), `webpack emitted the package's wasm: ${names.join(', ')}`);
  assert.ok(names.length >= 3, `webpack emitted the page, the pool's worker and the wasm: ${names.join(', ')}`);
  writeFileSync(join(dist, 'index.html'), '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bundled</title></head><body><script src="main.js"></script></body></html>');
  ({ server, base } = await serveStatic([['/', dist]], CSP));
  session = await launch();
});
after(async () => {
  await session?.close();
  server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('a webpack bundle of the package de-identifies on its worker pool and in the page, as `veil deid --seed --report`', async () => {
  const { model, sha256: expected, report: want } = cliDeidHead(tmp, 60000, 42);

  const { page, errors, requests } = await openPage(session.browser);
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  const b64 = readFileSync(model).toString('base64');
  const workers = [];
  page.on('workercreated', (w) => workers.push(w.url()));
  const got = await page.evaluate(async (data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    return globalThis.veilBundled(bytes, 42);
  }, b64);
  assert.equal(got.pool.sha256, expected, 'the pool gave the CLI\'s bytes');
  assert.deepEqual(got.pool.report, want, 'the pool gave the CLI\'s report');
  assert.equal(got.direct.sha256, expected, 'deidentifyModel gave the CLI\'s bytes');
  assert.deepEqual(got.direct.report, want, 'deidentifyModel gave the CLI\'s report');
  // The pool's workers, webpack's chunk of pool-worker.mjs: two on two cores or more (the second
  // measured the report's second half while the first wrote the output).
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.equal(workers.length, Math.min(cores, 2), workers.join(', '));
  assert.equal(new Set(workers).size, 1, `one worker script: ${workers.join(', ')}`);
  for (const r of requests) {
    assert.ok(r.url.startsWith(base + '/'), `request to ${r.url}`);
    assert.equal(r.method, 'GET', `${r.method} ${r.url}`);
  }
  assert.deepEqual(errors, []);
});
