// Launching Debian's Chromium headless for the e2e suite, and collecting what a page logs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

export const BASE_URL = process.env.VEIL_URL ?? 'http://127.0.0.1:8080';
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A fresh browser with a fresh profile; `close()` removes the profile. */
export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'veil-e2e-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-features=WebBluetooth', '--enable-experimental-web-platform-features',
    ],
  });
  const close = async () => {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
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
