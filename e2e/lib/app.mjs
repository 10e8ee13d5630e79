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
    await this.page.waitForFunction(() => navigator.serviceWorker.controller !== null, { timeout: 30000 });
  }

  async connectivity() {
    return this.page.$eval('[data-testid="connectivity"]', (el) => el.textContent);
  }
}
