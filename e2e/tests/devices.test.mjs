// Device trust in the browser, end to end: simulated Bluetooth cuffs (Chromium's CDP
// BluetoothEmulation) whose answers are signed in this test by Node's crypto over a COSE_Sign1
// built here, with certificate chains made by Python `cryptography`. The app verifies them in
// wasm with veil-trust against the manufacturer roots imported in Settings.
//
// Standard devices (no Veil service) follow the Bluetooth SIG properties exactly: their
// measurements are indicate- or notify-only, with a CCCD. The emulation cannot push a value, so
// these tests prove what the page does on the wire (it subscribes to each measurement
// characteristic, never reads one, reads Device Information, writes the Current Time and the
// Record Access Control Point request); the decoding of what such a device sends is proven with
// the SIG byte sequences in crates/trust/tests/sig.rs (native) and wasm-tests/tests/sig.rs.
import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { giveResearchConsent } from '../lib/research-consent.mjs';
import { openStored } from '../lib/egress.mjs';
import { OutboxPage } from '../lib/outbox-page.mjs';
import { DevicesPage, ImportSection, TrustedManufacturers } from '../lib/devices-page.mjs';
import { BluetoothEmulator, VeilCuff, StandardCuff, GlucoseMeter, pageActivity, provision, provisionWithVeil, fingerprint } from '../lib/device-sim.mjs';

let session;
let emulator;
const acme = provision({ manufacturer: 'Acme Medical', model: 'BP7 Cuff', serial: 'BP7-000042' });
const borealis = provision({ manufacturer: 'Borealis Health', model: 'Aurora BP', serial: 'AUR-7' });
const rogue = provision({ manufacturer: 'Rogue Devices', model: 'BP7 Cuff', serial: 'BP7-000042' });
const rootDer = (pem) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

const cuff = new VeilCuff({ name: 'Acme cuff', serial: 'BP7-000042', model: 'BP7 Cuff', ...acme, counter: 41 });
const second = new VeilCuff({ name: 'Borealis cuff', serial: 'AUR-7', model: 'Aurora BP', ...borealis, counter: 1000,
  reading: { systolic: 135, diastolic: 85, meanArterial: 102 } });
const impostor = new VeilCuff({ name: 'Rogue cuff', serial: 'BP7-000042', model: 'BP7 Cuff', ...rogue, counter: 5000 });
const plain = new StandardCuff({ name: 'Plain cuff' });
// A cuff that drops the link after measuring and is out of reach until it next advertises.
const roaming = new StandardCuff({ name: 'Roaming cuff', model: 'M3 Comfort', serial: '20250301-0007' });
// A Veil cuff without the profile's readable fallback: its signed reading only indicates.
const indicating = new VeilCuff({ name: 'Indicating cuff', serial: 'BP7-000042', model: 'BP7 Cuff', ...acme, counter: 9000, readable: false });
const meter = new GlucoseMeter({ name: 'Glucose meter' });
// A device made by Veil's own `veil device provision` (given by `cargo xtask test` as VEIL_BIN),
// still signed here by Node: the CLI's certificates must work in the app too.
const cli = process.env.VEIL_BIN ? provisionWithVeil({ veilBin: process.env.VEIL_BIN, manufacturer: 'Cli Medical' }) : null;
const cliCuff = cli && new VeilCuff({ name: 'CLI cuff', ...cli, counter: 7 });

before(async () => {
  session = await launch();
  emulator = await BluetoothEmulator.start(session.browser);
  for (const device of [cuff, second, impostor, plain, roaming, indicating, meter, cliCuff].filter(Boolean)) await emulator.add(device);
});
beforeEach(async () => { await emulator.reset(); });
after(async () => {
  assert.deepEqual(emulator?.failures ?? [], [], 'every simulated GATT operation was answered');
  await session?.close();
});

/** A page on /settings that trusts exactly `roots` (PEM texts) among the test's manufacturers. */
async function trusting(page, roots) {
  const app = new VeilApp(page);
  await app.open('/settings');
  const settings = new TrustedManufacturers(page);
  for (const pem of roots) {
    const status = await settings.importPem(pem);
    assert.equal(status.state, 'ok', status.text);
  }
  return app;
}

