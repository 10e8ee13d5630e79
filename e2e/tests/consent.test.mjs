// The Consent page: jurisdiction confirmed by the person, give and withdraw per purpose with the
// deciding rule and citation shown, receipts, FHIR export, the guardian flow for a minor. (The end
// of a clinic kiosk session, which leaves nothing of the patient behind, is wipe.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { captureDownloads } from '../lib/downloads.mjs';

let session;
let downloads;
before(async () => {
  session = await launch();
  downloads = await captureDownloads(session.browser);
});
after(async () => { downloads?.close(); await session?.close(); });

const GUARDIAN = 'Erika Mustermann';

// The page's clock, shifted by `sessionStorage['e2e-clock-shift']` ms from every load on (the app
// reads Date.now()); the service worker keeps the real clock.
async function shiftableClock(page) {
  await page.evaluateOnNewDocument(() => {
    const shift = Number(sessionStorage.getItem('e2e-clock-shift') ?? '0');
    if (shift) { const real = Date.now; Date.now = () => real() + shift; }
  });
}

// Moves the page's clock `ms` from the real one and reloads the page.
async function shiftClock(page, ms) {
  await page.evaluate((m) => sessionStorage.setItem('e2e-clock-shift', String(m)), ms);
  await page.reload({ waitUntil: 'load' });
}

// Gives the consent of card `id` until tomorrow by the page's clock; waits for it to allow and
// returns the date.
async function consentUntilTomorrow(page, id) {
  const tomorrow = await page.evaluate(() => new Date(Date.now() + 86400000).toISOString().slice(0, 10));
  await page.$eval(`[data-testid="expiry-${id}"]`, (el, d) => { el.value = d; el.dispatchEvent(new Event('input', { bubbles: true })); }, tomorrow);
  await page.click(`[data-testid="toggle-${id}"]`);
  await page.waitForFunction((i) => document.querySelector(`[data-testid="decision-${i}"]`)?.dataset.outcome === 'allow', {}, id);
  return tomorrow;
}

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

// The stored audit line `key` ('000000000001' is the second entry) of this origin's outbox
// database, and a way to put another line in its place (as a tampered store would).
async function auditLine(page, key) {
  return page.evaluate((k) => new Promise((resolve, reject) => {
    const open = indexedDB.open('veil-patient-outbox');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction('audit').objectStore('audit').get(k);
      get.onsuccess = () => { open.result.close(); resolve(get.result); };
      get.onerror = () => reject(get.error);
    };
  }), key);
}

