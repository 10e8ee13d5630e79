// The PWA shell: loads, routes, accessible navigation, strict CSP, manifest and icons, service worker
// control, offline reload, and the new-version prompt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, openPage, setOffline, BASE_URL } from '../lib/browser.mjs';
import { VeilApp, ROUTES } from '../lib/app.mjs';

let session;
before(async () => { session = await launch(); });
after(async () => { await session?.close(); });

test('the app loads, every route renders, and nothing logs an error', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = new VeilApp(page);
  await app.open('/');
  assert.equal(await app.currentPage(), 'devices');
  for (const route of ROUTES) {
    await app.navigate(route);
    assert.equal(await app.currentPage(), route);
    const current = await page.$eval(`[data-testid="nav-${route}"]`, (a) => a.getAttribute('aria-current'));
    assert.equal(current, 'page', `nav link of ${route} is marked current`);
  }
  // Deep links work on a fresh load too.
  for (const route of ROUTES) {
    await app.open(`/${route}`);
    assert.equal(await app.currentPage(), route);
  }
  await app.open('/no-such-page');
  assert.equal(await app.currentPage(), 'notfound');
  assert.deepEqual(errors, []);
  await page.close();
});

test('navigation is reachable by keyboard and labelled for screen readers', async () => {
  const { page } = await openPage(session.browser);
  const app = new VeilApp(page);
  await app.open('/');
  const landmarks = await page.evaluate(() => ({
    nav: document.querySelector('nav')?.getAttribute('aria-label'),
    main: !!document.querySelector('main#main'),
    header: !!document.querySelector('header'),
    h1: document.querySelector('main h1')?.textContent,
  }));
  assert.equal(landmarks.nav, 'Main');
  assert.ok(landmarks.main && landmarks.header);
  assert.equal(landmarks.h1, 'Devices');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip-link');
  // Tab through to the Consent link and follow it with Enter.
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.dataset?.testid);
    if (id === 'nav-consent') break;
  }
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.testid), 'nav-consent');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid="page-consent"]');
  await page.close();
});

test('the server sends a strict CSP and the page mirrors it', async () => {
  const response = await fetch(BASE_URL + '/');
  const csp = response.headers.get('content-security-policy');
  assert.ok(csp, 'CSP header present');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /unsafe-inline|'unsafe-eval'/);
  const html = await response.text();
  assert.match(html, /http-equiv="Content-Security-Policy"/);
  // Trunk's loader was moved out of line: no inline script remains.
  const inline = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].filter(([, attrs, body]) => !/src=/.test(attrs) && body.trim());
  assert.deepEqual(inline, []);
});

test('the manifest parses and its icons exist at their declared sizes', async () => {
  const manifest = await (await fetch(BASE_URL + '/manifest.webmanifest')).json();
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/');
  assert.ok(manifest.name && manifest.short_name && manifest.theme_color);
  const purposes = manifest.icons.map((i) => i.purpose);
  assert.ok(purposes.includes('maskable'));
  for (const size of ['192x192', '512x512']) assert.ok(manifest.icons.some((i) => i.sizes === size), size);
  for (const icon of manifest.icons) {
    const res = await fetch(new URL(icon.src, BASE_URL));
    assert.equal(res.status, 200, icon.src);
    const png = Buffer.from(await res.arrayBuffer());
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    assert.equal(`${w}x${h}`, icon.sizes, icon.src);
  }
});

test('the service worker takes control and the app reloads with the network off', async () => {
  const { page, errors } = await openPage(session.browser);
  const app = new VeilApp(page);
  await app.open('/');
  await app.waitForServiceWorkerControl();
  await setOffline(page, true);
  try {
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('[data-testid="page-devices"]', { timeout: 30000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="connectivity"]')?.textContent.startsWith('Offline'));
    await app.navigate('consent');
    // A deep link loads from the cache too.
    await page.goto(new URL('/audit', BASE_URL).href, { waitUntil: 'load' });
    await page.waitForSelector('[data-testid="page-audit"]', { timeout: 30000 });
  } finally {
    await setOffline(page, false);
  }
  await page.waitForFunction(() => document.querySelector('[data-testid="connectivity"]')?.textContent === 'Online');
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)), []);
  await page.close();
});