/** The readings the app persisted in `store` of `veil-devices` ('readings': verified, 'unverified'), parsed. */
async function storedReadings(page, store = 'readings') {
  return page.evaluate((name) => new Promise((resolve, reject) => {
    const open = indexedDB.open('veil-devices');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const req = open.result.transaction(name).objectStore(name).getAll();
      req.onsuccess = () => { resolve(req.result.map((s) => JSON.parse(s))); open.result.close(); };
      req.onerror = () => reject(req.error);
    };
  }), store);
}

test('Settings imports, lists and removes manufacturer roots, and refuses what is not a root', async () => {
  const { page, errors } = await openPage(session.browser);
  await trusting(page, [acme.rootPem]);
  const settings = new TrustedManufacturers(page);
  assert.deepEqual((await settings.roots()).find((r) => r.manufacturer === 'Acme Medical')?.fingerprint, fingerprint(rootDer(acme.rootPem)));

  const garbage = await settings.importPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  assert.equal(garbage.state, 'error');
  assert.match(garbage.text, /malformed/);
  // A device certificate is not a CA: it cannot be a manufacturer root.
  const devicePem = `-----BEGIN CERTIFICATE-----\n${cuff.chain[0].toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  const notCa = await settings.importPem(devicePem);
  assert.equal(notCa.state, 'error');
  assert.match(notCa.text, /untrusted-chain/);

  const added = await settings.importPem(rogue.rootPem);
  assert.equal(added.state, 'ok', added.text);
  const rogueFp = fingerprint(rootDer(rogue.rootPem));
  assert.ok((await settings.roots()).some((r) => r.fingerprint === rogueFp));
  await settings.remove(rogueFp);
  // Persisted: a reload shows the same list.
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid="root-item"]');
  const roots = await settings.roots();
  assert.ok(roots.some((r) => r.manufacturer === 'Acme Medical'));
  assert.ok(!roots.some((r) => r.fingerprint === rogueFp), 'removed root stays removed');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a certified cuff pairs, shows its verified identity, and its signed reading verifies as 120/80', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [acme.rootPem]);
  await app.navigate('devices');
  const card = await new DevicesPage(page).pair(cuff);
  assert.equal((await card.trust()).state, 'trusted');
  const id = await card.identity();
  assert.equal(id.manufacturer, 'Acme Medical');
  assert.equal(id.model, 'BP7 Cuff');
  assert.equal(id.serial, 'BP7-000042');
  assert.equal(id.fingerprint, fingerprint(cuff.chain[0]));
  assert.match(id.validity, /^\d{4}-\d\d-\d\d .* to \d{4}-\d\d-\d\d /);

  const before = (await storedReadings(page)).length;
  const opsBefore = cuff.operations.length;
  const reading = await card.takeReading();
  assert.equal(reading.status, 'verified', reading.detail);
  // The signed reading is an indication (docs/device-profile.md §5): the page subscribes before
  // it writes the challenge, then takes the readable fallback this cuff offers.
  const exchange = cuff.operations.slice(opsBefore).map((o) => `${o.type}:${o.role}`);
  const at = (op) => exchange.indexOf(op);
  assert.ok(at('subscribe-to-notifications:reading') >= 0, exchange.join(' '));
  assert.ok(at('subscribe-to-notifications:reading') < at('write:challenge'), exchange.join(' '));
  assert.ok(at('write:challenge') < at('read:reading'), exchange.join(' '));
  assert.equal(reading.badge, 'VERIFIED');
  assert.match(reading.value, /^120\/80 mmHg$/);
  assert.match(reading.detail, /mean arterial 93 mmHg.*pulse 70 bpm/);
  assert.equal(reading.counter, String(cuff.counter));
  const firstNonce = Buffer.from(cuff.nonce);
  await card.takeReading();
  assert.equal(cuff.nonce.length, 32);
  assert.ok(!firstNonce.equals(cuff.nonce), 'each reading gets a fresh challenge');

  // Kept for upload: the original COSE bytes and the chain, exactly as the device sent them.
  const stored = await storedReadings(page);
  assert.equal(stored.length, before + 2);
  const last = stored.find((r) => r.device.serial === 'BP7-000042' && r.counter === cuff.counter);
  assert.ok(last, 'the verified reading is stored');
  assert.equal(Buffer.from(last.cose, 'base64').toString('hex'), cuff.answers.at(-1).toString('hex'));
  assert.deepEqual(last.chain.map((c) => Buffer.from(c, 'base64').toString('hex')), cuff.chain.map((c) => c.toString('hex')));
  assert.equal(last.measurement.type, 'blood_pressure');
  assert.equal(last.measurement.systolic, 120);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a flipped byte is REJECTED(bad-signature); a replayed answer is REJECTED(replayed-counter), also after a reload', async () => {
  let { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [acme.rootPem]);
  await app.navigate('devices');
  let devices = new DevicesPage(page);
  let card = await devices.pair(cuff);
  assert.equal((await card.takeReading()).status, 'verified');

  cuff.nextAnswer = 'flip';
  const flipped = await card.takeReading();
  assert.equal(flipped.badge, 'REJECTED(bad-signature)');
  assert.equal(flipped.reason, 'bad-signature');

  cuff.nextAnswer = 'replay';
  const replayed = await card.takeReading();
  assert.equal(replayed.badge, 'REJECTED(replayed-counter)');

  // The last counter lives in IndexedDB: reopening the app (a new document, nothing kept in
  // memory) does not open a replay window. (A new page rather than page.reload(): puppeteer's
  // device prompt does not survive a reload, and Chromium drops the emulated adapter anyway.)
  assert.deepEqual(errors, []);
  await page.close();
  await emulator.reset();
  ({ page, errors } = await openPage(session.browser));
  await new VeilApp(page).open('/devices');
  devices = new DevicesPage(page);
  card = await devices.pair(cuff);
  assert.equal((await card.readings()).length, 0, 'a fresh document');
  cuff.nextAnswer = 'replay';
  const afterReload = await card.takeReading();
  assert.equal(afterReload.badge, 'REJECTED(replayed-counter)');
  const fresh = await card.takeReading();
  assert.equal(fresh.status, 'verified', fresh.detail);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a device certified by an unknown manufacturer is not trusted, and its readings are rejected', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [acme.rootPem]);
  await app.navigate('devices');
  // Same serial and model as the Acme cuff, but its chain leads to a root nobody imported.
  const card = await new DevicesPage(page).pair(impostor);
  const trust = await card.trust();
  assert.equal(trust.state, 'untrusted');
  assert.equal(trust.reason, 'untrusted-chain');
  assert.equal((await card.identity()).serial, null, 'no identity is shown for an untrusted chain');
  const reading = await card.takeReading();
  assert.equal(reading.badge, 'REJECTED(untrusted-chain)');
  assert.ok(!(await storedReadings(page)).some((r) => r.device.manufacturer === 'Rogue Devices'));
  assert.deepEqual(errors, []);
  await page.close();
});

test('a standard BLS cuff (indicate-only, DIS, CTS) pairs, the page subscribes, sets its clock and shows its identity as unverified', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [acme.rootPem]);
  await app.navigate('devices');
  const before = await storedReadings(page);
  const opsBefore = plain.operations.length;
  const card = await new DevicesPage(page).pair(plain);
  assert.equal((await card.trust()).state, 'standard');
  assert.equal((await card.identity()).serial, null, 'no verified identity');
  await card.waitForSubscriptions(['0x2A35', '0x2A36']);
  const shown = await card.standard();
  assert.equal(shown.kind, 'blood pressure monitor');
  assert.equal(shown.verified, 'false');
  assert.equal(shown.manufacturer, 'Omron Healthcare');
  assert.equal(shown.model, 'M7 Intelli IT');
  assert.equal(shown.serial, null, 'the Serial Number String is on the Web Bluetooth blocklist');
  assert.equal(shown.firmware, '1.4.2');
  assert.match(shown.features, /body movement detection, irregular pulse detection/);
  assert.equal(shown.canRead, false, 'nothing to read: the cuff indicates its measurements');

  // On the wire: subscriptions to both measurement characteristics, reads only of readable ones.
  const activity = pageActivity({ operations: plain.operations.slice(opsBefore) });
  assert.deepEqual(activity.subscribed.sort(), ['intermediate', 'measurement']);
  assert.deepEqual(activity.read.sort(), ['feature', 'firmware', 'manufacturer', 'model']);
  // The Current Time write (CTS 1.1 §3.1), checked against the page's own clock and zone.
  const writes = activity.written.filter((w) => w.role === 'time');
  assert.equal(writes.length, 1);
  const t = writes[0].data;
  assert.equal(t.length, 10);
  const local = await page.evaluate(() => {
    const d = new Date();
    return { ms: d.getTime(), offset: -d.getTimezoneOffset() };
  });
  const written = Date.UTC(t.readUInt16LE(0), t[2] - 1, t[3], t[4], t[5], t[6]) - local.offset * 60000;
  assert.ok(Math.abs(written - local.ms) < 120000, `device time ${written} vs page ${local.ms}`);
  const weekday = new Date(written + local.offset * 60000).getUTCDay();
  assert.equal(t[7], weekday === 0 ? 7 : weekday, 'day of week, 1 = Monday');
  assert.equal(t[9], 0x01, 'adjust reason: manual time update');
  assert.equal(shown.time.state, 'set');
  assert.deepEqual(await card.readings(), []);
  assert.deepEqual(await storedReadings(page), before, 'nothing unverified reaches the verified store');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a Veil cuff that delivers its signed reading by indication only: the page subscribes, writes the challenge and never reads it', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [acme.rootPem]);
  await app.navigate('devices');
  const card = await new DevicesPage(page).pair(indicating);
  assert.equal((await card.trust()).state, 'trusted', 'its chain verifies');
  assert.equal((await card.identity()).serial, 'BP7-000042');
  const opsBefore = indicating.operations.length;
  await card.startReading();
  // docs/device-profile.md §5: subscribed (CCCD) before the challenge is written, so an indication
  // sent at once is not missed. The emulation cannot push the indication itself: the value path is
  // proven in the trust crate's tests; here, what the page does on the wire.
  const wire = async () => indicating.operations.slice(opsBefore).map((o) => `${o.type}:${o.role}`);
  for (let i = 0; i < 100 && !(await wire()).includes('write:challenge'); i++) await new Promise((r) => setTimeout(r, 100));
  const ops = await wire();
  assert.ok(ops.indexOf('subscribe-to-notifications:reading') >= 0, ops.join(' '));
  assert.ok(ops.indexOf('subscribe-to-notifications:reading') < ops.indexOf('write:challenge'), ops.join(' '));
  assert.equal(indicating.nonce?.length, 32, 'a 32-byte challenge was written');
  // No indication comes: after the profile's wait the page says so, having never read the reading.
  const problem = await card.problem(25000);
  assert.equal(problem.code, 'bluetooth', problem.text);
  assert.match(problem.text, /No reading yet/);
  assert.ok(!indicating.operations.some((o) => o.type === 'read' && o.role === 'reading'), 'the reading characteristic is never read');
  assert.deepEqual(await card.readings(), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a standard cuff that disconnects after measuring and is out of reach is reconnected on its next advertisement', async () => {
  const { page, errors } = await openPage(session.browser);
  await new VeilApp(page).open('/devices');
  const card = await new DevicesPage(page).pair(roaming);
  await card.waitForSubscriptions(['0x2A35']);
  const connections = () => roaming.gattOperations.filter((t) => t === 'connection').length;
  const before = connections();
  // The cuff drops the link and goes out of reach: every reconnection attempt fails (HCI page
  // timeout), and the page then waits for the device to advertise instead of retrying forever.
  roaming.reachable = false;
  await emulator.disconnect(roaming);
  await card.waitForConnection('waiting', 40000);
  const attempts = connections() - before;
  assert.ok(attempts >= 1, `the page tried to reconnect (${attempts} attempts)`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(connections() - before, attempts, 'no attempt while waiting for an advertisement');
  // The person starts a measurement: the cuff advertises, the page reconnects and subscribes again.
  roaming.reachable = true;
  const opsBefore = roaming.operations.length;
  await emulator.advertise(roaming);
  await card.waitForConnection('connected', 15000);
  assert.ok(connections() > before + attempts, 'connected again after the advertisement');
  for (let i = 0; i < 100 && !pageActivity({ operations: roaming.operations.slice(opsBefore) }).subscribed.includes('measurement'); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const again = pageActivity({ operations: roaming.operations.slice(opsBefore) });
  assert.ok(again.subscribed.includes('measurement'), `subscribed again: ${again.subscribed}`);
  assert.ok(!again.read.includes('measurement'), 'the measurement is never read');
  assert.ok(again.written.some((w) => w.role === 'time'), 'the clock is set again');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a standard cuff\'s reading, imported from its app\'s file, is sealed as UNVERIFIED: the Outbox lists it so and the clinic stores it as unverified', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await giveResearchConsent(page);

  // The cuff's own app exported its reading (the emulation cannot push the cuff's indication).
  await app.navigate('devices');
  const loinc = (code) => ({ coding: [{ system: 'http://loinc.org', code }] });
  const bundle = {
    resourceType: 'Bundle', type: 'collection', entry: [{ resource: {
      resourceType: 'Observation', status: 'final', code: loinc('85354-9'), effectiveDateTime: '2026-12-06T08:30:00Z',
      device: { display: 'Omron M7 Intelli IT' },
      component: [
        { code: loinc('8480-6'), valueQuantity: { value: 131, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: loinc('8462-4'), valueQuantity: { value: 84, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      ],
    } }],
  };
  const dir = mkdtempSync(join(tmpdir(), 'veil-unverified-'));
  try {
    const file = join(dir, 'export.json');
    writeFileSync(file, JSON.stringify(bundle));
    const status = await new ImportSection(page).importFile(file);
    assert.equal(status.state, 'ok', status.text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const kept = await storedReadings(page, 'unverified');
  const mine = kept.filter((r) => r.values.some((v) => v.name === 'systolic' && v.value === 131));
  assert.equal(mine.length, 1, JSON.stringify(kept));
  assert.equal(mine[0].source, 'fhir-import');

  await app.navigate('outbox');
  const known = await new OutboxPage(page).ids();
  const purpose = await page.$$eval('[data-testid="outbox-purpose"] option', (opts) => opts.find((o) => o.textContent === 'research/this-study')?.value);
  assert.ok(purpose !== undefined, 'the research purpose is offered');
  await page.select('[data-testid="outbox-purpose"]', purpose);
  await page.click('[data-testid="outbox-send-unverified"]');
  // Found and read in one evaluation: the list re-renders while the uploader works.
  const row = await (await page.waitForFunction((ids) => {
    const r = [...document.querySelectorAll('[data-testid="outbox-item"]')].find((el) => el.dataset.id && !ids.includes(el.dataset.id));
    return r && { id: r.dataset.id, readings: r.dataset.readings, badge: r.querySelector('[data-testid="outbox-unverified"]')?.textContent ?? null, text: r.textContent };
  }, { timeout: 30000 }, known)).jsonValue();
  assert.equal(row.readings, 'unverified');
  assert.equal(row.badge, 'UNVERIFIED');
  assert.match(row.text, /unverified-readings\.json/);

  // Delivered; the clinic keeps the reading as unverified, apart from any device evidence.
  await page.waitForFunction((i) => document.querySelector(`[data-testid="outbox-item"][data-id="${i}"]`)?.dataset.state === 'delivered',
    { timeout: 60000 }, row.id);
  const { manifest, files } = openStored(process.env.VEIL_DATA, row.id);
  assert.deepEqual(manifest.device_evidence, []);
  const sealed = manifest.unverified_readings.filter((r) => r.values.some((v) => v.name === 'systolic' && v.value === 131));
  assert.equal(sealed.length, 1, JSON.stringify(manifest.unverified_readings));
  assert.equal(sealed[0].status, 'unverified');
  assert.equal(sealed[0].source, 'fhir-import');
  assert.equal(sealed[0].kind, 'blood_pressure');
  assert.equal(sealed[0].time, '2026-12-06T08:30:00Z');
  assert.equal(sealed[0].device.name, 'Omron M7 Intelli IT');
  assert.deepEqual(sealed[0].values.map((v) => [v.name, v.value, v.unit]), [['systolic', 131, 'mmHg'], ['diastolic', 84, 'mmHg']]);
  assert.match(files['unverified-readings.json'].toString(), /"status": "unverified"/);

  // Pressing again seals nothing: the reading went into that item once, and no second item appears.
  const before = await page.$$eval('[data-testid="outbox-item"]', (rows) => rows.length);
  await page.click('[data-testid="outbox-send-unverified"]');
  await page.waitForFunction(() => /sealed already/.test(document.querySelector('[data-testid="outbox-message"]')?.textContent ?? ''),
    { timeout: 30000 });
  assert.equal(await page.$$eval('[data-testid="outbox-item"]', (rows) => rows.length), before);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a standard glucose meter: the page subscribes to its measurements and control point and asks for its stored records', async () => {
  const { page, errors } = await openPage(session.browser);
  await new VeilApp(page).open('/devices');
  const opsBefore = meter.operations.length;
  meter.racpRequests = [];
  const card = await new DevicesPage(page).pair(meter);
  await card.waitForSubscriptions(['0x2A18', '0x2A34', '0x2A52']);
  await page.waitForFunction(() => /Fetching/.test(document.querySelector('[data-testid="device-records"]')?.textContent ?? ''), { timeout: 10000 });
  const activity = pageActivity({ operations: meter.operations.slice(opsBefore) });
  assert.deepEqual(activity.subscribed.sort(), ['context', 'measurement', 'racp']);
  assert.ok(!activity.read.includes('measurement') && !activity.read.includes('racp'));
  // GLS 1.0.1 §4.9.1: "report stored records, all records" = 01 01, after the subscriptions.
  assert.deepEqual(meter.racpRequests.map((r) => r.toString('hex')), ['0101']);
  const ops = meter.operations.slice(opsBefore).map((o) => `${o.type}:${o.role}`);
  assert.ok(ops.indexOf('subscribe-to-notifications:racp') < ops.indexOf('write:racp'), ops.join(' '));
  const shown = await card.standard();
  assert.equal(shown.kind, 'glucose meter');
  assert.equal(shown.manufacturer, 'Roche');
  assert.equal(shown.time.state, 'not-offered', 'no Current Time service on this meter');
  assert.deepEqual(errors, []);
  await page.close();
});

test('several devices at once, a dropped connection is re-established, and devices stay paired across pages', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [acme.rootPem, borealis.rootPem]);
  await app.navigate('devices');
  const devices = new DevicesPage(page);
  const a = await devices.pair(cuff);
  const b = await devices.pair(second);
  const c = await devices.pair(plain);
  assert.equal((await a.identity()).manufacturer, 'Acme Medical');
  assert.equal((await b.identity()).manufacturer, 'Borealis Health');
  assert.equal((await c.trust()).state, 'standard');
  assert.equal((await b.takeReading()).value, '135/85 mmHg');
  assert.equal((await a.takeReading()).status, 'verified');
  await c.waitForSubscriptions(['0x2A35']);

  const connections = cuff.gattOperations.filter((t) => t === 'connection').length;
  await emulator.disconnect(cuff);
  await a.waitForConnection('reconnecting');
  await a.waitForConnection('connected');
  assert.ok(cuff.gattOperations.filter((t) => t === 'connection').length > connections, 'the app connected again');
  assert.equal(await b.connection(), 'connected', 'the other device is unaffected');
  const again = await a.takeReading();
  assert.equal(again.status, 'verified', again.detail);
  assert.equal((await a.readings()).length, 2);
  assert.equal((await b.readings()).length, 1);

  // Visiting another page keeps the devices paired, connected, with their readings.
  await app.navigate('settings');
  await app.navigate('devices');
  assert.equal((await a.readings()).length, 2);
  assert.equal((await b.readings()).length, 1);
  assert.equal(await b.connection(), 'connected');
  assert.equal((await b.takeReading()).status, 'verified');
  assert.deepEqual(errors, []);
  await page.close();
});

test('removing a manufacturer root applies at once to its paired device, and importing it again restores trust', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [acme.rootPem, borealis.rootPem]);
  await app.navigate('devices');
  const card = await new DevicesPage(page).pair(second);
  assert.equal((await card.takeReading()).status, 'verified');

  await app.navigate('settings');
  await new TrustedManufacturers(page).remove(fingerprint(rootDer(borealis.rootPem)));
  await app.navigate('devices');
  const untrusted = await card.takeReading();
  assert.equal(untrusted.badge, 'REJECTED(untrusted-chain)');
  assert.equal((await card.trust()).state, 'untrusted');

  await app.navigate('settings');
  assert.equal((await new TrustedManufacturers(page).importPem(borealis.rootPem)).state, 'ok');
  await app.navigate('devices');
  assert.equal((await card.takeReading()).status, 'verified');
  assert.equal((await card.identity()).manufacturer, 'Borealis Health');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a cuff provisioned by `veil device provision` pairs and verifies', { skip: !cli && 'VEIL_BIN is not set' }, async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [cli.rootPem]);
  await app.navigate('devices');
  const card = await new DevicesPage(page).pair(cliCuff);
  const id = await card.identity();
  assert.equal(id.manufacturer, 'Cli Medical');
  assert.equal(id.serial, cli.serial);
  assert.equal(id.fingerprint, fingerprint(cli.chain[0]));
  const reading = await card.takeReading();
  assert.equal(reading.status, 'verified', reading.detail);
  assert.equal(reading.value, '120/80 mmHg');
  assert.deepEqual(errors, []);
  await page.close();
});

test('without Web Bluetooth the Devices page explains it and imports a FHIR Observation Bundle as UNVERIFIED readings', async () => {
  const { page, errors } = await openPage(session.browser);
  await page.evaluateOnNewDocument(() => { delete Navigator.prototype.bluetooth; });
  const app = new VeilApp(page);
  await app.open('/devices');
  await page.waitForSelector('[data-testid="no-bluetooth"]');
  assert.match(await page.$eval('[data-testid="no-bluetooth"]', (el) => el.textContent), /Firefox, Safari/);
  await page.click('[data-testid="device-pair"]');
  await page.waitForFunction(() => /not available/.test(document.querySelector('[data-testid="pair-status"]')?.textContent ?? ''));

  const loinc = (code) => ({ coding: [{ system: 'http://loinc.org', code }] });
  const observation = (code, extra) => ({ resource: { resourceType: 'Observation', status: 'final', code: loinc(code), effectiveDateTime: '2026-11-23T08:30:00Z', ...extra } });
  const quantity = (value, code) => ({ valueQuantity: { value, unit: code, system: 'http://unitsofmeasure.org', code } });
  const bundle = {
    resourceType: 'Bundle', type: 'collection', entry: [
      observation('85354-9', { component: [
        { code: loinc('8480-6'), ...quantity(128, 'mm[Hg]') },
        { code: loinc('8462-4'), ...quantity(82, 'mm[Hg]') },
      ], device: { display: 'Omron M7' } }),
      observation('8310-5', quantity(98.6, '[degF]')),
      observation('29463-7', quantity(72.5, 'kg')),
      observation('59408-5', quantity(97, '%')),
      observation('8867-4', quantity(64, '/min')),
      observation('2339-0', quantity(104, 'mg/dL')),
      { resource: { resourceType: 'Patient', id: 'me' } },
    ],
  };
  const dir = mkdtempSync(join(tmpdir(), 'veil-import-'));
  try {
    const file = join(dir, 'readings.json');
    writeFileSync(file, JSON.stringify(bundle));
    const imports = new ImportSection(page);
    const status = await imports.importFile(file);
    assert.equal(status.state, 'ok', status.text);
    assert.match(status.text, /6 readings imported .* UNVERIFIED; 1 entries skipped/);
    const rows = await imports.rows();
    assert.deepEqual(rows.map((r) => r.loinc), ['85354-9', '8310-5', '29463-7', '59408-5', '8867-4', '2339-0']);
    assert.ok(rows.every((r) => r.status === 'unverified' && r.badge === 'UNVERIFIED'));
    assert.deepEqual(rows.map((r) => r.value), ['128/82 mmHg', '37 °C', '72.5 kg', 'SpO2 97 %', '64 bpm', '104 mg/dL']);
    // Not a Bundle: refused with its code, nothing added.
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ resourceType: 'Observation' }));
    const refused = await imports.importFile(bad);
    assert.equal(refused.state, 'error');
    assert.equal(refused.code, 'bad-bundle');
    assert.equal((await imports.rows()).length, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(errors, []);
  await page.close();
});
