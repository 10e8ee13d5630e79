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

test('recipients are entered with their keys; consents choose one; receipts name its controller', async () => {
  const context = await session.browser.createBrowserContext();
  await downloads.context(context);
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  // Before any recipient exists: no invented partner or country.
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'DE');
  await page.type('[data-testid="consent-age"]', '45');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="purpose-treatment"]');
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
