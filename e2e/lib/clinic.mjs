// Connecting the app to the clinic's server: invitations made with the operator's command
// (`veil admin invite` on the e2e server's data directory) and the Settings section that uses them.
// The server stores nothing from a device it does not know, so every test that uploads connects
// its browser first: `await connectClinic(page)`.
import { execFileSync } from 'node:child_process';
import { VeilApp } from './app.mjs';

/** The invitation `cargo xtask test` made for the whole suite (many uses). */
export const INVITE = process.env.VEIL_INVITE;

/**
 * A fresh invitation from `veil admin invite` on the e2e server's database: `{ code, expires, name, uses }`.
 * `VEIL_BIN` and `VEIL_DATA` are set by `cargo xtask test`.
 */
export function newInvite({ uses = 1, name, expires } = {}) {
  const { VEIL_BIN, VEIL_DATA } = process.env;
  if (!VEIL_BIN || !VEIL_DATA) throw new Error('VEIL_BIN and VEIL_DATA are set by cargo xtask test');
  const args = ['admin', 'invite', '--data', VEIL_DATA, '--uses', String(uses)];
  if (name) args.push('--name', name);
  if (expires) args.push('--expires', expires);
  return JSON.parse(execFileSync(VEIL_BIN, args, { encoding: 'utf8' }).trim());
}

/** The enrolled clients, as `veil admin clients list` prints them. */
export function clients() {
  const { VEIL_BIN, VEIL_DATA } = process.env;
  const out = execFileSync(VEIL_BIN, ['admin', 'clients', 'list', '--data', VEIL_DATA], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** Revoke an enrolled client by its full key id (`veil admin clients revoke`). */
export function revokeClient(kid) {
  const { VEIL_BIN, VEIL_DATA } = process.env;
  return JSON.parse(execFileSync(VEIL_BIN, ['admin', 'clients', 'revoke', kid, '--data', VEIL_DATA], { encoding: 'utf8' }).trim());
}

// Page object for Settings, "Connect to a clinic".
export class ClinicSettings {
  constructor(page) { this.page = page; this.app = new VeilApp(page); }

  async open() {
    if (await this.page.$('[data-testid="clinic-section"]') === null) await this.app.navigate('settings');
    await this.page.waitForSelector('[data-testid="clinic-connection"]', { timeout: 30000 });
  }

  /** `connected` (with the key id prefix shown), `not-connected`, or `unknown`. */
  async connection() {
    await this.open();
    return this.page.$eval('[data-testid="clinic-connection"]', (el) => ({
      state: el.dataset.state,
      kid: el.querySelector('[data-testid="clinic-kid"]')?.textContent ?? null,
      text: el.textContent,
    }));
  }

  /**
   * Type `code` and press Connect; the outcome as the status line shows it:
   * `{ state: 'ok' | 'error', code, text }` (`code` is the error's code, `''` when connected).
   */
  async connect(code) {
    await this.open();
    const input = '[data-testid="clinic-code"]';
    await this.page.$eval(input, (el) => { el.value = ''; });
    // Typing clears the last outcome, so the next one shown is this code's.
    await this.page.type(input, code);
    await this.page.waitForFunction(() => document.querySelector('[data-testid="clinic-status"]')?.dataset.state === '');
    await this.page.click('[data-testid="clinic-connect"]');
    try {
      await this.page.waitForFunction(() => ['ok', 'error'].includes(document.querySelector('[data-testid="clinic-status"]')?.dataset.state),
        { timeout: 60000 });
    } catch (e) {
      // Say whether the press reached the app at all (a click that landed elsewhere leaves the
      // status empty) or the app is still connecting.
      const where = await this.page.evaluate(() => {
        const button = document.querySelector('[data-testid="clinic-connect"]');
        const status = document.querySelector('[data-testid="clinic-status"]');
        return JSON.stringify({ status: status?.dataset.state, text: status?.textContent, disabled: button?.disabled });
      }).catch((err) => `unreadable: ${err}`);
      throw new Error(`no outcome 60 s after pressing Connect (${where}): ${e.message}`);
    }
    return this.page.$eval('[data-testid="clinic-status"]', (el) => ({
      state: el.dataset.state, code: el.dataset.code ?? '', text: el.textContent,
    }));
  }
}

/**
 * Connect the page's browser to the e2e clinic through the Settings UI (with the suite's invitation
 * unless another code is given); throws unless it connects. Leaves the page on Settings.
 */
export async function connectClinic(page, code = INVITE) {
  if (!code) throw new Error('VEIL_INVITE is set by cargo xtask test (veil admin invite)');
  const outcome = await new ClinicSettings(page).connect(code);
  if (outcome.state !== 'ok') throw new Error(`not connected: ${outcome.code} ${outcome.text}`);
  return outcome;
}
