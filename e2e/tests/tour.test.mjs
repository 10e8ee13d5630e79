// Every page in its main states (issue 16): axe-core finds no serious or critical WCAG 2.1 A/AA
// violation, and a screenshot of each is written (e2e/screenshots, for the README's tour).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { axeViolations } from '../lib/a11y.mjs';
import { screenshot } from '../lib/screenshots.mjs';

let session;
before(async () => { session = await launch(); });
after(async () => { await session?.close(); });

const serious = (violations) => violations.filter((v) => ['serious', 'critical'].includes(v.impact));

async function check(page, name) {
  await new Promise((r) => setTimeout(r, 800));
  await screenshot(page, name);
  const found = serious(await axeViolations(page, 'body'));
  assert.deepEqual(found, [], `${name}: ${JSON.stringify(found, null, 1).slice(0, 1500)}`);
}

test('every page, empty and in use, passes axe without serious or critical violations', { timeout: 180000 }, async () => {
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const app = new VeilApp(page);
  await app.open('/devices');
  for (const route of ['devices', 'models', 'consent', 'outbox', 'audit', 'settings']) {
    await app.navigate(route);
    await check(page, `${route}-empty`);
  }
  // The Consent page in use: a minor with a guardian (capacity reasons shown), then the board.
  await app.navigate('consent');
  await page.select('[data-testid="consent-jurisdiction"]', 'FR');
  await page.type('[data-testid="consent-age"]', '12');
  await page.waitForSelector('[data-testid="consent-minor-reasons"] li');
  await check(page, 'consent-setup-minor');
  await page.type('[data-testid="consent-guardian"]', 'Erika Mustermann');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="purpose-research-this-study"]');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-event"]').length === 1);
  await check(page, 'consent-board-guardian');
  await app.navigate('outbox');
  await check(page, 'outbox-with-session');
  await app.navigate('audit');
  await check(page, 'audit-with-entries');
  await context.close();
});
