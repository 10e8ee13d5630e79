// Leaving nothing of a patient behind (issue 16): ending a clinic kiosk session, and "Forget me" on
// a person's own device. Before the wipe the patient is everywhere the app keeps anything: the
// consent ledger with the guardian and the staff member, a paired cuff and its reading on the Devices
// page, a de-identified model and its report on the Models page, a sealed upload in the Outbox, the
// audit chain, the clinic connection. After it, the app is at a clean start page, and every page
// (in its loaded state) and every storage area (localStorage, sessionStorage, every IndexedDB
// record, every non-shell cache) is read and holds nothing of the previous patient, also after the
// Back button and a reload. "Forget me" first tells the server (the erasure is recorded for the
// delivered artifact) and refuses to wipe while it cannot (offline), deleting nothing then.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, setOffline } from '../lib/browser.mjs';
import { ROUTES, VeilApp } from '../lib/app.mjs';
import { dumpStorage } from '../lib/storage.mjs';
import { OutboxPage } from '../lib/outbox-page.mjs';
import { ClinicSettings, connectClinic } from '../lib/clinic.mjs';
import { DevicesPage, TrustedManufacturers } from '../lib/devices-page.mjs';
import { BluetoothEmulator, VeilCuff, provision } from '../lib/device-sim.mjs';
import { axeViolations } from '../lib/a11y.mjs';
import { screenshot } from '../lib/screenshots.mjs';

const serious = (violations) => violations.filter((v) => ['serious', 'critical'].includes(v.impact));

const STAFF = 'NURSE-4711';
const GUARDIAN = 'Erika Mustermann';
const PLANTED = ['Zed Kioskpatient', 'MRN-5550123'];

let session;
let model;
before(async () => {
  session = await launch();
  const dir = mkdtempSync(join(tmpdir(), 'veil-wipe-'));
  model = join(dir, `${PLANTED[0]}.stl`);
  // A small closed tetrahedron in binary STL, its header naming the patient.
  const tris = [
    [[0, 0, 0], [0, 10, 0], [10, 0, 0]], [[0, 0, 0], [10, 0, 0], [0, 0, 10]],
    [[0, 0, 0], [0, 0, 10], [0, 10, 0]], [[10, 0, 0], [0, 10, 0], [0, 0, 10]],
  ];
  const buf = Buffer.alloc(84 + 50 * tris.length);
  buf.write(`${PLANTED[0]} ${PLANTED[1]}`, 0, 'latin1');
  buf.writeUInt32LE(tris.length, 80);
  tris.forEach((t, i) => t.flat().forEach((v, j) => buf.writeFloatLE(v, 84 + 50 * i + 12 + 4 * j)));
  writeFileSync(model, buf);
});
after(async () => { await session?.close(); });

const serverStatus = async (id) => (await fetch(`${process.env.VEIL_URL}/v1/artifacts/${id}`)).json();

async function setup(page, { jurisdiction, age, guardian }) {
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', jurisdiction);
  await page.type('[data-testid="consent-age"]', String(age));
  if (guardian) {
    await page.waitForSelector('[data-testid="consent-guardian"]');
    await page.type('[data-testid="consent-guardian"]', guardian);
  }
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="purpose-treatment"]');
}

async function give(page, id) {
  await page.click(`[data-testid="toggle-${id}"]`);
  await page.waitForFunction((i) => document.querySelector(`[data-testid="standing-${i}"]`)?.textContent.startsWith('Given'), {}, id);
}

/** Every page's text once it has loaded what it shows (its own async reads included). */
async function readEveryPage(page) {
  const app = new VeilApp(page);
  const out = {};
  for (const route of ROUTES) {
    await app.navigate(route);
    // Pages read IndexedDB on mount; give every read time to land, then wait for no "Loading".
    await new Promise((r) => setTimeout(r, 1500));
    await page.waitForFunction(() => !/Loading\.\.\./.test(document.querySelector('main').innerText), { timeout: 15000 }).catch(() => {});
    out[route] = await page.$eval('main', (el) => {
      const values = [...el.querySelectorAll('input, select, textarea')].map((i) => i.value).join(' ');
      return `${el.innerText} ${values}`;
    });
  }
  return out;
}

