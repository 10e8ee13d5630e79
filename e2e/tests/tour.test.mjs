// Every page in its main states (issue 16): axe-core finds no serious or critical WCAG 2.1 A/AA
// violation, and a screenshot of each is written (e2e/screenshots, for the README's tour).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { axeViolations } from '../lib/a11y.mjs';
import { screenshot } from '../lib/screenshots.mjs';

let session;
before(async () => { session = await launch(); });
after(async () => { await session?.close(); });

const serious = (violations) => violations.filter((v) => ['serious', 'critical'].includes(v.impact));

async function check(page, name) {
  await new Promise((r) => setTimeout(r, 800));
  await screenshot(page, name);
  const found = serious(await axeViolations(page, 'body'));
  assert.deepEqual(found, [], `${name}: ${JSON.stringify(found, null, 1).slice(0, 1500)}`);
}

test('every page, empty and in use, passes axe without serious or critical violations', { timeout: 180000 }, async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/devices');
  for (const route of ['devices', 'models', 'consent', 'outbox', 'audit', 'settings']) {
    await app.navigate(route);
    await check(page, `${route}-empty`);
  }
  // The Consent page in use: a minor with a guardian (capacity reasons shown), then the board.
  await app.navigate('consent');
  await page.select('[data-testid="consent-jurisdiction"]', 'FR');
  await page.type('[data-testid="consent-age"]', '12');
  await page.waitForSelector('[data-testid="consent-minor-reasons"] li');
  await check(page, 'consent-setup-minor');
  await page.type('[data-testid="consent-guardian"]', 'Erika Mustermann');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="purpose-research-this-study"]');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-event"]').length === 1);
  await check(page, 'consent-board-guardian');
  await app.navigate('outbox');
  await check(page, 'outbox-with-session');
  await app.navigate('audit');
  await check(page, 'audit-with-entries');
  await context.close();
});

test('the Devices page with a paired, trusted cuff and its readings, and the Models page with a processed model and its report, pass axe', { timeout: 240000 }, async () => {
  const { writeTetrahedron } = await import('../lib/stl.mjs');
  const { openPage } = await import('../lib/browser.mjs');
  const { DevicesPage, TrustedManufacturers } = await import('../lib/devices-page.mjs');
  const { BluetoothEmulator, VeilCuff, StandardCuff, provision } = await import('../lib/device-sim.mjs');
  const maker = provision({ manufacturer: 'Tour Medical', model: 'T1 Cuff', serial: 'T1-0001' });
  const cuff = new VeilCuff({ name: 'Tour cuff', serial: 'T1-0001', model: 'T1 Cuff', ...maker, counter: 11 });
  const plain = new StandardCuff({ name: 'Tour plain cuff' });
  const emulator = await BluetoothEmulator.start(session.browser);
  for (const device of [cuff, plain]) await emulator.add(device);
  const { page, errors } = await openPage(session.browser);
  const app = new VeilApp(page);
  await app.open('/settings');
  const trusted = new TrustedManufacturers(page);
  assert.equal((await trusted.importPem(maker.rootPem)).state, 'ok');
  await check(page, 'settings-with-manufacturer');
  await app.navigate('devices');
  const devices = new DevicesPage(page);
  const card = await devices.pair(cuff);
  assert.equal((await card.trust()).state, 'trusted');
  assert.equal((await card.takeReading()).status, 'verified');
  cuff.nextAnswer = 'flip';
  assert.equal((await card.takeReading()).reason, 'bad-signature', 'a rejected reading is on screen too');
  await devices.pair(plain);
  assert.equal((await card.readings()).length, 2);
  await check(page, 'devices-in-use');

  // A model opened, de-identified and reported on.
  const model = writeTetrahedron('knee scan.stl', 20, 'exported by scanner for Max Mustermann');
  await app.navigate('models');
  await page.waitForSelector('[data-testid="page-models"][data-worker="ready"]', { timeout: 30000 });
  await (await page.$('[data-testid="model-file"]')).uploadFile(model);
  await page.waitForSelector('[data-testid="model-report"]', { timeout: 120000 });
  await check(page, 'models-in-use');
  assert.deepEqual(errors, []);
  await page.close();
  assert.deepEqual(emulator.failures, [], 'every simulated GATT operation was answered');
});
