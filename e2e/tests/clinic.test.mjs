// Connecting the app to a clinic (Settings, "Connect to a clinic") against a real `veil serve` that
// stores nothing from a device it does not know: an upload made before the connection waits,
// visibly, and is not retried in a loop; a code that cannot be one, an unknown one, a used-up one and
// no network are each refused with their code; the suite's invitation connects, and what waited goes
// out exactly once. A revoked device cannot connect again, ending a kiosk session forgets the
// connection with the key it belonged to, and a QR code read by the camera connects as typing does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, setOffline } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { OutboxPage } from '../lib/outbox-page.mjs';
import { ClinicSettings, INVITE, clients, newInvite, revokeClient } from '../lib/clinic.mjs';
import { axeViolations } from '../lib/a11y.mjs';
import { dumpStorage } from '../lib/storage.mjs';
import { storedFiles } from '../lib/egress.mjs';

const DATA = process.env.VEIL_DATA;

let session;
let model;
before(async () => {
  assert.ok(INVITE && DATA, 'VEIL_INVITE and VEIL_DATA are set by cargo xtask test');
  session = await launch();
  // A small closed tetrahedron in binary STL.
  const tris = [
    [[0, 0, 0], [0, 10, 0], [10, 0, 0]], [[0, 0, 0], [10, 0, 0], [0, 0, 10]],
    [[0, 0, 0], [0, 0, 10], [0, 10, 0]], [[10, 0, 0], [0, 10, 0], [0, 0, 10]],
  ];
  const buf = Buffer.alloc(84 + 50 * tris.length);
  buf.writeUInt32LE(tris.length, 80);
  tris.forEach((t, i) => t.flat().forEach((v, j) => buf.writeFloatLE(v, 84 + 50 * i + 12 + 4 * j)));
  model = join(mkdtempSync(join(tmpdir(), 'veil-clinic-')), 'scan.stl');
  writeFileSync(model, buf);
});
after(async () => { await session?.close(); });

const copiesOf = (id) => storedFiles(DATA).filter((p) => p.includes(id) && p.endsWith('envelope.veil')).length;

/** A fresh browser profile (its own client key) with the app open and research consent given. */
async function freshPatient(browser = session.browser) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'DE');
  await page.type('[data-testid="consent-age"]', '47');
  await page.click('[data-testid="consent-confirm"]');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'allow');
  return { context, page, app, posts, count: (path) => posts.filter((p) => p === path).length };
}

/** The enrolled client whose key id starts with `prefix`, as `veil admin clients list` prints it. */
function clientByPrefix(prefix) {
  const found = clients().filter((c) => c.client_kid.startsWith(prefix));
  assert.equal(found.length, 1, `one client ${prefix}`);
  return found[0];
}

