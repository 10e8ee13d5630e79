// The Consent page: jurisdiction confirmed by the person, give and withdraw per purpose with the
// deciding rule and citation shown, receipts, FHIR export, the guardian flow for a minor, and a clinic
// kiosk session that leaves nothing of the patient behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { dumpStorage } from '../lib/storage.mjs';
import { captureDownloads } from '../lib/downloads.mjs';
import { DevicesPage, TrustedManufacturers } from '../lib/devices-page.mjs';
import { BluetoothEmulator, VeilCuff, provision } from '../lib/device-sim.mjs';

let session;
let downloads;
before(async () => {
  session = await launch();
  downloads = await captureDownloads(session.browser);
});
after(async () => { downloads?.close(); await session?.close(); });

const STAFF = 'NURSE-4711';
const GUARDIAN = 'Erika Mustermann';

async function outcome(page, id) {
  return page.$eval(`[data-testid="decision-${id}"]`, (el) => el.dataset.outcome);
}

async function setup(page, { jurisdiction, second = '', age, guardian }) {
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', jurisdiction);
  if (second) await page.select('[data-testid="consent-jurisdiction-2"]', second);
  await page.type('[data-testid="consent-age"]', String(age));
  if (guardian) {
    await page.waitForSelector('[data-testid="consent-guardian"]');
    await page.type('[data-testid="consent-guardian"]', guardian);
  }
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="purpose-treatment"]');
}

test('give and withdraw research consent under GDPR, with receipts and FHIR export', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = new VeilApp(page);
  await app.open('/consent');
  await setup(page, { jurisdiction: 'DE', age: 34 });

  assert.equal(await outcome(page, 'research-this-study'), 'needs-consent');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'allow');
  const citations = await page.$eval('[data-testid="decision-research-this-study"]', (el) => el.textContent);
  assert.match(citations, /GDPR Art\. 9\(2\)\(a\)/);
  assert.match(await page.$eval('[data-testid="standing-research-this-study"]', (el) => el.textContent), /^Given /);
  // A broader tier is not covered by consent to this study.
  assert.equal(await outcome(page, 'research-any-research'), 'needs-consent');

  // Withdrawal is one click, as easy as giving (GDPR Art. 7(3)).
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'deny');
  assert.match(await page.$eval('[data-testid="standing-research-this-study"]', (el) => el.textContent), /^Withdrawn /);

  const history = await page.$$eval('[data-testid="history-event"]', (els) => els.map((e) => e.textContent));
  assert.equal(history.length, 2);
  assert.match(history[0], /withdrawn/);
  assert.match(history[1], /given/);

  // One receipt per change, downloadable as JSON and printable HTML.
  const receipts = await page.$$('[data-testid="receipt"]');
  assert.equal(receipts.length, 2);
  await page.click('[data-testid="receipt"] [data-testid="receipt-json"]');
  const receipt = JSON.parse((await downloads.take('consent-receipt-2.json')).toString());
  assert.ok(JSON.stringify(receipt).includes('withdraw'), 'the newest receipt records the withdrawal');
  await page.click('[data-testid="receipt"] [data-testid="receipt-html"]');
  const html = (await downloads.take('consent-receipt-2.html')).toString();
  assert.match(html, /<html/i);

  await page.click('[data-testid="consent-export-fhir"]');
  const bundle = JSON.parse((await downloads.take('veil-consent-fhir.json')).toString());
  assert.equal(bundle.resourceType, 'Bundle');
  const consents = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === 'Consent');
  assert.ok(consents.length >= 1);
  assert.ok(consents.some((c) => c.status === 'inactive'), 'the withdrawn consent is inactive');

  // The choice survives a reload: it is derived from the stored ledger.
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid="purpose-treatment"]');
  assert.equal(await outcome(page, 'research-this-study'), 'deny');
  assert.deepEqual(errors, []);
  await page.close();
});

