// Page object for the Outbox: sealing a model (through the Models page, the only way a model can be
// sealed), reading item states.
import { VeilApp } from './app.mjs';

export class OutboxPage {
  constructor(page) { this.page = page; this.app = new VeilApp(page); }

  /** The ids of the items the Outbox lists, once it has loaded them. */
  async ids() {
    await this.app.navigate('outbox');
    // One evaluation both sees the list loaded and reads it (it can start loading again between two).
    const ids = await this.page.waitForFunction(() => {
      const body = document.querySelector('[data-testid="outbox-items"] tbody');
      if (!body || /Loading/.test(body.textContent)) return null;
      return [...body.querySelectorAll('[data-testid="outbox-item"]')].map((r) => r.dataset.id);
    }, { timeout: 30000 });
    return ids.jsonValue();
  }

  /** Open the Models page and wait for its worker (do this before going offline). */
  async openModels() {
    await this.app.navigate('models');
    await this.page.waitForSelector('[data-testid="page-models"][data-worker="ready"]', { timeout: 30000 });
  }

  /** De-identify `path` on the Models page and ask to seal it for `purposeLabel`; the status text. */
  async trySealModel(path, purposeLabel) {
    await this.openModels();
    const previousReport = await this.page.$('[data-testid="model-report"]');
    await (await this.page.$('[data-testid="model-file"]')).uploadFile(path);
    if (previousReport) await this.page.waitForFunction((el) => !el.isConnected, { timeout: 30000 }, previousReport);
    await this.page.waitForSelector('[data-testid="model-report"]', { timeout: 120000 });
    const value = await this.page.$$eval('[data-testid="model-outbox-purpose"] option', (opts, label) =>
      opts.find((o) => o.textContent === label)?.value, purposeLabel);
    if (value === undefined) throw new Error(`no purpose ${purposeLabel} on the Models page`);
    await this.page.select('[data-testid="model-outbox-purpose"]', value);
    const status = () => document.querySelector('[data-testid="model-outbox-status"]')?.textContent ?? '';
    const before = await this.page.evaluate(status);
    await this.page.click('[data-testid="model-add-outbox"]');
    await this.page.waitForFunction((prev) => {
      const now = document.querySelector('[data-testid="model-outbox-status"]')?.textContent ?? '';
      return now !== '' && now !== prev;
    }, { timeout: 60000 }, before);
    return this.page.evaluate(status);
  }

  /** [`trySealModel`], which must succeed; the new outbox item's id. */
  async sealModel(path, purposeLabel) {
    const before = new Set(await this.ids());
    const status = await this.trySealModel(path, purposeLabel);
    if (!/Sealed and queued/.test(status)) throw new Error(`not sealed: ${status}`);
    await this.app.navigate('outbox');
    // Read the new id in the same evaluation that sees it: the list re-renders while the uploader
    // works, so a second look can land on a list that is loading again.
    const found = await this.page.waitForFunction((known) => [...document.querySelectorAll('[data-testid="outbox-item"]')]
      .map((r) => r.dataset.id).find((id) => id && !known.includes(id)),
    { timeout: 30000 }, [...before]);
    return found.jsonValue();
  }

  async state(id) {
    return this.page.$eval(`[data-testid="outbox-item"][data-id="${id}"]`, (row) => row.dataset.state);
  }

  async waitForState(id, state, timeout = 60000) {
    try {
      await this.page.waitForFunction((i, s) => document.querySelector(`[data-testid="outbox-item"][data-id="${i}"]`)?.dataset.state === s,
        { timeout }, id, state);
    } catch (e) {
      // Say where the item stands (state, attempts, reason), not only that the wait timed out.
      const row = await this.page.$eval(`[data-testid="outbox-item"][data-id="${id}"]`, (r) => `${r.dataset.state}: ${r.textContent}`)
        .catch(() => 'not listed');
      throw new Error(`outbox item ${id} never reached ${state} within ${timeout} ms; it is ${row} (${e.message})`);
    }
  }
}
