// Page object for the Outbox: sealing files, reading item states.
export class OutboxPage {
  constructor(page) { this.page = page; }

  async sealFile(path, purposeLabel) {
    await this.page.waitForSelector('[data-testid="outbox-files"]');
    if (purposeLabel) {
      const value = await this.page.$$eval('[data-testid="outbox-purpose"] option', (opts, label) =>
        opts.find((o) => o.textContent === label)?.value, purposeLabel);
      await this.page.select('[data-testid="outbox-purpose"]', value);
    }
    const before = await this.page.$$eval('[data-testid="outbox-item"]', (rows) => rows.length);
    const input = await this.page.$('[data-testid="outbox-files"]');
    await input.uploadFile(path);
    await this.page.waitForFunction((n) => document.querySelectorAll('[data-testid="outbox-item"]').length > n, { timeout: 30000 }, before);
    return this.page.$eval('[data-testid="outbox-item"]', (row) => row.dataset.id);
  }

  async state(id) {
    return this.page.$eval(`[data-testid="outbox-item"][data-id="${id}"]`, (row) => row.dataset.state);
  }

  async waitForState(id, state, timeout = 60000) {
    await this.page.waitForFunction((i, s) => document.querySelector(`[data-testid="outbox-item"][data-id="${i}"]`)?.dataset.state === s,
      { timeout }, id, state);
  }
}
