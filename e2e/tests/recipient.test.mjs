// A human recipient user with a passkey (issue #19): the operator adds a researcher with
// `veil admin users add --passkey`, the person opens the one-time link on the server's /recipient/
// page (in a browser whose app service worker controls the origin), registers a passkey (Chromium's virtual CTAP2 authenticator with user verification) and
// signs in with it, lists the research artifacts, reads one, and is refused a treatment one; both
// reads are in the access log once each, by that user, signed in with a passkey.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from '../lib/browser.mjs';
import { axeViolations } from '../lib/a11y.mjs';
import { addPasskeyUser, exportAccessLog, uploadDocuments, virtualAuthenticator } from '../lib/recipient.mjs';

let session;
before(async () => { session = await launch(); });
after(async () => { await session?.close(); });

const serious = (violations) => violations.filter((v) => ['serious', 'critical'].includes(v.impact));

async function statusText(page) {
  return page.$eval('#status', (el) => el.textContent);
}

test('a researcher registers a passkey, signs in, reads research and is refused treatment; the log has both', async () => {
  const ids = await uploadDocuments(['research', 'treatment']);
  const user = addPasskeyUser({ role: 'researcher', purposes: ['research'], name: 'Dr Rivera' });
  assert.equal(user.auth, 'passkey');
  assert.match(user.registration.link, /^http:\/\/localhost:\d+\/recipient\/#code=/);

  const { page, errors } = await openPage(session.browser);
  const { cdp, authenticatorId } = await virtualAuthenticator(page);
  // The same browser opened the app on this origin before: its service worker controls the
  // origin, and must let the recipient page through instead of answering the app's shell.
  await page.goto(new URL('/', user.registration.link).href, { waitUntil: 'load' });
  await page.waitForSelector('[data-testid^="page-"]', { timeout: 30000 });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, { timeout: 30000 });
  const appErrors = errors.length;
  await page.goto(user.registration.link, { waitUntil: 'load' });
  assert.equal(await page.title(), 'Veil: recipient sign-in', 'the recipient page, not the app');
  assert.equal(await page.$eval('#code', (el) => el.value), user.registration.code, 'the link fills the code in');
  assert.deepEqual(serious(await axeViolations(page)), [], 'the sign-in page passes axe (WCAG 2.1 A/AA)');

  await page.click('#register-form button[type="submit"]');
  await page.waitForFunction(() => /Passkey registered|failed/.test(document.getElementById('status').textContent), { timeout: 30000 });
  assert.match(await statusText(page), /Passkey registered for Dr Rivera \(researcher\)/);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'one passkey on the authenticator');
  assert.equal(credentials[0].isResidentCredential, true);
  assert.equal(Buffer.from(credentials[0].userHandle, 'base64').toString('hex'), user.user_kid);

  await page.click('#sign-in-button');
  await page.waitForFunction(() => !document.getElementById('reader').hidden || /failed/.test(document.getElementById('status').textContent), { timeout: 30000 });
  assert.equal(await page.$eval('#reader', (el) => el.hidden), false, await statusText(page));
  assert.match(await page.$eval('#who', (el) => el.textContent), /Dr Rivera, researcher, for research/);

  // The list: research artifacts only, each with the decision a read gets.
  await page.click('#list-form button[type="submit"]');
  await page.waitForSelector(`#artifacts tr[data-id="${ids.research}"]`, { timeout: 15000 });
  const row = await page.$eval(`#artifacts tr[data-id="${ids.research}"]`, (tr) => [...tr.cells].map((c) => c.textContent));
  assert.equal(row[2], 'allowed');
  assert.equal(await page.$(`#artifacts tr[data-id="${ids.treatment}"]`), null, 'a treatment artifact is not listed for research');

  // Read: allowed, with the document as sealed.
  await page.click(`#artifacts tr[data-id="${ids.research}"] button`);
  await page.waitForSelector(`#result[data-artifact="${ids.research}"]`, { timeout: 15000 });
  const allowed = await page.$eval('#result', (el) => ({ ...el.dataset, files: el.querySelector('#result-files').textContent, citations: el.querySelectorAll('#result-citations li').length }));
  assert.equal(allowed.decision, 'allow');
  // Contents are named by role when sealed (`file-1.pdf`), never by the original file name.
  assert.match(allowed.files, /^file-1\.pdf \(\d+ bytes, SHA-256 [0-9a-f]{16}/);
  assert.ok(allowed.citations > 0, 'the basis comes with its citations');

  assert.deepEqual(serious(await axeViolations(page)), [], 'the reader, with a listing and a read, passes axe');

  // Refused: the treatment artifact, asked for by id.
  await page.type('#artifact-id', ids.treatment);
  await page.click('#read-form button[type="submit"]');
  await page.waitForSelector(`#result[data-artifact="${ids.treatment}"]`, { timeout: 15000 });
  const refused = await page.$eval('#result', (el) => ({ ...el.dataset, text: el.querySelector('#result-decision').textContent }));
  assert.equal(refused.decision, 'refuse');
  assert.equal(refused.code, 'purpose-not-covered');
  assert.match(refused.text, /Read refused \(purpose-not-covered\)/);

  // The access log: the sign-in, then each read once, by this user, signed in with a passkey.
  const log = await exportAccessLog();
  const mine = log.filter((e) => e.actor === `user:${user.user_kid}`);
  const reads = mine.filter((e) => e.event === 'read').map((e) => [e.details.artifact, e.details.decision, e.details.code ?? null, e.details.auth]);
  assert.deepEqual(reads, [
    [ids.research, 'allow', null, 'passkey'],
    [ids.treatment, 'refuse', 'purpose-not-covered', 'passkey'],
  ]);
  assert.equal(mine.filter((e) => e.details.method === 'passkey').length, 1, 'one sign-in');

  // Signed out, the session is gone on the server too.
  await page.click('#sign-out');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Signed out.');
  assert.deepEqual(errors.slice(appErrors).filter((e) => !/403|Forbidden/.test(e)), [], 'no page errors (the refused read logs its 403)');
});
