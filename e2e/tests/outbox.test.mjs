// Sealed uploads end to end against a real `veil serve`: sealed in the page, queued offline across a
// reload, delivered exactly once when back online, retried exactly once after a connection cut
// mid-upload, cancelled by a consent withdrawal; no identifying byte in any request or on the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage, setOffline } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { OutboxPage } from '../lib/outbox-page.mjs';

const PLANTED = ['Max Mustermann', 'DOB 1961-04-12', 'MRN-0048213'];
const DATA = process.env.VEIL_DATA;

let session;
let input;
before(async () => {
  session = await launch();
  const dir = mkdtempSync(join(tmpdir(), 'veil-outbox-'));
  // The file name identifies the patient too, as exported files often do.
  input = join(dir, `${PLANTED[0]} ${PLANTED[2]}.stl`);
  // An ASCII STL whose solid name and a comment carry identifying text, as scanners write them.
  writeFileSync(input, `solid ${PLANTED[0]} ${PLANTED[1]} ${PLANTED[2]}\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 0 1 0\n  endloop\n endfacet\nendsolid ${PLANTED[0]}\n`);
});
after(async () => { await session?.close(); });

function storedFiles(dir = DATA) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...storedFiles(path));
    else out.push(path);
  }
  return out;
}

function copiesOf(id) {
  return storedFiles().filter((p) => p.includes(id) && p.endsWith('envelope.veil')).length;
}

async function giveResearchConsent(page) {
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'DE');
  await page.type('[data-testid="consent-age"]', '52');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="toggle-research-this-study"]');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'allow');
  return app;
}

/** Every request body the page sends, captured through CDP, including binary ones. */
async function captureBodies(page) {
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable', { maxPostDataSize: 64 * 1024 * 1024 });
  const bodies = [];
  cdp.on('Network.requestWillBeSent', async ({ requestId, request }) => {
    if (!request.hasPostData) return;
    let body = '';
    for (const entry of request.postDataEntries ?? []) body += Buffer.from(entry.bytes ?? '', 'base64').toString('latin1');
    if (!body) {
      try { body = (await cdp.send('Network.getRequestPostData', { requestId })).postData; } catch { /* gone */ }
    }
    bodies.push({ url: request.url, body });
  });
  return bodies;
}

test('sealed offline, kept across a reload, delivered exactly once, nothing identifying sent or stored', async () => {
  assert.ok(DATA, 'VEIL_DATA names the server data folder (set by cargo xtask test)');
  const { page, errors } = await openPage(session.browser);
  const bodies = await captureBodies(page);
  const app = await giveResearchConsent(page);
  await app.navigate('outbox');
  // The recipient key has been fetched while online; now the network goes away.
  await page.waitForFunction(async () => (await indexedDB.databases()).some((d) => d.name === 'veil-patient-outbox'));
  await new Promise((r) => setTimeout(r, 500));
  await setOffline(page, true);
  const outbox = new OutboxPage(page);
  const id = await outbox.sealFile(input, 'research/this-study');
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

  for (const { url, body } of bodies) {
    for (const s of PLANTED) assert.ok(!body.includes(s), `${s} was sent in a request to ${url}`);
  }
  assert.ok(bodies.some((b) => b.url.endsWith('/v1/artifacts')), 'the upload body was captured');
  for (const file of storedFiles()) {
    const bytes = readFileSync(file).toString('latin1');
    for (const s of PLANTED) assert.ok(!bytes.includes(s), `${s} is stored in ${file}`);
  }
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
  cdp.on('Fetch.requestPaused', async ({ requestId, responseStatusCode }) => {
    if (cut === 0 && responseStatusCode) {
      cut += 1;
      // The server has answered (and stored); the answer never reaches the page.
      await cdp.send('Fetch.failRequest', { requestId, errorReason: 'ConnectionReset' });
    } else {
      await cdp.send('Fetch.continueRequest', { requestId });
    }
  });
  const outbox = new OutboxPage(page);
  const id = await outbox.sealFile(input, 'research/this-study');
  await outbox.waitForState(id, 'delivered');
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
  await new Promise((r) => setTimeout(r, 500));
  await setOffline(page, true);
  const outbox = new OutboxPage(page);
  const id = await outbox.sealFile(input, 'research/this-study');
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
  const research = await page.$$eval('[data-testid="outbox-purpose"] option', (opts) => opts.find((o) => o.textContent === 'research/this-study')?.value);
  await page.select('[data-testid="outbox-purpose"]', research);
  const input2 = await page.$('[data-testid="outbox-files"]');
  await input2.uploadFile(input);
  await page.waitForSelector('[data-testid="outbox-message"]');
  assert.match(await page.$eval('[data-testid="outbox-message"]', (el) => el.textContent), /not allowed/);
  await context.close();
});
