// Page object for the Veil shell: navigation, pages, PWA status. Selectors are data-testid only.
import { BASE_URL } from './browser.mjs';

export const ROUTES = ['devices', 'models', 'consent', 'outbox', 'audit', 'settings'];

export class VeilApp {
  constructor(page) { this.page = page; }

  async open(path = '/') {
    await this.page.goto(new URL(path, BASE_URL).href, { waitUntil: 'load' });
    await this.page.waitForSelector('[data-testid^="page-"]', { timeout: 30000 });
  }

  async currentPage() {
    return this.page.$eval('[data-testid^="page-"]', (el) => el.dataset.testid.replace('page-', ''));
  }

  async navigate(route) {
    await this.page.click(`[data-testid="nav-${route}"]`);
    await this.page.waitForSelector(`[data-testid="page-${route}"]`, { timeout: 10000 });
  }

  async waitForServiceWorkerControl() {
    try {
      await this.page.waitForFunction(() => navigator.serviceWorker.controller !== null, { timeout: 30000 });
    } catch (e) {
      // Say where the worker got stuck (never installed, installed but waiting, active but not claiming).
      const where = await this.page.evaluate(async () => {
        const r = await navigator.serviceWorker.getRegistration();
        if (!r) return 'no registration';
        return JSON.stringify({ installing: r.installing?.state, waiting: r.waiting?.state, active: r.active?.state });
      }).catch((err) => `unreadable: ${err}`);
      throw new Error(`the page is not controlled by the service worker after 30 s (registration: ${where}): ${e.message}`);
    }
  }

  async connectivity() {
    return this.page.$eval('[data-testid="connectivity"]', (el) => el.textContent);
  }

  /**
   * Where the element `selector` was (its top edge in px, or `null` while it was not in the page)
   * after every change to the page's DOM during `ms`, as distinct values in order. One value means
   * it held still: nothing appeared, went or moved above it, however briefly. The background
   * uploader refreshes the outbox's views every 1.5 s, so a view that blanks while it reloads
   * moves what is below it, and a click aimed at a button lands elsewhere.
   */
  async positionsOver(selector, ms) {
    return this.page.evaluate(async (sel, wait) => {
      const top = () => {
        const el = document.querySelector(sel);
        return el ? Math.round(el.getBoundingClientRect().top) : null;
      };
      const seen = [top()];
      const observer = new MutationObserver(() => {
        const now = top();
        if (now !== seen[seen.length - 1]) seen.push(now);
      });
      observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      await new Promise((r) => setTimeout(r, wait));
      observer.disconnect();
      return seen;
    }, selector, ms);
  }
}
