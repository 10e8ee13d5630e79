// The partner-portal example (e2e/portal/) in headless Chromium: the page embeds @veil/core from
// its package files (the `web` build in target/npm/web, served as ./pkg/), de-identifies a dropped
// model in a Web Worker byte for byte as `veil deid --seed` does, and verifies a device reading
// (and rejects a tampered one with the CLI's code), without sending anything anywhere.
//
// Needs `cargo xtask npm` (the package) and the debug `veil` binary and `synth_model` example
// (both built by the npm stage of `cargo xtask test`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage } from '../lib/browser.mjs';
import { serveStatic } from '../lib/static.mjs';
import { ROOT, TARGET, VEIL, SYNTH, cliDeidHead } from '../lib/cli-deid.mjs';

const PORTAL = join(ROOT, 'e2e', 'portal');
const PKG = process.env.VEIL_NPM_WEB ?? join(TARGET, 'npm', 'web');
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' blob:; base-uri 'none'; form-action 'none'";
const NOW = 1_790_000_000;
const NONCE = '5a'.repeat(32);

let session;
let server;
let base;
let tmp;
before(async () => {
  for (const [what, path] of [['the web build of @veil/core (cargo xtask npm)', join(PKG, 'veil_core.js')], ['veil', VEIL], ['synth_model', SYNTH]]) {
    assert.ok(existsSync(path), `${what} is missing at ${path}`);
  }
  tmp = mkdtempSync(join(tmpdir(), 'veil-portal-'));
  // The portal's files, and the package under /pkg/.
  ({ server, base } = await serveStatic([['/pkg/', PKG], ['/', PORTAL]], CSP));
  session = await launch();
});
after(async () => {
  await session?.close();
  server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function openPortal() {
  const opened = await openPage(session.browser);
  await opened.page.goto(base + '/', { waitUntil: 'load' });
  await opened.page.waitForSelector('[data-testid="portal-status"][data-ready="true"]', { timeout: 30000 });
  return opened;
}

/** Only the portal's own files were requested: no upload, no third party. */
function assertNothingSent(requests) {
  for (const r of requests) {
    assert.ok(r.url.startsWith(base + '/') || r.url.startsWith('blob:'), `request to ${r.url}`);
    assert.equal(r.method, 'GET', `${r.method} ${r.url}`);
  }
}

test('a dropped model is de-identified on the package\'s worker pool, byte-identical to `veil deid --seed --report`', async () => {
  // Large enough that the native run splits its work over threads (reading in parts needs
  // 2 x 64 Ki facets) while the worker's wasm runs it in one: the bytes must still agree.
  const { model, sha256: expected, report: cliReport } = cliDeidHead(tmp, 200000, 42);

  const { page, errors, requests } = await openPortal();
  await page.type('[data-testid="seed"]', '42');
  // Drop the file on the drop zone as a user would (a DataTransfer carrying a File).
  const b64 = readFileSync(model).toString('base64');
  await page.evaluate((data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], 'head.stl', { type: 'model/stl' }));
    document.querySelector('[data-testid="drop-zone"]').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, b64);
  await page.waitForSelector('[data-testid="deid-result"][data-done="true"]', { timeout: 120000 });
  const report = JSON.parse(await page.$eval('[data-testid="deid-result"]', (el) => el.dataset.report ?? 'null'));
  assert.ok(report, await page.$eval('[data-testid="deid-result"]', (el) => el.textContent));
  assert.equal(report.deface.outcome, 'defaced');
  assert.equal(report.deterministic, true);
  assert.match(await page.$eval('[data-testid="deid-result"]', (el) => el.textContent), /face: defaced, surface moved \d+\.\d\d mm/);
  // The report is the CLI's, the Hausdorff figures included (measured in two workers here).
  assert.deepEqual(report, cliReport);
  // The pool's workers, from the package: two on two cores or more (the second measured the
  // report's first half while the first measured the second and wrote the output).
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const workers = page.workers().filter((w) => w.url().endsWith('/pkg/pool-worker.mjs'));
  assert.equal(workers.length, Math.min(cores, 2), workers.map((w) => w.url()).join(', '));

  // The download is the CLI's output, byte for byte.
  await page.waitForSelector('[data-testid="download"][data-sha256]');
  const got = await page.$eval('[data-testid="download"]', (a) => ({ sha256: a.dataset.sha256, href: a.href, hidden: a.hidden }));
  assert.equal(got.sha256, expected);
  assert.match(got.href, /^blob:/);
  assert.equal(got.hidden, false);

  // Progress came from the worker at least every 5 % and reached 1.
  const history = JSON.parse(await page.$eval('[data-testid="progress"]', (el) => el.dataset.history));
  assert.equal(history.at(-1), 1);
  history.reduce((last, f) => { assert.ok(f - last <= 0.05 + 1e-6, `progress ${last} -> ${f}`); return f; }, 0);

  assertNothingSent(requests);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a device reading is verified in the page; a tampered one is rejected with the CLI code', async () => {
  const dir = join(tmp, 'devices');
  execFileSync(VEIL, ['device', 'provision', '--out', dir, '--manufacturer', 'Acme Medical', '--devices', '1', '--prefix', 'BP7', '--now', String(NOW)]);
  const reading = join(tmp, 'reading.cose');
  execFileSync(VEIL, ['device', 'sign', '--key', join(dir, 'BP7-000001.key.pem'), '--cert', join(dir, 'BP7-000001.cert.pem'),
    '--counter', '7', '--nonce', NONCE, '--measurement', 'bp:128/82/97', '--ts', String(NOW), '-o', reading]);
  const tampered = join(tmp, 'tampered.cose');
  const bytes = readFileSync(reading);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(tampered, bytes);

  const { page, errors, requests } = await openPortal();
  const upload = async (id, path) => (await page.$(`[data-testid="${id}"]`)).uploadFile(path);
  await upload('reading-input', reading);
  await upload('chain-input', join(dir, 'BP7-000001.chain.pem'));
  await upload('roots-input', join(dir, 'root.cert.pem'));
  await page.type('[data-testid="nonce"]', NONCE);
  await page.type('[data-testid="now"]', String(NOW + 5));
  await page.click('[data-testid="verify"]');
  await page.waitForSelector('[data-testid="reading-result"][data-status]');
  const result = await page.$eval('[data-testid="reading-result"]', (el) => ({ status: el.dataset.status, text: el.textContent, reading: el.dataset.reading }));
  assert.equal(result.status, 'verified', result.text);
  assert.match(result.text, /128\/82 mmHg from Acme Medical device BP7-000001/);
  // The page's reading is the CLI's verdict, field for field.
  const cli = JSON.parse(execFileSync(VEIL, ['device', 'verify', '--trust', join(dir, 'root.cert.pem'), '--chain', join(dir, 'BP7-000001.chain.pem'),
    '--nonce', NONCE, '--now', String(NOW + 5), reading], { encoding: 'utf8' }));
  delete cli.status;
  assert.deepEqual(JSON.parse(result.reading), cli);

  await upload('reading-input', tampered);
  await page.click('[data-testid="verify"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="reading-result"]').dataset.status === 'rejected');
  const code = await page.$eval('[data-testid="reading-result"]', (el) => el.dataset.code);
  let cliReason;
  try {
    execFileSync(VEIL, ['device', 'verify', '--trust', join(dir, 'root.cert.pem'), '--chain', join(dir, 'BP7-000001.chain.pem'), '--now', String(NOW + 5), tampered], { encoding: 'utf8' });
  } catch (e) {
    cliReason = JSON.parse(e.stdout).reason;
  }
  assert.equal(code, 'bad-signature');
  assert.equal(code, cliReason);

  assertNothingSent(requests);
  assert.deepEqual(errors, []);
  await page.close();
});