function assertNothingOf(markers, pages, storage, when) {
  for (const marker of markers) {
    for (const [route, text] of Object.entries(pages)) {
      assert.ok(!text.includes(marker), `${when}: ${marker} is still on the ${route} page: ${text.slice(0, 300)}`);
    }
    assert.ok(!storage.includes(marker), `${when}: ${marker} is still in storage: ${storage.slice(0, 300)}`);
  }
}

/** The app restarted at its start page (`/`, the Devices page) in a fresh document. */
async function atCleanStart(page) {
  await page.waitForFunction(() => location.pathname === '/' && document.querySelector('[data-testid="page-devices"]'), { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.__beforeWipe), undefined, 'a fresh document, not the old one');
}

test('ending a kiosk session leaves nothing of the patient on any page or in any storage', { timeout: 300000 }, async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.type('[data-testid="kiosk-staff-id"]', STAFF);
  await page.click('[data-testid="kiosk-start"]');
  await page.waitForSelector('[data-testid="kiosk-end"]');
  // A 12-year-old in France with her guardian: her consent to research and the clinic's treatment.
  await setup(page, { jurisdiction: 'FR', age: 12, guardian: GUARDIAN });
  await give(page, 'treatment');
  await give(page, 'research-this-study');
  assert.match(await page.$eval('[data-testid="consent-history"]', (el) => el.textContent), new RegExp(STAFF));
  const clinic = await connectClinic(page);
  assert.equal(clinic.state, 'ok');
  const kid = (await new ClinicSettings(page).connection()).kid;
  assert.ok(kid, 'the connection is shown (the check below can fail)');

  // Her blood pressure from a paired cuff, on screen (held in memory only).
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

  // Her scan, de-identified on the Models page and sealed for a use the law allows now: in the Outbox.
  await app.navigate('consent');
  const allowed = [];
  for (const [id, label] of [['treatment', 'treatment'], ['research-this-study', 'research/this-study']]) {
    if (await page.$eval(`[data-testid="decision-${id}"]`, (el) => el.dataset.outcome) === 'allow') allowed.push(label);
  }
  assert.ok(allowed.length > 0, 'treatment or research is allowed for her with her guardian');
  const outbox = new OutboxPage(page);
  const earlier = new Set(await outbox.ids());
  const status = await outbox.trySealModel(model, allowed[0]);
  assert.match(status, /Sealed and queued/);
  assert.ok(await page.$('[data-testid="model-report"]'), 'the model report is on screen (the check below can fail)');
  const modelsPage = await page.$eval('main', (el) => el.innerText);
  // The Outbox list updates after the seal is stored: wait for the new item.
  let artifact;
  for (let tries = 0; tries < 100 && !artifact; tries += 1) {
    artifact = (await outbox.ids()).find((i) => !earlier.has(i));
    if (!artifact) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(artifact ?? '', /^[0-9a-f]{64}$/);

  const markers = [GUARDIAN, STAFF, kid, artifact, PLANTED[0], 'KSK-1', 'Kiosk cuff', '187/113'];
  const beforePages = await readEveryPage(page);
  const beforeStorage = await dumpStorage(page);
  const shown = `${Object.values(beforePages).join('\n')}\n${modelsPage}`;
  for (const marker of [GUARDIAN, STAFF, kid, artifact, 'Kiosk cuff']) {
    assert.ok(shown.includes(marker), `${marker} is shown before the wipe (the check below can fail)`);
  }
  for (const marker of [GUARDIAN, STAFF, artifact]) {
    assert.ok(beforeStorage.includes(marker), `${marker} is stored before the wipe (the check below can fail)`);
  }

  await app.navigate('consent');
  await page.evaluate(() => { window.__beforeWipe = true; });
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('[data-testid="kiosk-end"]')]);
  await atCleanStart(page);
  await screenshot(page, 'kiosk-after-end');
  assert.equal(await page.$('[data-testid="device-card"]'), null, 'no paired device');
  assert.equal(await page.$('[data-testid="reading"]'), null, 'no reading');
  const storageNow = await dumpStorage(page);
  for (const gone of ['veil.patient.']) assert.ok(!storageNow.includes(gone), `${gone} is gone from storage`);
  const pagesNow = await readEveryPage(page);
  assertNothingOf(markers, pagesNow, await dumpStorage(page), 'after the wipe');
  assert.match(pagesNow.consent, /Who decides/, 'the Consent page asks the next patient from the start');
  assert.equal((await new ClinicSettings(page).connection()).state, 'not-connected');

  // The Back button does not bring the previous patient's document back, nor does a reload.
  await page.goBack({ waitUntil: 'load' }).catch(() => {});
  await new Promise((r) => setTimeout(r, 2000));
  await page.waitForSelector('[data-testid^="page-"]', { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.__beforeWipe), undefined, 'Back shows a fresh document');
  const back = await page.$eval('main', (el) => el.innerText);
  for (const marker of markers) assert.ok(!back.includes(marker), `after Back: ${marker} is on screen`);
  await page.reload({ waitUntil: 'load' });
  assertNothingOf(markers, await readEveryPage(page), await dumpStorage(page), 'after a reload');
  await context.close();
});

