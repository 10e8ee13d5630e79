// The HIPAA authorization (issue 16): a US, a Californian and a German patient treated in the US
// each reach "allowed" for research only by signing an authorization with every element of
// 45 CFR 164.508(c) (California: a specific end date, Cal. Civ. Code § 56.11), get a printable copy,
// find it in the FHIR export, and are back to "not allowed" after revoking it in one act. Research
// may instead rest on an IRB / Privacy Board waiver entered by clinic staff.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { captureDownloads } from '../lib/downloads.mjs';
import { axeViolations } from '../lib/a11y.mjs';
import { screenshot } from '../lib/screenshots.mjs';

const serious = (violations) => violations.filter((v) => ['serious', 'critical'].includes(v.impact));

let session;
let downloads;
before(async () => {
  session = await launch();
  downloads = await captureDownloads(session.browser);
});
after(async () => { await session?.close(); downloads?.close(); });

const ID = 'research-this-study';
const SIGNER = 'Alex Q. Patient';

async function outcome(page, id = ID) {
  return page.$eval(`[data-testid="decision-${id}"]`, (el) => el.dataset.outcome);
}

async function waitOutcome(page, want, id = ID) {
  await page.waitForFunction((i, w) => document.querySelector(`[data-testid="decision-${i}"]`)?.dataset.outcome === w,
    { timeout: 10000 }, id, want);
}

