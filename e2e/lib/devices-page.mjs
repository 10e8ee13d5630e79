// Page objects for device trust: the Devices page (pairing through the browser's chooser, device
// cards, readings) and the trusted-manufacturers section of Settings. Selectors are data-testid only.

/** The Devices page. Cards are found by the device's advertised name. */
export class DevicesPage {
  constructor(page) { this.page = page; }

  /** Clicks Pair, picks `device` (a simulated peripheral) in the chooser, waits for its card to settle. */
  async pair(device) {
    const prompt = this.page.waitForDevicePrompt({ timeout: 10000 });
    await this.page.click('[data-testid="device-pair"]');
    const chooser = await prompt.catch(async (err) => {
      const status = await this.page.$eval('[data-testid="pair-status"]', (el) => el.textContent).catch(() => '?');
      throw new Error(`${err.message}; the page says: ${status}`);
    });
    const entry = await chooser.waitForDevice((d) => d.id === device.address, { timeout: 10000 });
    await chooser.select(entry);
    await this.page.waitForFunction((name) => [...document.querySelectorAll('[data-testid="device-card"]')]
      .some((c) => c.querySelector('[data-testid="device-name"]')?.textContent === name
        && c.getAttribute('aria-busy') === 'false'
        && c.querySelector('[data-testid="device-trust"]')?.dataset.state !== 'checking'), { timeout: 15000 }, device.name);
    return this.card(device.name);
  }
}

/** One device card. */
export class DeviceCard {
  constructor(page, name) { this.page = page; this.name = name; }

  /** Runs `fn(cardElement, ...args)` in the page on this card (puppeteer ships `fn`; no eval in the page, CSP forbids it). */
  async #eval(fn, ...args) {
    const card = await this.page.evaluateHandle((name) => [...document.querySelectorAll('[data-testid="device-card"]')]
      .find((c) => c.querySelector('[data-testid="device-name"]')?.textContent === name) ?? null, this.name);
    try {
      if (await card.evaluate((c) => c === null)) throw new Error(`no card for ${this.name}`);
      return await card.evaluate(fn, ...args);
    } finally {
      await card.dispose();
    }
  }

  /** `{state, reason, text}` of the trust panel. */
  async trust() {
    return this.#eval((card) => {
      const t = card.querySelector('[data-testid="device-trust"]');
      return { state: t?.dataset.state, reason: t?.dataset.reason ?? null, text: t?.textContent ?? '' };
    });
  }

  /** The verified identity fields shown on the card. */
  async identity() {
    return this.#eval((card) => {
      const text = (id) => card.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
      return {
        manufacturer: text('device-manufacturer'), model: text('device-model'), serial: text('device-serial'),
        fingerprint: card.querySelector('[data-testid="device-fingerprint"]')?.dataset.fingerprint ?? null,
        validity: text('device-validity'),
      };
    });
  }

  /**
   * A standard device's panel: `{kind, manufacturer, model, serial, firmware, features, verified,
   * time: {state, text}, subscribed: ['0x2A35', ...], records, canRead}`.
   */
  async standard() {
    return this.#eval((card) => {
      const text = (id) => card.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
      const panel = card.querySelector('[data-testid="device-standard"]');
      return {
        kind: text('device-info-kind'), manufacturer: text('device-info-manufacturer'), model: text('device-info-model'),
        serial: text('device-info-serial'), firmware: text('device-info-firmware'), features: text('device-info-features'),
        verified: card.querySelector('[data-testid="device-info"]')?.dataset.verified ?? null,
        time: { state: card.querySelector('[data-testid="device-time"]')?.dataset.state ?? null, text: text('device-time') },
        subscribed: (panel?.dataset.subscribed ?? '').split(' ').filter(Boolean),
        records: text('device-records'),
        canRead: card.querySelector('[data-testid="device-read"]') !== null,
      };
    });
  }

  /** Waits until the standard device's session is subscribed to every characteristic in `uuids` ('0x2A35', ...). */
  async waitForSubscriptions(uuids, timeout = 15000) {
    await this.page.waitForFunction((name, want) => {
      const card = [...document.querySelectorAll('[data-testid="device-card"]')]
        .find((c) => c.querySelector('[data-testid="device-name"]')?.textContent === name);
      const have = (card?.querySelector('[data-testid="device-standard"]')?.dataset.subscribed ?? '').split(' ');
      return want.every((u) => have.includes(u));
    }, { timeout, polling: 50 }, this.name, uuids);
  }

  async connection() {
    return this.#eval((card) => card.querySelector('[data-testid="device-connection"]')?.dataset.state);
  }

  async waitForConnection(state, timeout = 15000) {
    await this.page.waitForFunction((name, want) => [...document.querySelectorAll('[data-testid="device-card"]')]
      .find((c) => c.querySelector('[data-testid="device-name"]')?.textContent === name)
      ?.querySelector('[data-testid="device-connection"]')?.dataset.state === want, { timeout, polling: 50 }, this.name, state);
  }

  /** All reading rows, newest first: `{status, reason, badge, value, detail, counter}`. */
  async readings() {
    return this.#eval((card) => [...card.querySelectorAll('[data-testid="reading"]')].map((r) => ({
      status: r.dataset.status, reason: r.dataset.reason, counter: r.dataset.counter,
      badge: r.querySelector('[data-testid="reading-badge"]')?.textContent,
      value: r.querySelector('[data-testid="reading-value"]')?.textContent,
      detail: r.querySelector('[data-testid="reading-detail"]')?.textContent,
    })));
  }

  /** Clicks "Take a reading" and returns at once (for an exchange that is watched on the wire). */
  async startReading() {
    await this.#eval((card) => card.querySelector('[data-testid="device-read"]').click());
  }

  /** `{code, text}` of the card's problem line, once there is one (waits up to `timeout` ms). */
  async problem(timeout = 20000) {
    await this.page.waitForFunction((name) => [...document.querySelectorAll('[data-testid="device-card"]')]
      .find((c) => c.querySelector('[data-testid="device-name"]')?.textContent === name)
      ?.querySelector('[data-testid="device-problem"]'), { timeout, polling: 100 }, this.name);
    return this.#eval((card) => {
      const p = card.querySelector('[data-testid="device-problem"]');
      return { code: p?.dataset.code ?? null, text: p?.textContent ?? '' };
    });
  }

  /** Clicks "Take a reading" and returns the new row. */
  async takeReading() {
    const before = (await this.readings()).length;
    await this.#eval((card) => card.querySelector('[data-testid="device-read"]').click());
    await this.page.waitForFunction((name, n) => {
      const card = [...document.querySelectorAll('[data-testid="device-card"]')]
        .find((c) => c.querySelector('[data-testid="device-name"]')?.textContent === name);
      return card && (card.querySelectorAll('[data-testid="reading"]').length > n
        || (card.getAttribute('aria-busy') === 'false' && card.querySelector('[data-testid="device-problem"]')));
    }, { timeout: 15000 }, this.name, before);
    const rows = await this.readings();
    if (rows.length === before) {
      throw new Error(`no reading: ${await this.#eval((card) => card.querySelector('[data-testid="device-problem"]')?.textContent)}`);
    }
    return rows[0];
  }
}

