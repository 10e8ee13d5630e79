// Every driver goes through e2e/lib/browser.mjs: no test or benchmark imports puppeteer itself or
// calls a puppeteer helper whose CDP method differs between the Chromium versions the suite supports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

const VERSION_DEPENDENT = [
  /\.setOfflineMode\(/, // Network.emulateNetworkConditionsByRule: Chromium 148 rejects it
  /\.emulateNetworkConditions\(/, // the same rule-based call in puppeteer 25
  /from 'puppeteer(-core)?'/, // drivers launch through the layer, never on their own
];

test('e2e tests and benchmark drivers use only the browser layer', () => {
  const offenders = [];
  for (const dir of ['tests', 'bench']) {
    for (const name of readdirSync(new URL(`../${dir}/`, import.meta.url))) {
      if (!/\.m?js$/.test(name) || name === 'layer.test.mjs') continue;
      const text = readFileSync(new URL(`../${dir}/${name}`, import.meta.url), 'utf8');
      for (const pattern of VERSION_DEPENDENT) {
        if (pattern.test(text)) offenders.push(`${dir}/${name}: ${pattern}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});
