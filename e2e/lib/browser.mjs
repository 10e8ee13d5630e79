// The one browser layer every e2e test and benchmark driver goes through: launching Debian's
// Chromium headless, opening pages that record what they log and send, and network emulation.
//
// Debian's Chromium differs between machines (148 and 156 seen). Puppeteer helpers whose CDP call
// changed between those versions are not used; in particular `page.setOfflineMode` sends
// `Network.emulateNetworkConditionsByRule`, which Chromium 148 rejects. `setOffline` below sends
// `Network.emulateNetworkConditions` and `Network.overrideNetworkState` on the page's own CDP
// session, which both accept.
// `e2e/tests/layer.test.mjs` keeps drivers from calling such helpers directly.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

export const BASE_URL = process.env.VEIL_URL ?? 'http://127.0.0.1:8080';
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const PACKAGE = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
/** The oldest Chromium major version the suite supports (`veil.minChromium` in e2e/package.json). */
export const MIN_CHROMIUM = PACKAGE.veil.minChromium;

/** The major version in a `browser.version()` string such as `HeadlessChrome/148.0.7778.167`. */
export function chromiumMajor(version) {
  const m = /\/(\d+)\./.exec(version);
  return m ? Number(m[1]) : NaN;
}

/**
 * A fresh browser with a fresh profile; `close()` removes the profile. `args` adds command-line
 * switches (e.g. Chromium's fake camera, `--use-fake-device-for-media-stream`).
 */
export async function launch({ args: extra = [] } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'veil-e2e-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-features=WebBluetooth', '--enable-experimental-web-platform-features',
      ...extra,
    ],
  });
  const close = async () => {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  const version = await browser.version();
  if (!(chromiumMajor(version) >= MIN_CHROMIUM)) {
    await close();
    throw new Error(`${CHROMIUM} is ${version}; the e2e suite needs Chromium ${MIN_CHROMIUM} or newer`);
  }
  return { browser, close };
}

/** Open a page that records console errors, uncaught exceptions and every request it sends. */
export async function openPage(browser) {
  const page = await browser.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('request', (req) => requests.push({ url: req.url(), method: req.method(), body: req.postData() }));
  return { page, errors, requests };
}

const sessions = new WeakMap();

/** The page's own CDP session for emulation (one per page, kept for the page's life). */
async function pageSession(page) {
  let entry = sessions.get(page);
  if (!entry) {
    entry = { session: await page.createCDPSession(), reapply: null };
    sessions.set(page, entry);
  }
  return entry;
}

/**
 * Take the page's network away (`true`) or give it back (`false`): requests fail with
 * ERR_INTERNET_DISCONNECTED and `navigator.onLine` follows. The emulation holds across reloads and
 * navigations of the page.
 */
export async function setOffline(page, offline) {
  const entry = await pageSession(page);
  const { session } = entry;
  const conditions = { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 };
  await session.send('Network.enable');
  // The network itself, for this page and what it loads.
  await session.send('Network.emulateNetworkConditions', conditions);
  // What the page is told (`navigator.onLine`, online/offline events).
  await session.send('Network.overrideNetworkState', conditions);
  // Chromium 148 keeps the network emulation across a reload but not what a new document is told
  // (`navigator.onLine` is true again), so the state is told again to every new main document.
  if (entry.reapply) page.off('framenavigated', entry.reapply);
  entry.reapply = null;
  if (offline) {
    entry.reapply = (frame) => {
      if (frame === page.mainFrame()) session.send('Network.overrideNetworkState', conditions).catch(() => {});
    };
    page.on('framenavigated', entry.reapply);
  }
}