async function putAuditLine(page, key, line) {
  await page.evaluate((k, l) => new Promise((resolve, reject) => {
    const open = indexedDB.open('veil-patient-outbox');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('audit', 'readwrite');
      tx.objectStore('audit').put(l, k);
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), key, line);
}

async function auditStatus(page, valid) {
  await page.waitForFunction((v) => document.querySelector('[data-testid="audit-status"]')?.dataset.valid === v, { timeout: 15_000 }, valid);
  return page.$eval('[data-testid="audit-status"]', (el) => el.textContent);
}

test('an audit entry that cannot be appended is shown, never dropped', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await setup(page, { jurisdiction: 'DE', age: 34 });
  // Damage the stored chain (as a failing disk or a tampered store would): the next append cannot
  // read the chain it extends, so it fails with the audit crate's code.
  await putAuditLine(page, '999999999999', 'not a json line');
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

test('the Audit page checks only new entries each round, yet shows a change to one it had verified', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await setup(page, { jurisdiction: 'DE', age: 34 });
  for (const want of ['allow', 'deny', 'allow']) {
    await page.click('[data-testid="toggle-research-this-study"]');
    await page.waitForFunction((w) => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === w, {}, want);
  }
  await app.navigate('audit');
  assert.match(await auditStatus(page, 'true'), /Chain intact/);
  const n = await page.$$eval('[data-testid="audit-entry"]', (rows) => rows.length);
  assert.ok(n >= 3, `${n} entries`);

  // An entry the page verified earlier is changed in the store while the page stays open: a
  // later uploader round shows the chain broken at that entry, and intact once it is restored.
  const second = await auditLine(page, '000000000001');
  await putAuditLine(page, '000000000001', second.replace(/"actor":"[^"]*"/, '"actor":"mallory"'));
  let status = await auditStatus(page, 'false');
  assert.match(status, /Chain broken/);
  assert.match(status, /entry 1: hash-mismatch/);
  await putAuditLine(page, '000000000001', second);
  await auditStatus(page, 'true');

  // The last entry's signature changed, its hash left as it was: refused by the signature check
  // (WebCrypto's), at that entry.
  const lastKey = String(n - 1).padStart(12, '0');
  const last = await auditLine(page, lastKey);
  await putAuditLine(page, lastKey, last.replace(/"sig":"(.)/, (_, c) => `"sig":"${c === '0' ? '1' : '0'}`));
  status = await auditStatus(page, 'false');
  assert.match(status, new RegExp(`entry ${n - 1}: bad-signature`));
  await putAuditLine(page, lastKey, last);
  assert.match(await auditStatus(page, 'true'), new RegExp(` ${n} entries`));
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

test('a minor: the guardian consents and the minor agrees as separate recorded steps, each with the reason the law gives', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'FR');
  await page.type('[data-testid="consent-age"]', '12');
  // Who must take part comes from the capacity each law sets per purpose, with its source.
  await page.waitForSelector('[data-testid="consent-minor-reasons"] li');
  const reasons = await page.$eval('[data-testid="consent-minor-reasons"]', (el) => el.textContent);
  assert.match(reasons, /research/);
  assert.match(reasons, /L1122-2|Art\.|CSP/);
  await page.type('[data-testid="consent-guardian"]', GUARDIAN);
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="purpose-research-this-study"]');
  const id = 'research-this-study';
  const asked = async () => page.$$eval(`[data-testid="requires-${id}"] li`, (lis) => lis.map((li) => `${li.dataset.what}/${li.dataset.from}: ${li.textContent}`));
  const before = await asked();
  assert.ok(before.some((r) => /\/guardian: .+\[.+\]/.test(r)), `the guardian is asked, with the reason and source: ${before}`);
  // Step 1: the guardian.
  await page.click(`[data-testid="toggle-${id}"]`);
  await page.waitForFunction(() => /by the guardian/.test(document.querySelector('[data-testid="standing-research-this-study"]')?.textContent ?? ''));
  assert.equal(await outcome(page, id), 'needs-consent', 'the guardian alone is not enough here');
  const after = await asked();
  assert.ok(after.some((r) => /\/subject: /.test(r)), `the minor is asked, with the reason: ${after}`);
  // Step 2: the minor's own agreement (assent, or consent where the law asks for it jointly).
  const assent = await page.$(`[data-testid="assent-${id}"]`);
  await (assent ?? await page.$(`[data-testid="minor-consent-${id}"]`)).click();
  await page.waitForFunction((i) => document.querySelector(`[data-testid="decision-${i}"]`)?.dataset.outcome === 'allow', {}, id);
  const kinds = await page.$$eval('[data-testid="history-event"]', (els) => els.map((e) => e.dataset.kind));
  assert.deepEqual(kinds, [assent ? 'assented' : 'given', 'guardian-given']);
  // One receipt per step.
  assert.equal((await page.$$('[data-testid="receipt"]')).length, 2);
  await context.close();
});

test('a consent with an end date shows it, and once past it the use stops like a withdrawn one', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  await shiftableClock(page);
  const app = new VeilApp(page);
  await app.open('/consent');
  await setup(page, { jurisdiction: 'DE', age: 30 });
  const id = 'research-this-study';
  const tomorrow = await consentUntilTomorrow(page, id);
  assert.match(await page.$eval(`[data-testid="standing-${id}"]`, (el) => el.textContent), new RegExp(`until ${tomorrow}`));
  assert.match(await page.$eval('[data-testid="consent-history"]', (el) => el.textContent), new RegExp(`until ${tomorrow}`));
  // Three days later.
  await shiftClock(page, 3 * 86400000);
  await page.waitForSelector(`[data-testid="standing-${id}"]`);
  assert.match(await page.$eval(`[data-testid="standing-${id}"]`, (el) => el.textContent), /^Expired /);
  assert.notEqual(await outcome(page, id), 'allow');
  assert.match(await page.$eval('[data-testid="consent-history"]', (el) => el.textContent), /\(expired\)/);
  await context.close();
});

test('the texts are in the language the browser prefers among those Veil has, and switchable', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  await page.evaluateOnNewDocument(() => {
    Object.defineProperty(navigator, 'languages', { get: () => ['xx-XX', 'de-AT', 'en'] });
  });
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  const offered = await page.$$eval('[data-testid="consent-lang"] option', (os) => os.map((o) => o.value));
  assert.ok(offered.includes('en') && offered.includes('de'), `the catalogue's languages are offered: ${offered}`);
  assert.equal(await page.$eval('[data-testid="consent-lang"]', (el) => el.value), 'de', 'the first preferred language with texts');
  await setup(page, { jurisdiction: 'DE', age: 30 });
  const card = async () => page.$eval('[data-testid="purpose-research-this-study"]', (el) => el.textContent);
  const german = await card();
  assert.match(german, /\(de\), SHA-256/);
  await page.select('[data-testid="consent-lang-switch"]', 'en');
  await page.waitForFunction(() => /\(en\), SHA-256/.test(document.querySelector('[data-testid="purpose-research-this-study"]')?.textContent ?? ''));
  assert.notEqual(await card(), german);
  // A consent given now records the English text's version and hash.
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="receipt"]').length === 1);
  await context.close();
});

test('an upload queued under a consent that then expires never leaves: it is cancelled like a withdrawn one', { timeout: 180000 }, async () => {
  const { OutboxPage } = await import('../lib/outbox-page.mjs');
  const { writeTetrahedron } = await import('../lib/stl.mjs');
  const model = writeTetrahedron('scan.stl', 10);

  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  await shiftableClock(page);
  const app = new VeilApp(page);
  await app.open('/consent');
  await setup(page, { jurisdiction: 'DE', age: 30 });
  const id = 'research-this-study';
  await consentUntilTomorrow(page, id);
  // Not connected to a clinic: the sealed upload waits in the outbox.
  const outbox = new OutboxPage(page);
  const artifact = await outbox.sealModel(model, 'research/this-study');
  assert.notEqual(await outbox.state(artifact), 'delivered');
  // Three days later the consent has expired: the upload is cancelled before it can leave.
  await shiftClock(page, 3 * 86400000);
  await outbox.ids();
  await outbox.waitForState(artifact, 'cancelled', 30000);
  assert.match(await page.$eval(`[data-testid="outbox-item"][data-id="${artifact}"]`, (row) => row.textContent), /consent no longer allows it/);
  await context.close();
});

test("the service worker's background upload sends what consent allows and never an item whose consent expired", { timeout: 240000 }, async () => {
  const { OutboxPage } = await import('../lib/outbox-page.mjs');
  const { writeTetrahedron } = await import('../lib/stl.mjs');
  const { setOffline, BASE_URL } = await import('../lib/browser.mjs');
  const { connectClinic } = await import('../lib/clinic.mjs');
  const { storedFiles } = await import('../lib/egress.mjs');
  const DATA = process.env.VEIL_DATA;
  assert.ok(DATA, 'VEIL_DATA names the server data folder (set by cargo xtask test)');
  const copiesOf = (id) => storedFiles(DATA).filter((p) => p.includes(id) && p.endsWith('envelope.veil')).length;
  // Two different tetrahedra: two different artifacts.
  const models = [10, 12].map((size, n) => writeTetrahedron(`scan-${n}.stl`, size));
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  // The page itself never uploads here (its clock is behind, so by its own clock the consent still
  // holds): only the worker's uploads reach the server. (Taking the page's network away is not
  // enough: a request the worker lets through is not bound by the page's emulated network.)
  await page.setRequestInterception(true);
  page.on('request', (r) => ((r.method() === 'POST' && new URL(r.url()).pathname === '/v1/artifacts') ? r.abort() : r.continue()));
  // The page lives three days in the past: a consent it gives until "tomorrow" ended two days ago
  // by the real clock, which the service worker keeps.
  await shiftableClock(page);
  const app = new VeilApp(page);
  await app.open('/consent');
  await shiftClock(page, -3 * 86400000);
  await setup(page, { jurisdiction: 'DE', age: 30 });
  const id = 'research-this-study';
  await consentUntilTomorrow(page, id);
  assert.equal(await outcome(page, 'treatment'), 'allow');
  await connectClinic(page);
  await app.navigate('outbox');
  await page.waitForFunction(async () => (await indexedDB.databases()).some((d) => d.name === 'veil-patient-outbox'));
  await app.waitForServiceWorkerControl();
  // Both sealed offline: they wait in the outbox.
  const outbox = new OutboxPage(page);
  await outbox.openModels();
  await setOffline(page, true);
  const expiring = await outbox.sealModel(models[0], 'research/this-study');
  const kept = await outbox.sealModel(models[1], 'treatment');
  assert.equal(await outbox.state(expiring), 'queued');
  assert.equal(await outbox.state(kept), 'queued');
  // The page goes away; with no page of the app open, the worker uploads by itself on a sync.
  await page.goto('about:blank');
  await setOffline(page, false);
  const worker = await (await session.browser.waitForTarget((t) => t.type() === 'service_worker' && t.browserContext() === context)).worker();
  const items = () => worker.evaluate(async () => {
    const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    const db = await req(indexedDB.open('veil-patient-outbox'));
    try {
      return (await req(db.transaction('items').objectStore('items').getAll())).map((j) => JSON.parse(j));
    } finally { db.close(); }
  });
  const stored = Object.fromEntries((await items()).map((i) => [i.id, i]));
  assert.equal(copiesOf(expiring) + copiesOf(kept), 0, 'nothing left before the worker ran');
  assert.ok(stored[expiring].consent_until_ms < Date.now(), 'the item carries its consent end, passed by the real clock');
  assert.equal(stored[kept].consent_until_ms, undefined, 'treatment rests on no expiring consent');
  const cdp = await page.createCDPSession();
  const registrations = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  await new Promise((r) => setTimeout(r, 500));
  const origin = new URL(BASE_URL).origin;
  const registration = registrations.find((r) => r.scopeURL.startsWith(origin) && !r.isDeleted);
  assert.ok(registration, `the app's worker is registered: ${JSON.stringify(registrations)}`);
  await cdp.send('ServiceWorker.dispatchSyncEvent', { origin, registrationId: registration.registrationId, tag: 'veil-outbox', lastChance: false });
  const deadline = Date.now() + 60000;
  let now;
  while (Date.now() < deadline) {
    now = Object.fromEntries((await items()).map((i) => [i.id, i]));
    if (now[kept].state.state === 'delivered') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(now[kept].state.state, 'delivered', 'the worker delivered what consent allows');
  assert.equal(copiesOf(kept), 1);
  // The expired one never left: cancelled by the worker when never tried, else (the page tried,
  // and was refused or went away mid-way) left to the page, unsent.
  assert.equal(copiesOf(expiring), 0, 'nothing whose consent expired reached the server');
  if (now[expiring].attempts === 0) {
    assert.deepEqual(now[expiring].state, { state: 'cancelled', reason: 'the consent it was sealed under expired before it left' });
  } else {
    assert.ok(['queued', 'uploading'].includes(now[expiring].state.state), JSON.stringify(now[expiring].state));
  }
  // Back on the page (its clock right again): cancelled there too, and still never sent.
  await page.goto(new URL('/manifest.webmanifest', BASE_URL).href);
  await page.evaluate(() => sessionStorage.removeItem('e2e-clock-shift'));
  await app.open('/outbox');
  await outbox.ids();
  await outbox.waitForState(expiring, 'cancelled', 30000);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(copiesOf(expiring), 0);
  await context.close();
});
