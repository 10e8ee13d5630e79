// Sealed uploads end to end against a real `veil serve`: a model de-identified in the page, sealed,
// queued offline across a reload, delivered exactly once when back online, retried exactly once
// after a connection cut mid-upload, cancelled by a consent withdrawal. Nothing identifying in any
// request body (UTF-8, UTF-16 or base64), on the server's disk, or in the artifact the recipient opens.
import { createHash } from 'node:crypto';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage, setOffline } from '../lib/browser.mjs';
import { OutboxPage } from '../lib/outbox-page.mjs';
import { assertBodiesClean, assertNothingPlanted, captureBodies, openStored, storedFiles as stored } from '../lib/egress.mjs';
import { giveResearchConsent } from '../lib/research-consent.mjs';

const PLANTED = ['Max Mustermann', 'DOB 1961-04-12', 'MRN-0048213', 'MaxMustermann_MRN0048213', 'Klinikum_Nord_CT7'];
const DATA = process.env.VEIL_DATA;

let session;
let input;
before(async () => {
  session = await launch();
  const dir = mkdtempSync(join(tmpdir(), 'veil-outbox-'));
  // The file name identifies the patient too, as exported files often do.
  input = join(dir, `${PLANTED[0]} ${PLANTED[2]}.ply`);
  // A closed model (a cube) whose every metadata channel carries identifying text, as scanner and
  // segmentation exports do: comments, obj_info, property and element names, extra values, trailing data.
  const v = [];
  for (const x of [0, 30]) for (const y of [0, 30]) for (const z of [0, 30]) v.push([x, y, z]);
  const f = [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]];
  writeFileSync(input, [
    'ply', 'format ascii 1.0', `comment patient ${PLANTED[0]} ${PLANTED[1]}`, `obj_info ${PLANTED[2]} ${PLANTED[4]}`,
    `element vertex ${v.length}`, 'property float x', 'property float y', 'property float z', `property uchar ${PLANTED[3]}`,
    `element face ${f.length}`, 'property list uchar int vertex_indices',
    `element ${PLANTED[4]} 1`, 'property int value', 'end_header',
    ...v.map((p) => `${p.join(' ')} 1`), ...f.map((t) => `3 ${t.join(' ')}`), '19610412', `${PLANTED[0]}`, '',
  ].join('\n'));
});
after(async () => { await session?.close(); });

const storedFiles = () => stored(DATA);

function copiesOf(id) {
  return storedFiles().filter((p) => p.includes(id) && p.endsWith('envelope.veil')).length;
}

test('sealed offline, kept across a reload, delivered exactly once, nothing identifying sent or stored', async () => {
  assert.ok(DATA, 'VEIL_DATA names the server data folder (set by cargo xtask test)');
  const { page, errors } = await openPage(session.browser);
  const bodies = await captureBodies(page);
  const app = await giveResearchConsent(page);
  await app.navigate('outbox');
  // The recipient key has been fetched while online; now the network goes away.
  await page.waitForFunction(async () => (await indexedDB.databases()).some((d) => d.name === 'veil-patient-outbox'));
  await app.waitForServiceWorkerControl();
  const outbox = new OutboxPage(page);
  await outbox.openModels();
  await new Promise((r) => setTimeout(r, 500));
  await setOffline(page, true);
  const id = await outbox.sealModel(input, 'research/this-study');
  assert.match(id, /^[0-9a-f]{64}$/);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await outbox.state(id), 'queued');
  assert.equal(copiesOf(id), 0);

  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('[data-testid="page-outbox"]');
  await page.waitForSelector(`[data-testid="outbox-item"][data-id="${id}"]`);
  assert.equal(await outbox.state(id), 'queued');

  await setOffline(page, false);
  await outbox.waitForState(id, 'delivered');
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(copiesOf(id), 1, 'stored exactly once');

  // Every body the page sent: uploads are captured whole (non-empty, the envelope's size or more).
  const uploads = bodies.filter((b) => b.url.endsWith('/v1/artifacts') && b.method === 'POST');
  assert.ok(uploads.length >= 1, 'the upload body was captured');
  const opened = openStored(DATA, id);
  // The artifact id is the SHA-256 of the envelope: every upload attempt carried it whole.
  for (const u of uploads) assert.equal(createHash('sha256').update(u.body).digest('hex'), id, `an upload body of ${u.body.length} bytes is the whole envelope`);
  assertBodiesClean(PLANTED, bodies);
  for (const file of storedFiles()) assertNothingPlanted(PLANTED, readFileSync(file), `the server's ${file}`);
  // The recipient's side: read through the server's read API, as a clinician or researcher would.
  assertNothingPlanted(PLANTED, opened.manifestBytes, 'the opened manifest');
  assert.deepEqual(Object.keys(opened.files), ['model-1.stl'], 'contents are named by role');
  assertNothingPlanted(PLANTED, opened.files['model-1.stl'], 'the opened model');
  const report = opened.manifest.deid_report;
  assert.equal(report.form, 'shareable');
  assert.equal(report.transform, undefined);
  assert.ok(report.metadata_removed.some((c) => c.channel === 'ply-extra-property'));
  const audit = await (async () => { await app.navigate('audit'); await page.waitForSelector('[data-testid="audit-status"]'); return page.$eval('[data-testid="audit-status"]', (el) => el.dataset.valid); })();
  assert.equal(audit, 'true');
  const events = await page.$$eval('[data-testid="audit-entry"]', (rows) => rows.map((r) => r.children[2].textContent));
  for (const e of ['seal', 'upload']) assert.ok(events.includes(e), `audit has ${e}: ${events}`);
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(e)), []);
  await page.close();
});

