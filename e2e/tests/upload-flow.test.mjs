// The whole path of issue 6 in one browser: a certified cuff's verified reading and a model
// de-identified in the page are sealed for a consented purpose, wait offline across a reload, and are
// delivered exactly once to a real `veil serve` that re-verifies the reading against its own trust
// store. Nothing identifying from the input reaches any request or the server's disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage, setOffline } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { OutboxPage } from '../lib/outbox-page.mjs';
import { assertBodiesClean, assertNothingPlanted, captureBodies, openStored, storedFiles as stored } from '../lib/egress.mjs';
import { BluetoothEmulator, VeilCuff, pemCertificates } from '../lib/device-sim.mjs';
import { DevicesPage, TrustedManufacturers } from '../lib/devices-page.mjs';
import { connectClinic } from '../lib/clinic.mjs';

const PKI = process.env.VEIL_PKI;
const DATA = process.env.VEIL_DATA;
const PLANTED = ['Erika Beispiel', 'MRN-7730021'];

let session;
let emulator;
let cuff;
let model;
before(async () => {
  assert.ok(PKI && DATA, 'VEIL_PKI and VEIL_DATA are set by cargo xtask test');
  session = await launch();
  emulator = await BluetoothEmulator.start(session.browser);
  cuff = new VeilCuff({
    name: 'Server-trusted cuff',
    serial: 'DEV-000001',
    chain: pemCertificates(readFileSync(join(PKI, 'DEV-000001.chain.pem'), 'utf8')),
    keyPem: readFileSync(join(PKI, 'DEV-000001.key.pem'), 'utf8'),
    counter: 100,
  });
  await emulator.add(cuff);
  const dir = mkdtempSync(join(tmpdir(), 'veil-flow-'));
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

const storedFiles = () => stored(DATA);

test('a verified reading and a de-identified model go out sealed, once each, and verify on the server', { timeout: 240000 }, async () => {
  const { page } = await openPage(session.browser);
  const bodies = await captureBodies(page);
  const app = new VeilApp(page);

  // Consent: an adult in Germany gives research consent; treatment needs none.
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'DE');
  await page.type('[data-testid="consent-age"]', '61');
  await page.click('[data-testid="consent-confirm"]');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'allow');

  // Connect this browser to the clinic's server (it stores nothing from a device it does not know).
  const connected = await connectClinic(page);
  assert.match(connected.text, /^Connected as [0-9a-f]{16}/);

  // Trust the manufacturer the server trusts, pair its cuff, take a verified reading.
  await app.navigate('settings');
  const status = await new TrustedManufacturers(page).importPem(readFileSync(join(PKI, 'root.cert.pem'), 'utf8'));
  assert.equal(status.state, 'ok', status.text);
  await app.navigate('devices');
  const card = await new DevicesPage(page).pair(cuff);
  const reading = await card.takeReading();
  assert.equal(reading.status, 'verified', reading.detail);

  // De-identify a model in the page and add it to the outbox for research.
  await app.navigate('models');
  await page.waitForSelector('[data-testid="page-models"][data-worker="ready"]', { timeout: 30000 });
  await (await page.$('[data-testid="model-file"]')).uploadFile(model);
  await page.waitForSelector('[data-testid="model-report"]', { timeout: 120000 });
  const research = await page.$$eval('[data-testid="model-outbox-purpose"] option', (o) => o.find((x) => x.textContent === 'research/this-study')?.value);
  await page.select('[data-testid="model-outbox-purpose"]', research);
  await setOffline(page, true);
  await page.click('[data-testid="model-add-outbox"]');
  await page.waitForFunction(() => /Sealed and queued/.test(document.querySelector('[data-testid="model-outbox-status"]')?.textContent ?? ''), { timeout: 30000 });

  // Seal the verified reading for treatment, still offline.
  await app.navigate('outbox');
  await page.click('[data-testid="outbox-send-readings"]');
  const ids = await (await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid="outbox-item"]')];
    return rows.length === 2 && rows.map((r) => r.dataset.id);
  }, { timeout: 30000 })).jsonValue();
  // A second press seals nothing: the verified reading is in the queued item already (the server
  // would refuse its replay in a second artifact).
  await page.click('[data-testid="outbox-send-readings"]');
  await page.waitForFunction(() => /sealed already/.test(document.querySelector('[data-testid="outbox-message"]')?.textContent ?? ''),
    { timeout: 30000 });
  assert.equal(await page.$$eval('[data-testid="outbox-item"]', (rows) => rows.length), 2);

  // A reload while offline keeps both queued; back online, both are delivered once.
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid="outbox-item"]');
  const outbox = new OutboxPage(page);
  for (const id of ids) assert.equal(await outbox.state(id), 'queued');
  await setOffline(page, false);
  for (const id of ids) await outbox.waitForState(id, 'delivered');

  const manifests = storedFiles().filter((p) => p.endsWith('manifest.json'));
  for (const id of ids) {
    assert.equal(storedFiles().filter((p) => p.includes(id) && p.endsWith('envelope.veil')).length, 1, `${id} stored once`);
  }
  const evidence = manifests.map((p) => JSON.parse(readFileSync(p, 'utf8'))).filter((m) => JSON.stringify(m).includes('DEV-000001'));
  assert.ok(evidence.length >= 1, 'the server verified the device reading itself and recorded its device');
  for (const file of storedFiles()) assertNothingPlanted(PLANTED, readFileSync(file), `the server's ${file}`);
  // As the recipient opens them: contents named by role, the model's report in its shareable form.
  for (const id of ids) {
    const opened = openStored(DATA, id);
    assertNothingPlanted(PLANTED, opened.manifestBytes, `${id}'s opened manifest`);
    for (const [name, bytes] of Object.entries(opened.files)) {
      assert.match(name, /^(model-\d+\.(stl|ply)|readings\.json)$/);
      assertNothingPlanted(PLANTED, bytes, `${id}'s ${name}`);
    }
    if (opened.files['model-1.stl']) assert.equal(opened.manifest.deid_report.form, 'shareable');
  }

  // Withdrawing research consent revokes the delivered research artifact at the server.
  const researchId = await (await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="outbox-item"]')]
    .find((r) => r.textContent.includes('research/this-study'))?.dataset.id, { timeout: 30000 })).jsonValue();
  const treatmentId = ids.find((id) => id !== researchId);
  await app.navigate('consent');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'deny');
  const serverStatus = async (id) => (await fetch(`${process.env.VEIL_URL}/v1/artifacts/${id}`)).json();
  const deadline = Date.now() + 20000;
  while ((await serverStatus(researchId)).status !== 'revoked' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.equal((await serverStatus(researchId)).status, 'revoked');
  assert.equal((await serverStatus(treatmentId)).status, 'delivered', 'consent for treatment stands');

  // Erasing the identity layer (GDPR Art. 17) is recorded by the server; the records stay.
  await app.navigate('outbox');
  await page.click('[data-testid="outbox-erase"]');
  await page.waitForFunction(() => /destroyed/.test(document.querySelector('[data-testid="outbox-message"]')?.textContent ?? ''));
  for (const id of ids) assert.equal((await serverStatus(id)).subject_erased, true, `${id} marked erased`);
  await app.navigate('audit');
  await page.waitForSelector('[data-testid="audit-status"]');
  assert.equal(await page.$eval('[data-testid="audit-status"]', (el) => el.dataset.valid), 'true');
  const events = await page.$$eval('[data-testid="audit-entry"]', (rows) => rows.map((r) => r.children[2].textContent));
  for (const e of ['consent-change', 'device-verification', 'deidentification', 'seal', 'upload', 'revocation', 'erasure']) assert.ok(events.includes(e), `audit has ${e}: ${events}`);
  // Every body sent during the flow (uploads, the revocation, the erasure): captured, non-empty, clean.
  assert.ok(bodies.filter((b) => b.url.endsWith('/v1/artifacts') && b.method === 'POST').length >= 2, 'both uploads were captured');
  assertBodiesClean(PLANTED, bodies);
  await page.close();
});
