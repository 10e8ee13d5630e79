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
}