test('a connection cut after the server stored the upload is retried and still stored once', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = await giveResearchConsent(page);
  await app.navigate('outbox');
  const cdp = await page.createCDPSession();
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*/v1/artifacts', requestStage: 'Response' }] });
  let cut = 0;
  const cdpErrors = [];
  cdp.on('Fetch.requestPaused', async ({ requestId, responseStatusCode }) => {
    try {
      if (cut === 0 && responseStatusCode) {
        cut += 1;
        // The server has answered (and stored); the answer never reaches the page.
        await cdp.send('Fetch.failRequest', { requestId, errorReason: 'ConnectionReset' });
      } else {
        await cdp.send('Fetch.continueRequest', { requestId });
      }
    } catch (e) {
      // A paused request left paused would stall the page's upload: say so if it happens.
      cdpErrors.push(`${requestId}: ${e.message}`);
    }
  });
  const outbox = new OutboxPage(page);
  const id = await outbox.sealModel(input, 'research/this-study');
  try {
    await outbox.waitForState(id, 'delivered');
  } catch (e) {
    throw new Error(`${e.message}; answers cut: ${cut}; CDP errors: ${JSON.stringify(cdpErrors)}`);
  }
  assert.deepEqual(cdpErrors, []);
  assert.equal(cut, 1, 'one answer was cut');
  const attempts = await page.$eval(`[data-testid="outbox-item"][data-id="${id}"]`, (row) => row.textContent);
  assert.match(attempts, /\(2 attempts\)/);
  assert.equal(copiesOf(id), 1, 'stored exactly once');
  await context.close();
});

test('withdrawing consent cancels a queued upload before it leaves', async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = await giveResearchConsent(page);
  await app.navigate('outbox');
  await page.waitForFunction(async () => (await indexedDB.databases()).some((d) => d.name === 'veil-patient-outbox'));
  await app.waitForServiceWorkerControl();
  const outbox = new OutboxPage(page);
  await outbox.openModels();
  await new Promise((r) => setTimeout(r, 500));
  await setOffline(page, true);
  const id = await outbox.sealModel(input, 'research/this-study');
  await app.navigate('consent');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'deny');
  await app.navigate('outbox');
  await outbox.waitForState(id, 'cancelled');
  await setOffline(page, false);
  await new Promise((r) => setTimeout(r, 4000));
  assert.equal(await outbox.state(id), 'cancelled');
  assert.equal(copiesOf(id), 0, 'nothing reached the server');
  // Without consent, nothing new can be sealed for the purpose.
  assert.match(await outbox.trySealModel(input, 'research/this-study'), /not allowed/);
  assert.deepEqual(await outbox.ids(), [id], 'nothing new was queued');
  await context.close();
});
