// Screenshots of the app's pages in their main states, written by the e2e run for the README's
// tour: e2e/screenshots/<name>.png (gitignored), or $VEIL_SCREENSHOTS.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = process.env.VEIL_SCREENSHOTS ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

/** Write a full-page screenshot of `page` as `<name>.png`; returns its path. */
export async function screenshot(page, name) {
  mkdirSync(DIR, { recursive: true });
  const path = join(DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