test('"Forget me" tells the server first, refuses to wipe while it cannot, then leaves nothing', { timeout: 300000 }, async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await setup(page, { jurisdiction: 'DE', age: 41 });
  await give(page, 'research-this-study');
  await connectClinic(page);
  const kid = (await new ClinicSettings(page).connection()).kid;
  const outbox = new OutboxPage(page);
  const artifact = await outbox.sealModel(model, 'research/this-study');
  await outbox.waitForState(artifact, 'delivered');
  assert.equal((await serverStatus(artifact)).subject_erased, false);
  await app.waitForServiceWorkerControl();

  // Offline, the erasure cannot reach the server: nothing is deleted, and the person is told why.
  await setOffline(page, true);
  await app.navigate('settings');
  await page.click('[data-testid="forget-me"]');
  await page.waitForSelector('[data-testid="forget-confirm"]');
  await screenshot(page, 'settings-forget-me');
  assert.deepEqual(serious(await axeViolations(page, 'main')), [], 'Settings asking to confirm Forget me passes axe');
  await page.click('[data-testid="forget-confirm"]');
  await page.waitForSelector('[data-testid="forget-status"][data-state="error"]', { timeout: 30000 });
  assert.equal(await page.$eval('[data-testid="forget-status"]', (el) => el.dataset.code), 'waiting');
  assert.ok((await dumpStorage(page)).includes('veil.patient.consent-session'), 'nothing was wiped while the server could not be told');
  assert.equal((await serverStatus(artifact)).subject_erased, false);

  // Online again: the erasure is delivered, then everything goes.
  await setOffline(page, false);
  await page.evaluate(() => { window.__beforeWipe = true; });
  await page.click('[data-testid="forget-me"]');
  await page.waitForSelector('[data-testid="forget-confirm"]');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: 60000 }), page.click('[data-testid="forget-confirm"]')]);
  await atCleanStart(page);
  assert.equal((await serverStatus(artifact)).subject_erased, true, 'the server recorded the erasure');
  assert.equal((await serverStatus(artifact)).status, 'delivered', 'the clinical record stays where law requires it');
  const storage = await dumpStorage(page);
  for (const gone of ['veil.patient.']) assert.ok(!storage.includes(gone), `${gone} is gone from storage`);
  assertNothingOf([kid, artifact, PLANTED[0]], await readEveryPage(page), await dumpStorage(page), 'after Forget me');
  await context.close();
});