test('an audit entry that cannot be appended is shown, never dropped', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await setup(page, { jurisdiction: 'DE', age: 34 });
  // Damage the stored chain (as a failing disk or a tampered store would): the next append cannot
  // read the chain it extends, so it fails with the audit crate's code.
  await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('veil-patient-outbox');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('audit', 'readwrite');
      tx.objectStore('audit').put('not a json line', '999999999999');
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }));
  assert.equal(await page.$('[data-testid="audit-failure"]'), null);
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'allow');
  // The consent is given (it is the person's choice) and the missing log entry is said out loud.
  const alert = await page.waitForSelector('[data-testid="audit-failure"]', { timeout: 10_000 });
  assert.equal(await alert.evaluate((el) => el.getAttribute('role')), 'alert');
  assert.equal(await alert.evaluate((el) => el.dataset.code), 'bad-line');
  assert.match(await alert.evaluate((el) => el.textContent), /not recorded in the audit log/);
  await context.close();
});

test('a minor under GDPR needs the guardian; an EU resident treated in the US meets both regimes', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'DE');
  await page.select('[data-testid="consent-jurisdiction-2"]', 'US');
  await page.type('[data-testid="consent-age"]', '14');
  await page.waitForSelector('[data-testid="consent-minor"]');
  await page.type('[data-testid="consent-guardian"]', GUARDIAN);
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="purpose-marketing"]');
  const marketing = await page.$eval('[data-testid="decision-marketing"]', (el) => el.textContent);
  assert.equal(await outcome(page, 'marketing'), 'needs-consent');
  assert.match(marketing, /guardian/i);
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => /by the guardian/.test(document.querySelector('[data-testid="standing-research-this-study"]')?.textContent ?? ''));
  const rules = await page.$eval('[data-testid="decision-research-this-study"]', (el) => el.textContent);
  assert.match(rules, /gdpr/i);
  assert.match(rules, /hipaa/i);
  await context.close();
});

test('ending a kiosk session wipes everything of the patient from the device', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.type('[data-testid="kiosk-staff-id"]', STAFF);
  await page.click('[data-testid="kiosk-start"]');
  await page.waitForSelector('[data-testid="kiosk-end"]');
  await setup(page, { jurisdiction: 'FR', age: 12, guardian: GUARDIAN });
  await page.click('[data-testid="toggle-treatment"]');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-event"]').length === 2);
  assert.match(await page.$eval('[data-testid="consent-history"]', (el) => el.textContent), new RegExp(STAFF));

  const before = await dumpStorage(page);
  assert.ok(before.includes(GUARDIAN), 'the session did store the patient (the check below can fail)');
  // The patient's blood pressure, read from a paired cuff and on screen: held in memory only
  // (the paired-device registry outlives page changes), so a storage wipe alone would leave it.
  const emulator = await BluetoothEmulator.start(session.browser);
  const keys = provision({ manufacturer: 'Kiosk Medical', model: 'BP7 Cuff', serial: 'KSK-1' });
  const cuff = new VeilCuff({ name: 'Kiosk cuff', serial: 'KSK-1', model: 'BP7 Cuff', ...keys, counter: 3,
    reading: { systolic: 187, diastolic: 113, meanArterial: 138 } });
  await emulator.add(cuff);
  await app.navigate('settings');
  const trusted = await new TrustedManufacturers(page).importPem(keys.rootPem);
  assert.equal(trusted.state, 'ok', trusted.text);
  await app.navigate('devices');
  const card = await new DevicesPage(page).pair(cuff);
  const row = await card.takeReading();
  assert.match(row.value ?? '', /187/, 'the reading is on screen (the check below can fail)');
  await app.navigate('consent');

  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('[data-testid="kiosk-end"]')]);
  await page.waitForSelector('[data-testid="consent-setup"]');
  const afterWipe = await dumpStorage(page);
  for (const planted of [GUARDIAN, STAFF, 'veil.patient.', '"ledger"']) {
    assert.ok(!afterWipe.includes(planted), `${planted} is gone from storage: ${afterWipe.slice(0, 400)}`);
  }
  // Nothing of the patient is left in memory either: no paired cuff, no reading.
  await app.navigate('devices');
  await page.waitForSelector('[data-testid="page-devices"]');
  assert.equal(await page.$('[data-testid="device-card"]'), null, 'the previous patient\'s device is gone');
  assert.equal(await page.$('[data-testid="reading"]'), null, 'the previous patient\'s reading is gone');
  // And it does not come back on reload.
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid="page-devices"]');
  await context.close();
});