test('an upload waits for the connection; bad codes and no network are refused; the invitation connects and what waited goes out once', { timeout: 240000 }, async () => {
  const { context, page, app, count } = await freshPatient();
  const outbox = new OutboxPage(page);
  const id = await outbox.sealModel(model, 'research/this-study');

  // The server does not know this browser's key: the upload is parked, visibly, and nothing stored.
  await outbox.waitForState(id, 'awaiting-enrolment');
  assert.match(await page.$eval(`[data-testid="outbox-item"][data-id="${id}"]`, (r) => r.textContent), /connect this device to a clinic/);
  await page.waitForSelector('[data-testid="outbox-awaiting-connection"]');
  assert.equal(await page.$eval('[data-testid="outbox-awaiting-connection"]', (el) => el.dataset.count), '1');
  assert.deepEqual(await axeViolations(page, 'main'), [], 'the Outbox with its notice passes axe');
  // Not retried in a loop: the uploader runs every 1.5 s, the refused upload stays one request.
  // Its rounds refresh the page's views without moving what is on it, and without replacing
  // what did not change: the row's Cancel button keeps the keyboard's focus.
  const cancel = `[data-testid="outbox-item"][data-id="${id}"] [data-testid="outbox-cancel"]`;
  await page.focus(cancel);
  const outboxMoves = await app.positionsOver('[data-testid="outbox-erase"]', 4500);
  assert.equal(outboxMoves.length, 1, `the Outbox holds still through three uploader rounds: ${outboxMoves}`);
  assert.ok(await page.$eval(cancel, (b) => b === document.activeElement), 'the focused Cancel button is still the one focused');
  assert.equal(count('/v1/artifacts'), 1, 'one upload request, parked after its 401');
  assert.equal(copiesOf(id), 0);

  // The notice leads to Settings, which says the device is not connected.
  await page.click('[data-testid="outbox-connect-link"]');
  await page.waitForSelector('[data-testid="page-settings"]');
  const clinic = new ClinicSettings(page);
  assert.equal((await clinic.connection()).state, 'not-connected');
  // The Connect button stays where a click aims while the uploader refreshes the connection shown.
  const buttonMoves = await app.positionsOver('[data-testid="clinic-connect"]', 3200);
  assert.equal(buttonMoves.length, 1, `the Connect button holds still through two uploader rounds: ${buttonMoves}`);
  // No BarcodeDetector on this Chromium (desktop Linux): no scan button, the code is typed.
  const detector = await page.evaluate(() => 'BarcodeDetector' in window);
  assert.equal(await page.$('[data-testid="clinic-scan"]') !== null, detector);

  // No network: `offline`, and nothing changes.
  await setOffline(page, true);
  const offline = await clinic.connect(INVITE);
  assert.deepEqual([offline.state, offline.code], ['error', 'offline'], offline.text);
  await setOffline(page, false);
  // Not a code at all: refused here, without asking the server.
  const asked = count('/v1/enrolments');
  const malformed = await clinic.connect('ABCD-EFGH-JKMN-PQRS-TVW0');
  assert.deepEqual([malformed.state, malformed.code], ['error', 'invite-invalid'], malformed.text);
  assert.equal(count('/v1/enrolments'), asked, 'a malformed code is not sent');
  // Well formed but unknown: the server's `invite-invalid`.
  const unknown = await clinic.connect('ABCD-EFGH-JKMN-PQRS-TVWX');
  assert.deepEqual([unknown.state, unknown.code], ['error', 'invite-invalid'], unknown.text);
  assert.equal(count('/v1/enrolments'), asked + 1);
  assert.equal((await clinic.connection()).state, 'not-connected');
  assert.deepEqual(await axeViolations(page, 'main'), [], 'Settings with an error shown passes axe');

  // The invitation, typed as a person might (lower case, spaces): connected, and the upload goes.
  const typed = INVITE.toLowerCase().replaceAll('-', ' ');
  const connected = await clinic.connect(typed);
  assert.equal(connected.state, 'ok', connected.text);
  assert.match(connected.text, /^Connected as [0-9a-f]{16}\. 1 waiting upload was sent\./);
  const shown = await clinic.connection();
  assert.equal(shown.state, 'connected');
  assert.match(shown.kid, /^[0-9a-f]{16}$/);
  const enrolled = clientByPrefix(shown.kid);
  assert.equal(enrolled.revoked, null);
  assert.deepEqual(await axeViolations(page, 'main'), [], 'Settings, connected, passes axe');

  await app.navigate('outbox');
  await outbox.waitForState(id, 'delivered');
  assert.equal(copiesOf(id), 1, 'stored exactly once');
  await page.waitForFunction(() => document.querySelector('[data-testid="outbox-awaiting-connection"]') === null);

  // Remembered across a reload; connecting again is "already enrolled", still connected.
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid="page-outbox"]');
  assert.equal((await clinic.connection()).kid, shown.kid);
  const again = await clinic.connect(INVITE);
  assert.equal(again.state, 'ok', again.text);
  assert.equal(clients().filter((c) => c.client_kid === enrolled.client_kid).length, 1);
  await context.close();
});