test('an unused kiosk session warns, goes on when asked, then ends by itself and leaves nothing of the patient', { timeout: 180000 }, async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  // Settings keeps the wait in whole minutes; the test then sets a 30 s wait (20 s is the least).
  await app.open('/settings');
  await page.$eval('[data-testid="kiosk-idle-minutes"]', (el) => { el.value = ''; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.type('[data-testid="kiosk-idle-minutes"]', '2');
  await page.click('[data-testid="kiosk-idle-save"]');
  await page.waitForSelector('[data-testid="kiosk-idle-status"][data-state="ok"]');
  assert.equal(await page.evaluate(() => localStorage.getItem('veil.config.kiosk-idle-seconds')), '120');
  await page.evaluate(() => localStorage.setItem('veil.config.kiosk-idle-seconds', '30'));

  await app.navigate('consent');
  await page.type('[data-testid="kiosk-staff-id"]', STAFF);
  await page.click('[data-testid="kiosk-start"]');
  await page.waitForSelector('[data-testid="kiosk-end"]');
  await setup(page, { jurisdiction: 'DE', age: 41 });
  await give(page, 'research-this-study');
  assert.ok((await dumpStorage(page)).includes(STAFF), 'the kiosk session is stored (the check below can fail)');
  await page.evaluate(() => { window.__beforeWipe = true; });
  assert.deepEqual(serious(await axeViolations(page)), [], 'axe loaded before the warning');

  // Left alone, the kiosk warns for the last 10 s of the 30 s wait; the patient goes on.
  const warning = await page.waitForSelector('[data-testid="kiosk-idle"]', { timeout: 40000 });
  assert.equal(await warning.evaluate((el) => el.getAttribute('role')), 'alertdialog');
  const left = Number(await warning.evaluate((el) => el.dataset.left));
  assert.ok(left >= 1 && left <= 10, `seconds left ${left}`);
  assert.deepEqual(serious(await axeViolations(page)), []);
  await page.click('[data-testid="kiosk-idle-continue"]');
  await page.waitForSelector('[data-testid="kiosk-idle"]', { hidden: true });
  assert.equal(await page.evaluate(() => window.__beforeWipe), true, 'still the same session');
  assert.ok((await dumpStorage(page)).includes(STAFF), 'nothing was wiped while the patient went on');

  // Left alone again: the session ends as if staff had ended it.
  await page.waitForNavigation({ waitUntil: 'load', timeout: 60000 });
  await atCleanStart(page);
  const storage = await dumpStorage(page);
  assert.ok(!storage.includes('veil.patient.'), 'no patient key left');
  assert.ok(!storage.includes(STAFF), 'nothing of the kiosk session left');
  assert.equal(await page.evaluate(() => localStorage.getItem('veil.config.kiosk-idle-seconds')), '30', 'the setting stays');
  await app.navigate('consent');
  await page.waitForSelector('[data-testid="kiosk-staff-id"]');
  await context.close();
});

test('a browser that cannot list its databases still loses the patient databases when a kiosk session ends', { timeout: 180000 }, async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  // As in Firefox before 126: no indexedDB.databases().
  await page.evaluateOnNewDocument(() => { delete IDBFactory.prototype.databases; });
  const app = new VeilApp(page);
  await app.open('/consent');
  assert.equal(await page.evaluate(() => typeof indexedDB.databases), 'undefined');
  await page.type('[data-testid="kiosk-staff-id"]', STAFF);
  await page.click('[data-testid="kiosk-start"]');
  await page.waitForSelector('[data-testid="kiosk-end"]');
  await setup(page, { jurisdiction: 'DE', age: 41 });
  await give(page, 'research-this-study');
  // The patient's outbox database: the consent changes are in its audit chain.
  const audited = () => page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('veil-patient-outbox');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('audit')) { db.close(); resolve(0); return; }
      const count = db.transaction('audit').objectStore('audit').count();
      count.onsuccess = () => { db.close(); resolve(count.result); };
      count.onerror = () => reject(count.error);
    };
  }));
  assert.ok((await audited()) > 0, 'the outbox database holds audit entries (the check below can fail)');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: 60000 }), page.click('[data-testid="kiosk-end"]')]);
  await atCleanStart(page);
  assert.equal(await audited(), 0, 'the outbox database was deleted (the app opens a new, empty one)');
  // (dumpStorage lists databases, which this browser cannot.)
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('veil.patient.'))), [],
    'no patient key left');
  await context.close();
});
