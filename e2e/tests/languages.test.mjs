// Languages (issue 16; GDPR Art. 12(1): clear and plain language the person understands): a browser
// that prefers French gets the consent texts in French without choosing; switching to Spanish
// switches the texts, the HIPAA authorization form and its printable copy, and the receipts; the
// ledger records the language and the wording version of what was shown (the consent text's URN
// and the authorization's `form` reference in the FHIR export, `language` on every receipt).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { captureDownloads } from '../lib/downloads.mjs';
import { screenshot } from '../lib/screenshots.mjs';

let session;
let downloads;
before(async () => {
  session = await launch({ args: ['--lang=fr-FR', '--accept-lang=fr-FR,fr'] });
  downloads = await captureDownloads(session.browser);
});
after(async () => { await session?.close(); downloads?.close(); });

const ID = 'research-this-study';
const EXT_AUTHORIZATION = 'https://fhir.veil.invalid/StructureDefinition/hipaa-authorization';
const nextYear = () => `${new Date().getUTCFullYear() + 1}-06-30`;

/** A page whose browser prefers French, whatever the machine's locale (headless Chromium may
 * ignore --lang): navigator.languages and Accept-Language both say fr-FR first. */
async function frenchPage() {
  const context = await session.browser.createBrowserContext();
  await downloads.context(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.setExtraHTTPHeaders({ 'Accept-Language': 'fr-FR,fr;q=0.9,en;q=0.5' });
  await page.evaluateOnNewDocument(() => {
    Object.defineProperty(Navigator.prototype, 'languages', { get: () => ['fr-FR', 'fr', 'en'] });
    Object.defineProperty(Navigator.prototype, 'language', { get: () => 'fr-FR' });
  });
  return { context, page, errors };
}

const text = (page, selector) => page.$eval(selector, (el) => el.textContent);

async function receiptJson(page, n) {
  await page.waitForFunction((k) => document.querySelectorAll('[data-testid="receipt"]').length === k, {}, n);
  downloads.discard(`consent-receipt-${n}.json`);
  // Newest first.
  await page.click('[data-testid="receipt"] [data-testid="receipt-json"]');
  return JSON.parse((await downloads.take(`consent-receipt-${n}.json`)).toString());
}

async function receiptHtml(page, n) {
  downloads.discard(`consent-receipt-${n}.html`);
  await page.click('[data-testid="receipt"] [data-testid="receipt-html"]');
  return (await downloads.take(`consent-receipt-${n}.html`)).toString();
}

test('a French browser reads French; switching to Spanish switches texts, the authorization form and receipts, and the ledger records the language', async () => {
  const { context, page, errors } = await frenchPage();
  assert.equal(await page.evaluate(() => navigator.languages[0]), 'fr-FR');
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  // The browser's language is preselected: French.
  assert.equal(await page.$eval('[data-testid="consent-lang"]', (el) => el.value), 'fr');
  // A French patient treated in the US: research needs explicit consent (GDPR) and a HIPAA
  // authorization.
  await page.select('[data-testid="consent-jurisdiction"]', 'FR');
  await page.select('[data-testid="consent-jurisdiction-2"]', 'US');
  await page.type('[data-testid="consent-age"]', '41');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector(`[data-testid="purpose-${ID}"]`);

  // French consent texts by default.
  const card = `[data-testid="purpose-${ID}"]`;
  assert.equal(await text(page, `${card} h3`), 'Recherche');
  assert.match(await text(page, card), /Des chercheurs peuvent utiliser vos données pseudonymisées/);
  assert.match(await text(page, card), /\(fr\)/, 'the card names the text version and its language');
  assert.equal(await text(page, '[data-testid="purpose-marketing"] h3'), 'Actualités et offres');
  assert.equal(await page.$eval('[data-testid="consent-lang-switch"]', (el) => el.value), 'fr');
  // The authorization form is French too.
  await page.click(`[data-testid="authorize-${ID}"]`);
  const form = `[data-testid="authorization-${ID}"]`;
  await page.waitForSelector(form);
  assert.equal(await page.$eval(form, (el) => el.lang), 'fr');
  assert.match(await text(page, `${form} h4`), /^Autorisation d'utiliser ou de divulguer des informations de santé/);
  assert.match(await text(page, `${form} [data-testid="auth-statements"]`), /Vous pouvez révoquer cette autorisation à tout moment, par écrit/);
  assert.match(await page.$eval(`${form} [data-testid="auth-information"]`, (el) => el.value), /Modèles 3D dépersonnalisés/);
  await screenshot(page, 'consent-fr-authorization');

  // Switch to Spanish: texts, the open form and its suggestions follow.
  await page.select('[data-testid="consent-lang-switch"]', 'es');
  await page.waitForFunction((c) => document.querySelector(`${c} h3`)?.textContent === 'Investigación', {}, card);
  assert.match(await text(page, card), /Los investigadores pueden utilizar sus datos seudonimizados/);
  assert.equal(await text(page, '[data-testid="purpose-marketing"] h3'), 'Noticias y ofertas');
  if (!(await page.$(form))) await page.click(`[data-testid="authorize-${ID}"]`);
  await page.waitForSelector(form);
  assert.equal(await page.$eval(form, (el) => el.lang), 'es');
  assert.match(await text(page, `${form} h4`), /^Autorización para usar o divulgar información de salud/);
  const statements = await text(page, `${form} [data-testid="auth-statements"]`);
  assert.match(statements, /Puede revocar esta autorización en cualquier momento, por escrito: pulse «Revocar autorización»/);
  assert.match(statements, /no dependen de que firme esta autorización/);
  assert.match(statements, /divulgada de nuevo por el destinatario/);
  assert.match(await page.$eval(`${form} [data-testid="auth-information"]`, (el) => el.value), /Modelos 3D desidentificados/);
  assert.match(await text(page, `${form} [data-testid="auth-sign"]`), /Firmar autorización/);
  const shown = await page.$eval(form, (el) => el.dataset.wording);
  assert.match(shown, /^es v\d+ [0-9a-f]{64}$/);
  await screenshot(page, 'consent-es-authorization');

  // A missing signature is refused in Spanish.
  await page.$eval(`${form} [data-testid="auth-expiry"]`, (el, d) => {
    el.value = d;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, nextYear());
  // (Past the browser's own check of the required signature, as a script could.)
  await page.$eval(form, (f) => f.dispatchEvent(new Event('submit', { cancelable: true, bubbles: true })));
  await page.waitForSelector(`${form} [data-testid="auth-problem"]`);
  assert.match(await text(page, `${form} [data-testid="auth-problem"]`), /Firme con su nombre completo/);
  // Sign.
  await page.type(`${form} [data-testid="auth-signature"]`, 'Camille Durand');
  await page.click(`${form} [data-testid="auth-sign"]`);
  await page.waitForFunction((i) => document.querySelector(`[data-testid="decision-${i}"]`)?.dataset.outcome === 'allow', { timeout: 10000 }, ID);

  // The receipt is Spanish and says so.
  const given = await receiptJson(page, 1);
  assert.equal(given.language, 'es');
  assert.equal(given.collectionMethod, 'aplicación Veil en el dispositivo de la persona');
  assert.equal(given.services[0].purposes[0].purpose, 'Investigación');
  const givenHtml = await receiptHtml(page, 1);
  assert.match(givenHtml, /<html lang="es">/);
  assert.match(givenHtml, /Recibo de consentimiento/);
  assert.match(givenHtml, /consentimiento dado/);

  // The printable authorization is in the wording it was signed on, and names it.
  downloads.discard('hipaa-authorization-1.html');
  assert.match(await text(page, '[data-testid="auth-print"]'), /Imprimir/);
  await page.click('[data-testid="auth-print"]');
  const printed = (await downloads.take('hipaa-authorization-1.html')).toString();
  assert.match(printed, /<html lang="es">/);
  assert.match(printed, /Autorización para usar o divulgar información de salud/);
  assert.match(printed, /\(c\)\(1\)\(vi\) Firma/);
  assert.match(printed, /Puede revocar esta autorización/);
  const [lang, version, sha] = shown.split(' ');
  assert.ok(printed.includes(`${lang} ${version}, SHA-256 ${sha}`), 'the printable copy names the wording shown');

  // The ledger (FHIR export) records the language and version of the text and of the form.
  downloads.discard('veil-consent-fhir.json');
  await page.click('[data-testid="consent-export-fhir"]');
  const bundle = JSON.parse((await downloads.take('veil-consent-fhir.json')).toString());
  const consents = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === 'Consent');
  const policies = consents.flatMap((c) => (c.policy ?? []).map((p) => p.uri));
  assert.ok(policies.some((u) => /^urn:veil:consent-text:research:\d+:es:sha256:[0-9a-f]{64}$/.test(u)), `the consent text shown is recorded in Spanish: ${policies}`);
  const authorizations = consents.flatMap((c) => c.extension ?? []).filter((x) => x.url === EXT_AUTHORIZATION);
  assert.equal(authorizations.length, 1);
  const recorded = JSON.parse(authorizations[0].valueString);
  assert.deepEqual(recorded.form, { table: 'form', lang, version: Number(version.slice(1)), sha256: sha });
  assert.equal(recorded.expiration, `${nextYear()} (al final del día, UTC)`);

  // Revoking is the card's button, named as the statement names it; the withdrawal's receipt
  // (no text is shown for a withdrawal) is in the chosen language.
  assert.match(await text(page, `[data-testid="toggle-${ID}"]`), /Revocar autorización/);
  await page.click(`[data-testid="toggle-${ID}"]`);
  await page.waitForFunction((i) => document.querySelector(`[data-testid="decision-${i}"]`)?.dataset.outcome !== 'allow', {}, ID);
  const withdrawn = await receiptJson(page, 2);
  assert.equal(withdrawn.eventType, 'withdrawn');
  assert.equal(withdrawn.language, 'es');
  assert.match(await receiptHtml(page, 2), /consentimiento retirado/);

  // Back to French: the form opens in French again; a French receipt for a new consent.
  await page.select('[data-testid="consent-lang-switch"]', 'fr');
  await page.waitForFunction((c) => document.querySelector(`${c} h3`)?.textContent === 'Recherche', {}, card);
  await page.click('[data-testid="toggle-product-improvement"]');
  const fr = await receiptJson(page, 3);
  assert.equal(fr.language, 'fr');
  assert.equal(fr.services[0].purposes[0].purpose, 'Améliorer Veil');
  assert.equal(fr.collectionMethod, "application Veil sur l'appareil de la personne");
  // The choice of language survives a reload (it is the session's).
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector(`${card} h3`);
  assert.equal(await text(page, `${card} h3`), 'Recherche');
  assert.deepEqual(errors, []);
  await context.close();
});

test('every language the switch offers has its texts and its form (no English left behind)', async () => {
  const { context, page, errors } = await frenchPage();
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  const offered = await page.$$eval('[data-testid="consent-lang"] option', (os) => os.map((o) => o.value));
  assert.deepEqual([...offered].sort(), ['de', 'en', 'es', 'fr']);
  await page.select('[data-testid="consent-jurisdiction"]', 'US');
  await page.type('[data-testid="consent-age"]', '52');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector(`[data-testid="purpose-${ID}"]`);
  const want = {
    en: ['Research', 'Authorization to use or disclose health information'],
    de: ['Forschung', 'Genehmigung zur Nutzung oder Weitergabe von Gesundheitsinformationen'],
    fr: ['Recherche', "Autorisation d'utiliser ou de divulguer des informations de santé"],
    es: ['Investigación', 'Autorización para usar o divulgar información de salud'],
  };
  const form = `[data-testid="authorization-${ID}"]`;
  for (const [lang, [title, heading]] of Object.entries(want)) {
    await page.select('[data-testid="consent-lang-switch"]', lang);
    await page.waitForFunction((t) => document.querySelector('[data-testid="purpose-research-this-study"] h3')?.textContent === t, {}, title);
    if (!(await page.$(form))) await page.click(`[data-testid="authorize-${ID}"]`);
    await page.waitForSelector(form);
    assert.equal(await page.$eval(form, (el) => el.lang), lang);
    assert.ok((await text(page, `${form} h4`)).startsWith(heading), `${lang}: ${await text(page, `${form} h4`)}`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});
