// The npm package's `bundler` build as a partner portal bundles it. A project folder holds
// e2e/bundler/entry.mjs (which imports `@veil/core` and `@veil/core/pool.mjs` by package name) and
// node_modules/@veil/core, the package's published files as `npm install` leaves them; webpack 5
// and Vite 8 each bundle it, and each bundle runs in headless Chromium under a strict CSP. The pool
// (its worker found by the bundler through `new Worker(new URL(...))`) and `deidentifyModel` on
// the page give the bytes and report of `veil deid --seed --report`. The package's wasm is an ES
// module import: webpack takes it with `experiments.asyncWebAssembly`, Vite 8 (Rolldown) natively,
// its workers built as ES modules (`worker.format: 'es'`; the default `iife` cannot hold the
// top-level `await` that instantiates the wasm), as crates/wasm/README.md says.
//
// Needs `cargo xtask npm` (the package) and the debug `veil` binary and `synth_model` example
// (both built by the npm stage of `cargo xtask test`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import webpack from 'webpack';
import { build as viteBuild } from 'vite';
import { launch, openPage } from '../lib/browser.mjs';
import { serveStatic } from '../lib/static.mjs';
import { ROOT, TARGET, VEIL, SYNTH, cliDeidHead } from '../lib/cli-deid.mjs';

const PKG = process.env.VEIL_NPM_BUNDLER ?? join(TARGET, 'npm', 'bundler');
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'";
const PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bundled</title></head><body><script SRC></script></body></html>';

let tmp;
let project;
let cli;
let session;

/** webpack's production build of the project's entry into `dist`. */
function webpackBundle(dist) {
  const compiler = webpack({
    mode: 'production',
    target: 'web',
    context: project,
    entry: './entry.mjs',
    output: { path: dist, filename: 'main.js', publicPath: 'auto', clean: true },
    experiments: { asyncWebAssembly: true },
    performance: { hints: false },
  });
  return new Promise((ok, fail) => {
    compiler.run((err, stats) => {
      compiler.close(() => {});
      if (err) fail(err);
      else if (stats.hasErrors()) fail(new Error(stats.toString({ all: false, errors: true })));
      else {
        writeFileSync(join(dist, 'index.html'), PAGE.replace('SRC', 'src="main.js"'));
        ok();
      }
    });
  });
}

/** Vite's production build of the project's page (index.html, which loads the entry) into `dist`,
 * configured as crates/wasm/README.md tells a portal to. */
async function viteBundle(dist) {
  writeFileSync(join(project, 'index.html'), PAGE.replace('SRC', 'type="module" src="./entry.mjs"'));
  await viteBuild({
    root: project,
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    build: { outDir: dist, emptyOutDir: true },
    worker: { format: 'es' },
  });
}

before(async () => {
  for (const [what, path] of [['the bundler build of @veil/core (cargo xtask npm)', join(PKG, 'veil_core.js')], ['veil', VEIL], ['synth_model', SYNTH]]) {
    assert.ok(existsSync(path), `${what} is missing at ${path}`);
  }
  tmp = mkdtempSync(join(tmpdir(), 'veil-bundler-'));
  project = join(tmp, 'portal');
  const installed = join(project, 'node_modules', '@veil', 'core');
  mkdirSync(installed, { recursive: true });
  const { files } = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));
  for (const f of ['package.json', ...files]) cpSync(join(PKG, f), join(installed, f), { recursive: true });
  cpSync(join(ROOT, 'e2e', 'bundler', 'entry.mjs'), join(project, 'entry.mjs'));
  cli = cliDeidHead(tmp, 60000, 42);
  session = await launch();
});
after(async () => {
  await session?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

for (const [name, bundle] of [['webpack 5', webpackBundle], ['Vite 8', viteBundle]]) {
  test(`a ${name} bundle of the package de-identifies on its worker pool and in the page, as \`veil deid --seed --report\``, async () => {
    const dist = join(tmp, `dist-${name.split(' ')[0].toLowerCase()}`);
    await bundle(dist);
    const emitted = readdirSync(dist, { recursive: true });
    assert.ok(emitted.some((n) => n.endsWith('.wasm')), `${name} emitted the package's wasm: ${emitted.join(', ')}`);
    const { server, base } = await serveStatic([['/', dist]], CSP);
    try {
      await runBundle(base);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
}

/** Run the bundle served at `base` on the CLI's model and compare with the CLI's bytes and report. */
async function runBundle(base) {
  const { page, errors, requests } = await openPage(session.browser);
  try {
    await checkPage(page, errors, requests, base);
  } finally {
    await page.close();
  }
}

/** The page's pool and `deidentifyModel` against the CLI; no request leaves `base`, no error. */
async function checkPage(page, errors, requests, base) {
  const { model, sha256: expected, report: want } = cli;
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
  // The pool's workers, the bundler's chunk of pool-worker.mjs: two on two cores or more (the second
  // measured the report's first half while the first measured the second and wrote the output).
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.equal(workers.length, Math.min(cores, 2), workers.join(', '));
  assert.equal(new Set(workers).size, 1, `one worker script: ${workers.join(', ')}`);
  for (const r of requests) {
    assert.ok(r.url.startsWith(base + '/'), `request to ${r.url}`);
    assert.equal(r.method, 'GET', `${r.method} ${r.url}`);
  }
  assert.deepEqual(errors, []);
}
