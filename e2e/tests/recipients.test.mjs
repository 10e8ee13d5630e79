// Recipients in Settings (issue 16): nothing is invented (no "Partner portal", no "US", no
// example.invalid controller); a recipient is entered with its key fetched from this clinic's
// /v1/recipient-key or imported, its country, transfer safeguard and controller; partner sharing
// and cross-border transfer choose one; receipts name the real controller.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { captureDownloads } from '../lib/downloads.mjs';
import { axeViolations } from '../lib/a11y.mjs';
import { screenshot } from '../lib/screenshots.mjs';

const serious = (violations) => violations.filter((v) => ['serious', 'critical'].includes(v.impact));

let session;
let downloads;
before(async () => {
  session = await launch();
  downloads = await captureDownloads(session.browser);
});
after(async () => { downloads?.close(); await session?.close(); });

const CLINIC = { name: 'Klinikum Beispiel research', country: 'DE', controller: 'Klinikum Beispiel', email: 'datenschutz@klinikum-beispiel.test', address: 'Beispielstr. 1, 10115 Berlin' };
const PARTNER = { name: 'Atlas Printing Inc', country: 'US', mechanism: 'dpf', controller: 'Atlas Printing Inc.', email: 'privacy@atlas-printing.test', address: '1 Main St, Springfield' };

async function fill(page, r) {
  for (const key of ['name', 'country', 'controller', 'email', 'address']) {
    await page.$eval(`[data-testid="recipient-${key}"]`, (el) => { el.value = ''; });
    await page.type(`[data-testid="recipient-${key}"]`, r[key]);
  }
  await page.select('[data-testid="recipient-mechanism"]', r.mechanism ?? '');
}

/** A fresh browser context with a 45-year-old patient in Germany confirmed on the Consent page. */
async function germanPatient() {
  const context = await session.browser.createBrowserContext();
  await downloads.context(context);
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'DE');
  await page.type('[data-testid="consent-age"]', '45');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="purpose-treatment"]');
  return { context, page, app };
}

test('recipients are entered with their keys; consents choose one; receipts name its controller', async () => {
  // Before any recipient exists: no invented partner or country.
  const { context, page, app } = await germanPatient();
  const board = await page.$eval('[data-testid="page-consent"]', (el) => el.textContent);
  assert.ok(!board.includes('Partner portal'), 'no invented partner');
  assert.ok(await page.$('[data-testid="consent-no-recipients"]'), 'the page says no recipient is set up');
  assert.equal(await page.$('[data-testid^="purpose-partner-sharing"]'), null);
  assert.equal(await page.$('[data-testid^="purpose-cross-border-transfer"]'), null);

  await app.navigate('settings');
  await page.waitForSelector('[data-testid="recipients-none"]');
  // A bad import is refused with a code, nothing kept.
  await page.type('[data-testid="recipient-import"]', '{"kid":"00","public_key":"zz"}');
  await page.click('[data-testid="recipient-import-key"]');
  await page.waitForSelector('[data-testid="recipient-error"]');
  assert.equal(await page.$eval('[data-testid="recipient-error"]', (el) => el.dataset.code), 'recipient-unknown');
  // This clinic's server: the key fetched from /v1/recipient-key.
  await fill(page, CLINIC);
  await page.click('[data-testid="recipient-fetch"]');
  await page.waitForSelector('[data-testid="recipient-key"]');
  assert.match(await page.$eval('[data-testid="recipient-key"]', (el) => el.textContent), /fetched .*\/v1\/recipient-key/);
  await page.click('[data-testid="recipient-save"]');
  await page.waitForSelector(`[data-testid="recipient"][data-name="${CLINIC.name}"]`);
  // A partner abroad: its key imported (what its server announces), a DPF safeguard.
  const announced = await (await fetch(`${process.env.VEIL_URL}/v1/recipient-key`)).text();
  await fill(page, PARTNER);
  await page.$eval('[data-testid="recipient-import"]', (el) => { el.value = ''; });
  await page.type('[data-testid="recipient-import"]', announced);
  await page.click('[data-testid="recipient-import-key"]');
  await page.waitForFunction(() => /imported/.test(document.querySelector('[data-testid="recipient-key"]')?.textContent ?? ''));
  await page.click('[data-testid="recipient-save"]');
  await page.waitForSelector(`[data-testid="recipient"][data-name="${PARTNER.name}"]`);
  await screenshot(page, 'settings-recipients');
  assert.deepEqual(serious(await axeViolations(page, 'main')), [], 'Settings with recipients passes axe');
  const listed = await page.$eval('[data-testid="recipients-list"]', (el) => el.textContent);
  assert.match(listed, /dpf/);
  assert.match(listed, /privacy@atlas-printing\.test/);

  // The Consent page: partner sharing and the transfer name the partner and its country.
  await app.navigate('consent');
  const share = '[data-testid="purpose-partner-sharing-atlas-printing-inc"]';
  const transfer = '[data-testid="purpose-cross-border-transfer-us"]';
  await page.waitForSelector(share);
  await page.waitForSelector(transfer);
  assert.match(await page.$eval(share, (el) => el.textContent), /Atlas Printing Inc/);
  assert.match(await page.$eval(transfer, (el) => el.textContent), /US/);
  assert.match(await page.$eval(transfer, (el) => el.textContent), /dpf/);
  await page.click('[data-testid="toggle-partner-sharing-atlas-printing-inc"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="receipt"]').length === 1);
  await page.click('[data-testid="receipt"] [data-testid="receipt-json"]');
  const receipt = (await downloads.take('consent-receipt-1.json')).toString();
  assert.ok(receipt.includes(PARTNER.controller) && receipt.includes(PARTNER.email), `the partner's controller is named: ${receipt.slice(0, 400)}`);
  assert.ok(!receipt.includes('example.invalid'));
  // Research stays with the clinic: its receipt names the clinic's controller.
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="receipt"]').length === 2);
  await page.click('[data-testid="receipt"] [data-testid="receipt-json"]');
  const research = (await downloads.take('consent-receipt-2.json')).toString();
  assert.ok(research.includes(CLINIC.controller) && research.includes(CLINIC.email), `the clinic's controller is named: ${research.slice(0, 400)}`);
  await context.close();
});

