// Device trust in the browser, end to end: simulated Bluetooth cuffs (Chromium's CDP
// BluetoothEmulation) whose answers are signed in this test by Node's crypto over a COSE_Sign1
// built here, with certificate chains made by Python `cryptography`. The app verifies them in
// wasm with veil-trust against the manufacturer roots imported in Settings.
import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { DevicesPage, TrustedManufacturers } from '../lib/devices-page.mjs';
import { BluetoothEmulator, VeilCuff, StandardCuff, provision, provisionWithVeil, fingerprint } from '../lib/device-sim.mjs';

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
// A device made by Veil's own `veil device provision` (given by `cargo xtask test` as VEIL_BIN),
// still signed here by Node: the CLI's certificates must work in the app too.
const cli = process.env.VEIL_BIN ? provisionWithVeil({ veilBin: process.env.VEIL_BIN, manufacturer: 'Cli Medical' }) : null;
const cliCuff = cli && new VeilCuff({ name: 'CLI cuff', ...cli, counter: 7 });

before(async () => {
  session = await launch();
  emulator = await BluetoothEmulator.start(session.browser);
  for (const device of [cuff, second, impostor, plain, cliCuff].filter(Boolean)) await emulator.add(device);
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

/** The verified readings the app persisted for upload, parsed. */
async function storedReadings(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('veil-devices');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const req = open.result.transaction('readings').objectStore('readings').getAll();
      req.onsuccess = () => { resolve(req.result.map((s) => JSON.parse(s))); open.result.close(); };
      req.onerror = () => reject(req.error);
    };
  }));
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
  const reading = await card.takeReading();
  assert.equal(reading.status, 'verified', reading.detail);
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

test('a standard-only cuff (0x1810 / 0x2A35) reads as UNVERIFIED and is never stored as verified', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = await trusting(page, [acme.rootPem]);
  await app.navigate('devices');
  const before = await storedReadings(page);
  const card = await new DevicesPage(page).pair(plain);
  assert.equal((await card.trust()).state, 'standard');
  assert.equal((await card.identity()).serial, null);
  const reading = await card.takeReading();
  assert.equal(reading.status, 'unverified');
  assert.equal(reading.badge, 'UNVERIFIED');
  assert.equal(reading.value, '118/76 mmHg');
  assert.deepEqual(await storedReadings(page), before, 'nothing unverified reaches the verified store');
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
  assert.equal((await c.takeReading()).status, 'unverified');

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

test('the Devices page says so when Web Bluetooth is missing', async () => {
  const { page } = await openPage(session.browser);
  await page.evaluateOnNewDocument(() => { delete Navigator.prototype.bluetooth; });
  const app = new VeilApp(page);
  await app.open('/devices');
  await page.click('[data-testid="device-pair"]');
  await page.waitForFunction(() => /not available/.test(document.querySelector('[data-testid="pair-status"]')?.textContent ?? ''));
  await page.close();
});
