// A person set up on the Consent page (Germany, 52) who allows research for this study, with this
// browser connected to the clinic's server: what a test needs before the app may seal and upload.
import { VeilApp } from './app.mjs';
import { connectClinic } from './clinic.mjs';

/** Opens the Consent page and sets up a person of `age` in `jurisdiction`; the `VeilApp`. */
export async function setUpPerson(page, { jurisdiction = 'DE', age = 52 } = {}) {
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', jurisdiction);
  await page.type('[data-testid="consent-age"]', String(age));
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="toggle-research-this-study"]');
  return app;
}

/** Sets the person up, allows research/this-study and connects the clinic; the `VeilApp`. */
export async function giveResearchConsent(page) {
  const app = await setUpPerson(page);
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'allow');
  // The server stores only what a connected device sends.
  await connectClinic(page);
  return app;
}