/** A second clinic server (`veil serve` on its own data folder and port): its URL, data folder and a stop function. */
async function secondServer() {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const net = await import('node:net');
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
  });
  const data = mkdtempSync(join(tmpdir(), 'veil-second-clinic-'));
  const child = spawn(process.env.VEIL_BIN, ['serve', '--port', String(port), '--dist', process.env.VEIL_DIST, '--data', data], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const r = await fetch(`${url}/v1/recipient-key`);
      if (r.ok) return { url, data, key: await r.text(), stop: () => child.kill() };
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { child.kill(); throw new Error('the second veil serve did not start'); }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `veil open` of an envelope with a server's recipient key: the opened file names, or the error. */
async function openWith(dataDir, envelope) {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, readdirSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const work = mkdtempSync(join(tmpdir(), 'veil-handed-'));
  const file = join(work, 'artifact.veil');
  writeFileSync(file, envelope);
  try {
    execFileSync(process.env.VEIL_BIN, ['open', '--key', join(dataDir, 'recipient-key.pem'), file, '-o', join(work, 'out')], { stdio: 'pipe' });
    return { files: readdirSync(join(work, 'out')) };
  } catch (e) {
    return { error: String(e.stderr ?? e) };
  }
}

test('partner sharing and transfers are sealed to the chosen recipient and delivered where it receives', { timeout: 240000 }, async () => {
  const { writeTetrahedron } = await import('../lib/stl.mjs');
  const { OutboxPage } = await import('../lib/outbox-page.mjs');
  const { connectClinic } = await import('../lib/clinic.mjs');
  const { storedFiles } = await import('../lib/egress.mjs');
  const second = await secondServer();
  try {
    const model = writeTetrahedron('scan.stl', 14);

    const { context, page, app } = await germanPatient();
    await connectClinic(page);
    // A partner on this clinic's server (key fetched here), a partner abroad on another clinic's
    // server (its announced key, with the server's URL), and one that takes files (no server).
    const LOCAL = { name: 'Beispiel Orthopaedics', country: 'DE', controller: 'Beispiel Orthopaedics GmbH', email: 'privacy@beispiel-ortho.test', address: 'Hauptstr. 2, Berlin' };
    const REMOTE = { name: 'Harbor Research Clinic', country: 'US', mechanism: 'dpf', controller: 'Harbor Research Clinic LLC', email: 'privacy@harbor.test', address: '2 Pier Rd, Boston' };
    const COURIER = { name: 'Alpine Print Lab', country: 'CH', controller: 'Alpine Print Lab AG', email: 'privacy@alpine.test', address: 'Seestr. 3, Zürich' };
    await page.waitForSelector('[data-testid="recipient-form"]');
    await fill(page, LOCAL);
    await page.click('[data-testid="recipient-fetch"]');
    await page.waitForSelector('[data-testid="recipient-key"]');
    await page.click('[data-testid="recipient-save"]');
    await page.waitForSelector(`[data-testid="recipient"][data-name="${LOCAL.name}"]`);
    for (const [r, server] of [[REMOTE, second.url], [COURIER, '']]) {
      await fill(page, r);
      await page.$eval('[data-testid="recipient-import"]', (el) => { el.value = ''; });
      await page.type('[data-testid="recipient-import"]', second.key);
      await page.click('[data-testid="recipient-import-key"]');
      await page.waitForFunction(() => /imported/.test(document.querySelector('[data-testid="recipient-key"]')?.textContent ?? ''));
      await page.$eval('[data-testid="recipient-server"]', (el) => { el.value = ''; });
      if (server) await page.type('[data-testid="recipient-server"]', server);
      await page.click('[data-testid="recipient-save"]');
      await page.waitForSelector(`[data-testid="recipient"][data-name="${r.name}"]`);
    }
    const listed = await page.$$eval('[data-testid="recipient"]', (els) => Object.fromEntries(els.map((el) => [el.dataset.name, el.textContent])));
    assert.match(listed[LOCAL.name], /uploaded to this clinic's server/);
    assert.ok(listed[REMOTE.name].includes(`receives at ${second.url}`), listed[REMOTE.name]);
    assert.match(listed[COURIER.name], /handed over as a file/);

    // Consent to share with each partner (GDPR: explicit consent); the transfer to the US rests on the DPF.
    await app.navigate('consent');
    for (const id of ['partner-sharing-beispiel-orthopaedics', 'partner-sharing-harbor-research-clinic', 'partner-sharing-alpine-print-lab']) {
      await page.waitForSelector(`[data-testid="toggle-${id}"]`);
      await page.click(`[data-testid="toggle-${id}"]`);
      await page.waitForFunction((i) => document.querySelector(`[data-testid="decision-${i}"]`)?.dataset.outcome === 'allow', {}, id);
    }
    assert.equal(await page.$eval('[data-testid="decision-cross-border-transfer-us"]', (el) => el.dataset.outcome), 'allow');

    const outbox = new OutboxPage(page);
    const sealFor = async (label) => {
      const status = await outbox.trySealModel(model, label);
      return status;
    };
    // On this server: queued, uploaded and stored here.
    const local = await sealFor(`partner-sharing(${LOCAL.name})`);
    assert.match(local, /Sealed and queued/);
    const ids = await outbox.ids();
    await outbox.waitForState(ids[0], 'delivered').catch(async (e) => {
      const row = await page.$eval(`[data-testid="outbox-item"][data-id="${ids[0]}"]`, (r) => `${r.dataset.state}: ${r.textContent}`);
      throw new Error(`${e.message}; the item is ${row}`);
    });
    assert.ok(storedFiles(process.env.VEIL_DATA).some((p) => p.includes(ids[0])), 'stored by this clinic');
    // On the other server: sealed to its key only, offered as a file naming where it receives.
    for (const [label, name] of [[`partner-sharing(${REMOTE.name})`, REMOTE.name], [`cross-border-transfer(US) to ${REMOTE.name}`, REMOTE.name], [`partner-sharing(${COURIER.name})`, COURIER.name]]) {
      const status = await sealFor(label);
      assert.ok(status.includes(`Sealed for ${name}`), status);
      if (name === REMOTE.name) assert.ok(status.includes(`receives at ${second.url}`), status);
      const file = status.match(/veil-[a-z-]+-[0-9a-f]{12}\.veil/)[0];
      const envelope = await downloads.take(file);
      const theirs = await openWith(second.data, envelope);
      assert.ok(theirs.files?.includes('model-1.stl'), `the recipient's key opens it: ${theirs.error}`);
      const ours = await openWith(process.env.VEIL_DATA, envelope);
      assert.ok(ours.error, 'this clinic\'s key does not open what was sealed to another recipient');
      assert.ok(!(await outbox.ids()).some((id) => file.includes(id.slice(0, 12))), 'a handed-over artifact is not queued here');
    }
    await screenshot(page, 'models-partner-handover');
    await context.close();
  } finally {
    second.stop();
  }
});