async function newPatient(jurisdiction, second = '', age = 40) {
  const context = await session.browser.createBrowserContext();
  await downloads.context(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', jurisdiction);
  if (second) await page.select('[data-testid="consent-jurisdiction-2"]', second);
  await page.type('[data-testid="consent-age"]', String(age));
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector(`[data-testid="purpose-${ID}"]`);
  return { context, page, errors };
}

/** Open the form, check its elements are all there, fill what the person fills, sign. */
async function signAuthorization(page, { date, endOfStudy = false }) {
  const requires = await page.$eval(`[data-testid="requires-${ID}"]`, (el) => [...el.children].map((li) => li.dataset.what));
  assert.ok(requires.includes('hipaa-authorization'), `the decision asks for an authorization: ${requires}`);
  await page.click(`[data-testid="authorize-${ID}"]`);
  const form = `[data-testid="authorization-${ID}"]`;
  await page.waitForSelector(form);
  for (const el of ['auth-information', 'auth-disclosed-by', 'auth-recipients', 'auth-purpose', 'auth-expiry', 'auth-signature']) {
    assert.ok(await page.$(`${form} [data-testid="${el}"]`), `the form has ${el}`);
  }
  const statements = await page.$eval(`${form} [data-testid="auth-statements"]`, (el) => el.textContent);
  assert.match(statements, /revoke/i);
  assert.match(statements, /do not depend/i);
  assert.match(statements, /redisclosed/i);
  // Pre-filled, non-empty descriptions (164.508(c)(1)(i)-(iv)).
  for (const el of ['auth-information', 'auth-disclosed-by', 'auth-recipients', 'auth-purpose']) {
    assert.ok((await page.$eval(`${form} [data-testid="${el}"]`, (t) => t.value)).trim().length > 10, `${el} is filled in`);
  }
  assert.deepEqual(serious(await axeViolations(page, 'main')), [], 'the Consent page with the authorization form passes axe');
  await page.type(`${form} [data-testid="auth-signature"]`, SIGNER);
  if (endOfStudy) await page.click(`${form} [data-testid="auth-end-of-study"]`);
  if (date) {
    await page.$eval(`${form} [data-testid="auth-expiry"]`, (el, d) => {
      el.value = d;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, date);
  }
  await page.click(`${form} [data-testid="auth-sign"]`);
}

const nextYear = () => `${new Date().getUTCFullYear() + 1}-06-30`;

async function checkPrintAndFhir(page, { cmia = false } = {}) {
  downloads.discard('hipaa-authorization-1.html');
  await page.click('[data-testid="auth-print"]');
  // The authorization is the ledger's first event here.
  const html = (await downloads.take('hipaa-authorization-1.html')).toString();
  for (const element of ['(c)(1)(i)', '(c)(1)(ii)', '(c)(1)(iii)', '(c)(1)(iv)', '(c)(1)(v)', '(c)(1)(vi) Signature', '(c)(1)(vi) Date', 'revoke', 'redisclosed']) {
    assert.ok(html.includes(element), `the printable copy has ${element}`);
  }
  assert.ok(html.includes(SIGNER) || /Representative/.test(html));
  if (cmia) assert.match(html, /56\.11/);
  downloads.discard('veil-consent-fhir.json');
  await page.click('[data-testid="consent-export-fhir"]');
  const bundle = JSON.parse((await downloads.take('veil-consent-fhir.json')).toString());
  const consents = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === 'Consent');
  const text = JSON.stringify(consents);
  assert.ok(/hipaa/i.test(text), 'the FHIR export marks the HIPAA authorization');
  assert.ok(text.includes(SIGNER) || text.includes('164.508'), 'the FHIR export carries the authorization');
}

async function revoke(page) {
  assert.match(await page.$eval(`[data-testid="toggle-${ID}"]`, (b) => b.textContent), /Revoke authorization/);
  await page.click(`[data-testid="toggle-${ID}"]`);
  await page.waitForFunction((i) => document.querySelector(`[data-testid="decision-${i}"]`)?.dataset.outcome !== 'allow', {}, ID);
  assert.notEqual(await outcome(page), 'allow');
  assert.match(await page.$eval(`[data-testid="standing-${ID}"]`, (el) => el.textContent), /^Withdrawn /);
}

test('a US patient: research allowed only with a complete authorization, printable, in FHIR, revoked in one act', async () => {
  const { context, page, errors } = await newPatient('US');
  assert.equal(await outcome(page), 'needs-consent');
  await signAuthorization(page, { endOfStudy: true });
  await waitOutcome(page, 'allow');
  assert.match(await page.$eval(`[data-testid="decision-${ID}"]`, (el) => el.textContent), /164\.508/);
  await screenshot(page, 'consent-us-authorized');
  assert.deepEqual(serious(await axeViolations(page, 'main')), [], 'the Consent page, authorized, passes axe');
  await checkPrintAndFhir(page);
  await revoke(page);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a Californian patient: the CMIA asks for a specific end date, then research is allowed and revoked', async () => {
  const { context, page } = await newPatient('US-CA');
  assert.equal(await outcome(page), 'needs-consent');
  await page.click(`[data-testid="authorize-${ID}"]`);
  await page.waitForSelector('[data-testid="auth-cmia"]');
  assert.match(await page.$eval('[data-testid="auth-cmia"]', (el) => el.textContent), /56\.11/);
  // No "end of study" event where California asks for a date, and no signing without one.
  assert.equal(await page.$('[data-testid="auth-end-of-study"]'), null);
  await page.click(`[data-testid="authorize-${ID}"]`); // closes; signAuthorization opens it again
  await signAuthorization(page, {});
  // The date is required: the form is not submitted without it.
  const expiry = `[data-testid="authorization-${ID}"] [data-testid="auth-expiry"]`;
  assert.equal(await page.$eval(expiry, (el) => el.required && el.validity.valueMissing), true);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await outcome(page), 'needs-consent');
  await page.$eval(`[data-testid="authorization-${ID}"] [data-testid="auth-expiry"]`, (el, d) => {
    el.value = d;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, nextYear());
  await page.click(`[data-testid="authorization-${ID}"] [data-testid="auth-sign"]`);
  await waitOutcome(page, 'allow');
  // The expiry is on the card and in the timeline.
  assert.match(await page.$eval(`[data-testid="standing-${ID}"]`, (el) => el.textContent), new RegExp(`until ${nextYear()}`));
  assert.match(await page.$eval('[data-testid="consent-history"]', (el) => el.textContent), new RegExp(`until ${nextYear()}`));
  await checkPrintAndFhir(page, { cmia: true });
  await revoke(page);
  await context.close();
});

test('a German patient treated in the US: one signed authorization meets GDPR and HIPAA, and is revoked', async () => {
  const { context, page } = await newPatient('DE', 'US');
  assert.equal(await outcome(page), 'needs-consent');
  await signAuthorization(page, { date: nextYear() });
  await waitOutcome(page, 'allow');
  const rules = await page.$eval(`[data-testid="decision-${ID}"]`, (el) => el.textContent);
  assert.match(rules, /GDPR Art\. 9\(2\)\(a\)/);
  assert.match(rules, /164\.508/);
  await checkPrintAndFhir(page);
  await revoke(page);
  await context.close();
});

/** Set an input's value as a person would (date inputs take no typing in headless Chromium). */
async function setValue(page, selector, value) {
  await page.$eval(selector, (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

/** Clinic staff name the study this person takes part in. */
async function nameStudy(page, study) {
  await page.type('[data-testid="waiver-staff"]', 'IRB-DESK-7');
  await page.type('[data-testid="staff-study"]', study);
  await page.click('[data-testid="staff-study-save"]');
  await page.waitForSelector('[data-testid="staff-study-named"]');
}

async function exportFhir(page) {
  downloads.discard('veil-consent-fhir.json');
  await page.click('[data-testid="consent-export-fhir"]');
  const bundle = JSON.parse((await downloads.take('veil-consent-fhir.json')).toString());
  return (bundle.entry ?? []).map((e) => e.resource).filter((r) => r.resourceType === 'Consent');
}

const historyKinds = (page) => page.$$eval('[data-testid="history-event"]', (els) => els.map((el) => el.dataset.kind));

const BOARD = 'Example University IRB (IRB00001234)';

for (const jurisdiction of ['US', 'US-CA']) {
  test(`${jurisdiction}: research on an IRB waiver recorded by clinic staff with its 164.512(i)(2) documentation, in FHIR, until staff end it`, async () => {
    const { context, page, errors } = await newPatient(jurisdiction);
    assert.equal(await outcome(page), 'needs-consent');
    await nameStudy(page, 'K-12 knee implant study');
    const today = new Date().toISOString().slice(0, 10);
    await page.type('[data-testid="waiver-reference"]', BOARD);
    await setValue(page, '[data-testid="waiver-approved"]', today);
    await page.type('[data-testid="waiver-phi"]', '3D knee scans and their measurements');
    await page.select('[data-testid="waiver-review"]', 'expedited');
    await page.type('[data-testid="waiver-chair"]', 'Dr. R. Chair, IRB chair');
    // Without the criteria statement (164.512(i)(2)(ii)) it is not documentation of a waiver.
    await page.click('[data-testid="waiver-record"]');
    await page.waitForSelector('[data-testid="consent-error"]');
    assert.equal(await page.$eval('[data-testid="consent-error"]', (el) => el.dataset.code), 'bad-field');
    assert.match(await page.$eval('[data-testid="consent-error"]', (el) => el.textContent), /164\.512\(i\)\(2\)\(ii\)/);
    assert.equal(await outcome(page), 'needs-consent');
    await page.click('[data-testid="waiver-criteria"]');
    await page.click('[data-testid="waiver-record"]');
    await waitOutcome(page, 'allow');
    const basis = await page.$eval(`[data-testid="decision-${ID}"]`, (el) => el.textContent);
    assert.match(basis, /164\.512\(i\)\(1\)\(i\)/);
    assert.match(basis, /164\.512\(i\)\(2\)/);
    assert.ok(basis.includes(BOARD), basis);
    assert.match(basis, /K-12 knee implant study/);
    if (jurisdiction === 'US-CA') assert.match(basis, /56\.10\(c\)\(7\)/);
    assert.match(await page.$eval('[data-testid="waiver-recorded"]', (el) => el.textContent), new RegExp(today));
    // A ledger event, in the timeline, not a receipt of the person's consent.
    assert.deepEqual(await historyKinds(page), ['waived']);
    assert.equal((await page.$$('[data-testid="receipt"]')).length, 0);
    assert.deepEqual(serious(await axeViolations(page, 'main')), [], 'the Consent page with a waiver passes axe');
    if (jurisdiction === 'US') await screenshot(page, 'consent-us-waiver');
    // In the FHIR export: the board performs it, the chair's signature and the approval date are its
    // source, the PHI its data, the documentation in its extension.
    const [waiver] = await exportFhir(page);
    assert.equal(waiver.status, 'active');
    assert.equal(waiver.performer[0].display, BOARD);
    assert.equal(waiver.sourceAttachment.title, 'Dr. R. Chair, IRB chair');
    assert.ok(waiver.sourceAttachment.creation.startsWith(today));
    assert.match(waiver.policyRule.text, /164\.512\(i\)/);
    assert.equal(waiver.provision.data[0].reference.display, '3D knee scans and their measurements');
    const ext = waiver.extension.find((x) => x.url.endsWith('/research-waiver'));
    const documentation = JSON.parse(ext.valueString);
    assert.equal(documentation.review, 'expedited');
    assert.equal(documentation.criteria_stated, true);
    assert.equal(documentation.study, 'K-12 knee implant study');
    // Ended by staff: research needs an authorization again.
    await page.click('[data-testid="waiver-remove"]');
    await waitOutcome(page, 'needs-consent');
    assert.deepEqual(await historyKinds(page), ['waiver-ended', 'waived']);
    const after = await exportFhir(page);
    assert.deepEqual(after.map((c) => c.status), ['inactive', 'inactive']);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('an authorization until the end of the study ends when staff record the end; California refuses the event', async () => {
  const { context, page, errors } = await newPatient('US');
  await nameStudy(page, 'K-12');
  await signAuthorization(page, { endOfStudy: true });
  await waitOutcome(page, 'allow');
  assert.match(await page.$eval(`[data-testid="standing-${ID}"]`, (el) => el.textContent), /or at the end of the study K-12/);
  assert.match(await page.$eval('[data-testid="consent-history"]', (el) => el.textContent), /until the end of the study K-12/);
  await page.click('[data-testid="study-end"]');
  await waitOutcome(page, 'needs-consent');
  assert.match(await page.$eval(`[data-testid="standing-${ID}"]`, (el) => el.textContent), /^Expired /);
  assert.equal((await historyKinds(page))[0], 'study-ended');
  assert.match(await page.$eval('[data-testid="consent-history"]', (el) => el.textContent), /study-ended[^]*study K-12/);
  const consents = await exportFhir(page);
  assert.deepEqual(consents.map((c) => c.status), ['inactive', 'inactive']);
  assert.ok(consents.some((c) => c.extension.some((x) => x.url.endsWith('/consent-study') && x.valueString === 'K-12')));
  assert.deepEqual(errors, []);
  await context.close();

  // Under the GDPR the card's consent may end with the study too.
  const de = await newPatient('DE');
  await nameStudy(de.page, 'K-12');
  await de.page.click(`[data-testid="study-end-${ID}"]`);
  await de.page.click(`[data-testid="toggle-${ID}"]`);
  await waitOutcome(de.page, 'allow');
  assert.match(await de.page.$eval(`[data-testid="standing-${ID}"]`, (el) => el.textContent), /or at the end of the study K-12/);
  await de.page.click('[data-testid="study-end"]');
  await waitOutcome(de.page, 'needs-consent');
  assert.match(await de.page.$eval(`[data-testid="standing-${ID}"]`, (el) => el.textContent), /^Expired /);
  await de.context.close();

  // California: an authorization must end on a date (Cal. Civ. Code § 56.11(b)(8)); the event alone
  // is refused with its code and citation, and nothing is recorded.
  const ca = await newPatient('US-CA');
  await nameStudy(ca.page, 'K-12');
  await ca.page.click(`[data-testid="study-end-${ID}"]`);
  await ca.page.click(`[data-testid="toggle-${ID}"]`);
  await ca.page.waitForSelector('[data-testid="consent-error"]');
  assert.equal(await ca.page.$eval('[data-testid="consent-error"]', (el) => el.dataset.code), 'end-date-required');
  assert.match(await ca.page.$eval('[data-testid="consent-error"]', (el) => el.textContent), /56\.11\(b\)\(8\)/);
  assert.deepEqual(await historyKinds(ca.page), []);
  await ca.context.close();
});

/** Press Tab until the element with `testid` has focus (at most `max` presses); throws otherwise. */
async function tabTo(page, testid, max = 300) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((t) => document.activeElement?.dataset?.testid === t, testid)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${testid} never got the keyboard focus`);
}

test('keyboard only: consent given and withdrawn, an authorization signed and revoked', async () => {
  const { context, page } = await newPatient('DE', 'US');
  await page.focus('[data-testid="skip-link"], .skip-link').catch(() => {});
  // GDPR consent to AI training: Tab to the button, Enter; and back.
  await tabTo(page, 'toggle-ai-training');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /^Given/.test(document.querySelector('[data-testid="standing-ai-training"]')?.textContent ?? ''));
  await tabTo(page, 'toggle-ai-training');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /^Withdrawn/.test(document.querySelector('[data-testid="standing-ai-training"]')?.textContent ?? ''));
  // The authorization for research, every step from the keyboard.
  await tabTo(page, `authorize-${ID}`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[data-testid="authorization-${ID}"]`);
  await tabTo(page, 'auth-signature');
  await page.keyboard.type(SIGNER);
  await tabTo(page, 'auth-end-of-study');
  await page.keyboard.press('Space');
  await tabTo(page, 'auth-sign');
  await page.keyboard.press('Enter');
  await waitOutcome(page, 'allow');
  await tabTo(page, `toggle-${ID}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction((i) => document.querySelector(`[data-testid="decision-${i}"]`)?.dataset.outcome !== 'allow', {}, ID);
  await context.close();
});

test('a minor in the US: the personal representative signs, with the relationship, and it is on the printable copy', async () => {
  const context = await session.browser.createBrowserContext();
  await downloads.context(context);
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'US');
  await page.type('[data-testid="consent-age"]', '15');
  await page.waitForSelector('[data-testid="consent-guardian"]');
  await page.type('[data-testid="consent-guardian"]', 'Jordan Parent');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector(`[data-testid="purpose-${ID}"]`);
  const asked = await page.$$eval(`[data-testid="requires-${ID}"] li`, (lis) => lis.map((li) => `${li.dataset.what}/${li.dataset.from}`));
  assert.ok(asked.includes('hipaa-authorization/guardian'), `the representative is asked: ${asked}`);
  await page.click(`[data-testid="authorize-${ID}"]`);
  const form = `[data-testid="authorization-${ID}"]`;
  await page.waitForSelector(`${form} [data-testid="auth-representative"]`);
  assert.equal(await page.$(`${form} [data-testid="auth-signature"]`), null, 'the minor does not sign alone');
  assert.equal(await page.$eval(`${form} [data-testid="auth-representative"]`, (el) => el.value), 'Jordan Parent');
  await page.type(`${form} [data-testid="auth-relationship"]`, 'parent with legal custody');
  await page.click(`${form} [data-testid="auth-end-of-study"]`);
  await page.click(`${form} [data-testid="auth-sign"]`);
  await page.waitForFunction(() => document.querySelector('[data-testid="history-event"]')?.dataset.kind === 'guardian-given');
  assert.match(await page.$eval('[data-testid="history-event"]', (el) => el.textContent), /by Jordan Parent/);
  const missing = await page.$$eval(`[data-testid="requires-${ID}"] li`, (lis) => lis.map((li) => li.textContent).join(' | ')).catch(() => '');
  assert.ok(!/personal representative \(/.test(missing), `the representative's signature is no longer missing: ${missing}`);
  downloads.discard('hipaa-authorization-1.html');
  await page.click('[data-testid="auth-print"]');
  const html = (await downloads.take('hipaa-authorization-1.html')).toString();
  assert.match(html, /Representative&#39;s authority|Representative's authority/);
  assert.match(html, /parent with legal custody/);
  await context.close();
});