DevicesPage.prototype.card = function card(name) { return new DeviceCard(this.page, name); };

/** The "Import readings from a file" section of the Devices page. */
export class ImportSection {
  constructor(page) { this.page = page; }

  /** Uploads the file at `path`; returns `{state, code, text}` of the status line. */
  async importFile(path) {
    const before = await this.page.$eval('[data-testid="import-status"]', (el) => el.textContent).catch(() => null);
    const input = await this.page.waitForSelector('[data-testid="import-file"]');
    await input.uploadFile(path);
    await this.page.waitForFunction((prev) => {
      const el = document.querySelector('[data-testid="import-status"]');
      return el && el.textContent !== prev;
    }, { timeout: 10000 }, before);
    return this.page.$eval('[data-testid="import-status"]', (el) => ({ state: el.dataset.state, code: el.dataset.code ?? null, text: el.textContent }));
  }

  /** The imported rows: `{status, loinc, kind, badge, value}`. */
  async rows() {
    return this.page.$$eval('[data-testid="imported-reading"]', (rows) => rows.map((r) => ({
      status: r.dataset.status, loinc: r.dataset.loinc, kind: r.dataset.kind,
      badge: r.querySelector('[data-testid="reading-badge"]')?.textContent,
      value: r.querySelector('[data-testid="reading-value"]')?.textContent,
    })));
  }
}

/** The trusted manufacturers section of Settings. */
export class TrustedManufacturers {
  constructor(page) { this.page = page; }

  /** Imports PEM text through the paste box; returns the status message `{state: 'ok'|'error', text}`. */
  async importPem(pem) {
    await this.page.waitForSelector('[data-testid="root-pem"]');
    await this.page.$eval('[data-testid="root-pem"]', (el, value) => {
      el.value = value;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, pem);
    await this.page.click('[data-testid="root-import"]');
    // The section is busy from the click until the import and the list reload are done.
    await this.page.waitForSelector('[data-testid="roots-section"][aria-busy="false"]', { timeout: 10000 });
    return this.page.$eval('[data-testid="root-status"]', (el) => ({ state: el.dataset.state, text: el.textContent }));
  }

  /** The trusted roots: `{fingerprint, manufacturer}`. */
  async roots() {
    return this.page.$$eval('[data-testid="root-item"]', (items) => items.map((i) => ({
      fingerprint: i.dataset.fingerprint,
      manufacturer: i.querySelector('[data-testid="root-manufacturer"]')?.textContent,
    })));
  }

  async remove(fingerprint) {
    await this.page.waitForSelector(`[data-testid="root-item"][data-fingerprint="${fingerprint}"]`, { timeout: 10000 });
    const n = (await this.roots()).length;
    await this.page.click(`[data-testid="root-item"][data-fingerprint="${fingerprint}"] [data-testid="root-remove"]`);
    await this.page.waitForFunction((k) => document.querySelectorAll('[data-testid="root-item"]').length === k, { timeout: 10000 }, n - 1);
  }
}