test('a used-up invitation and a revoked device are refused with their codes', { timeout: 120000 }, async () => {
  const single = newInvite({ uses: 1, name: 'e2e single use' });
  assert.match(single.code, /^[A-Z2-9]{4}(-[A-Z2-9]{4}){4}$/);
  const first = await freshPatient();
  const firstClinic = new ClinicSettings(first.page);
  const ok = await firstClinic.connect(single.code);
  assert.equal(ok.state, 'ok', ok.text);
  const kid = (await firstClinic.connection()).kid;
  assert.equal(clientByPrefix(kid).invite_name, 'e2e single use');

  // Its one use is gone: another device is refused.
  const second = await freshPatient();
  const used = await new ClinicSettings(second.page).connect(single.code);
  assert.deepEqual([used.state, used.code], ['error', 'invite-invalid'], used.text);
  await second.context.close();

  // The operator revokes the first device: it cannot connect again, whatever the code.
  revokeClient(clientByPrefix(kid).client_kid);
  assert.notEqual(clientByPrefix(kid).revoked, null);
  const revoked = await firstClinic.connect(INVITE);
  assert.deepEqual([revoked.state, revoked.code], ['error', 'client-revoked'], revoked.text);
  await first.context.close();
});

test('ending a kiosk session forgets the connection with the key it belonged to', { timeout: 120000 }, async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.type('[data-testid="kiosk-staff-id"]', 'NURSE-0815');
  await page.click('[data-testid="kiosk-start"]');
  await page.waitForSelector('[data-testid="kiosk-end"]');
  // The session (with its staff member) is kept once the patient's setup is confirmed.
  await page.select('[data-testid="consent-jurisdiction"]', 'DE');
  await page.type('[data-testid="consent-age"]', '58');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="toggle-treatment"]');
  const clinic = new ClinicSettings(page);
  const connected = await clinic.connect(INVITE);
  assert.equal(connected.state, 'ok', connected.text);
  const kid = (await clinic.connection()).kid;
  assert.ok((await dumpStorage(page)).includes(kid), 'the connection is stored (the check below can fail)');

  await app.navigate('consent');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('[data-testid="kiosk-end"]')]);
  await page.waitForFunction(() => location.pathname === '/' && document.querySelector('[data-testid="page-devices"]'), { timeout: 30000 });
  assert.ok(!(await dumpStorage(page)).includes(kid), 'nothing of the connection is left');
  // The next patient starts unconnected, with a key of their own.
  assert.equal((await clinic.connection()).state, 'not-connected');
  const next = await clinic.connect(INVITE);
  assert.equal(next.state, 'ok', next.text);
  assert.notEqual((await clinic.connection()).kid, kid);
  await context.close();
});

test('a QR code read by the camera connects the device', { timeout: 120000 }, async () => {
  // Chromium's fake camera (a real video stream), and a stand-in for the Shape Detection API, which
  // desktop Linux Chromium lacks: it "reads" the code only once the camera's picture plays in the
  // page's video element, so the app's camera path (getUserMedia, the video, the detect loop, the
  // stop) is what connects.
  const camera = await launch({ args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
  try {
    const page = await camera.browser.newPage();
    await page.evaluateOnNewDocument((code) => {
      window.BarcodeDetector = class {
        static async getSupportedFormats() { return ['qr_code']; }
        async detect(video) {
          window.__detectCalls = (window.__detectCalls ?? 0) + 1;
          const playing = video.videoWidth > 0 && !video.paused && video.srcObject?.active;
          return playing ? [{ format: 'qr_code', rawValue: code }] : [];
        }
      };
    }, INVITE);
    const app = new VeilApp(page);
    await app.open('/settings');
    const clinic = new ClinicSettings(page);
    assert.equal((await clinic.connection()).state, 'not-connected');
    await page.click('[data-testid="clinic-scan"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="clinic-status"]')?.dataset.state === 'ok', { timeout: 60000 });
    assert.equal((await clinic.connection()).state, 'connected');
    assert.ok(await page.evaluate(() => window.__detectCalls) >= 1);
    // The camera is off again: every track of the stream ended, the video hidden.
    assert.equal(await page.$eval('[data-testid="clinic-video"]', (v) =>
      v.hidden && v.srcObject.getTracks().every((t) => t.readyState === 'ended')), true);
  } finally {
    await camera.close();
  }
});