test('a page that reloads while the service worker installs is still taken over once it runs', async () => {
  // `clients.claim()` in the worker's activate passes over a page that is still loading. Hold the
  // worker's precache downloads, reload the page and hold its navigation, let the worker install
  // and activate while the reload is pending, then let the page load: it must end up controlled.
  const context = await session.browser.createBrowserContext();
  const page = await context.newPage();
  const browserCdp = await session.browser.target().createCDPSession();
  const heldWorker = [];
  const heldNavigation = [];
  let phase = 'open';
  // The page's requests carry its frame's id; the service worker's carry another one.
  let pageFrame;
  browserCdp.on('Fetch.requestPaused', (e) => {
    if (e.resourceType === 'Document') pageFrame ??= e.frameId;
    const fromPage = e.frameId === pageFrame;
    if (phase === 'hold-worker' && !fromPage) return heldWorker.push(e.requestId);
    if (phase === 'hold-navigation' && fromPage && e.resourceType === 'Document') return heldNavigation.push(e.requestId);
    browserCdp.send('Fetch.continueRequest', { requestId: e.requestId }).catch(() => {});
  });
  await browserCdp.send('Fetch.enable', { patterns: [{ urlPattern: `${new URL(BASE_URL).origin}/*` }] });
  const release = (ids) => Promise.all(ids.splice(0).map((requestId) => browserCdp.send('Fetch.continueRequest', { requestId }).catch(() => {})));
  const statuses = [];
  const cdp = await page.createCDPSession();
  cdp.on('ServiceWorker.workerVersionUpdated', (e) => statuses.push(...e.versions.map((v) => v.status)));
  await cdp.send('ServiceWorker.enable');
  try {
    phase = 'hold-worker';
    await page.goto(new URL('/', BASE_URL).href, { waitUntil: 'load' });
    await page.waitForSelector('[data-testid="page-devices"]', { timeout: 30000 });
    const deadline = Date.now() + 30000;
    while (!heldWorker.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(heldWorker.length > 0, 'the worker started its precache downloads');
    assert.ok(!statuses.includes('activated'), 'not active while its downloads are held');
    phase = 'hold-navigation';
    // The reload waits for the worker's install and activation, on a busy machine too.
    const reloaded = page.reload({ waitUntil: 'load', timeout: 90000 });
    reloaded.catch(() => {}); // awaited below; an assertion failing first must not leave it unhandled
    while (!heldNavigation.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(heldNavigation.length > 0, 'the reload is held');
    phase = 'pass';
    await release(heldWorker);
    while (!statuses.includes('activated') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(statuses.includes('activated'), `the worker activated while the reload was pending: ${statuses}`);
    await release(heldNavigation);
    await reloaded;
    await page.waitForSelector('[data-testid="page-devices"]', { timeout: 30000 });
    await new VeilApp(page).waitForServiceWorkerControl();
  } finally {
    phase = 'pass';
    await release(heldWorker);
    await release(heldNavigation);
    await browserCdp.send('Fetch.disable').catch(() => {});
    await browserCdp.detach().catch(() => {});
    await context.close();
  }
});

test('a new build is offered as "new version available" and reload switches to it', async () => {
  const dist = process.env.VEIL_DIST;
  assert.ok(dist, 'VEIL_DIST names the served build (set by cargo xtask test)');
  const swPath = join(dist, 'sw.js');
  const original = readFileSync(swPath, 'utf8');
  const { page } = await openPage(session.browser);
  const app = new VeilApp(page);
  try {
    await app.open('/');
    await app.waitForServiceWorkerControl();
    const before = await page.evaluate(() => navigator.serviceWorker.controller.scriptURL);
    // Simulate a deploy: the service worker script changes byte-wise.
    writeFileSync(swPath, original.replace(/const VEIL_BUILD = '([^']*)';/, "const VEIL_BUILD = '$1-next';"));
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
    await page.waitForSelector('[data-testid="update-prompt"]', { timeout: 30000 });
    const reloaded = page.waitForNavigation({ waitUntil: 'load' });
    await page.click('[data-testid="update-reload"]');
    await reloaded;
    await page.waitForSelector('[data-testid^="page-"]');
    const caches = await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('veil-shell-')));
    assert.equal(caches.length, 1, `old cache removed: ${caches}`);
    assert.match(caches[0], /-next$/);
    assert.equal(await page.evaluate(() => navigator.serviceWorker.controller.scriptURL), before);
  } finally {
    writeFileSync(swPath, original);
    await page.close();
  }
});
