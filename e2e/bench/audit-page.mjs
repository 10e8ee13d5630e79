// The Audit page's cost while it stays open: the background uploader refreshes the page's views
// every 1.5 s, and the page shows the chain's verification status.
//
// Usage: VEIL_URL=http://127.0.0.1:8080 node e2e/bench/audit-page.mjs [ENTRIES] [SECONDS]
//
// Gives and withdraws consent until the audit chain holds ENTRIES entries (default 200), opens the
// Audit page, waits for "Chain intact", then watches the page for SECONDS (default 9): the main
// thread's script time (CDP Performance.getMetrics, ScriptDuration) over that window per second,
// and the table rows the page removed (a row built again loses a selection or a focus in it).
// Prints one JSON line.
import { launch, openPage } from '../lib/browser.mjs';
import { setUpPerson } from '../lib/research-consent.mjs';

const entries = Number(process.argv[2] ?? 200);
const seconds = Number(process.argv[3] ?? 9);

const session = await launch();
try {
  const { page } = await openPage(session.browser);
  const app = await setUpPerson(page);
  const id = 'research-this-study';
  // Each give or withdraw appends one entry.
  for (let i = 0; i < entries; i++) {
    const want = i % 2 === 0 ? 'allow' : 'deny';
    await page.click(`[data-testid="toggle-${id}"]`);
    await page.waitForFunction((d, w) => document.querySelector(`[data-testid="decision-${d}"]`)?.dataset.outcome === w, {}, id, want);
  }
  const cdp = await page.createCDPSession();
  await cdp.send('Performance.enable');
  const t0 = Date.now();
  await app.navigate('audit');
  await page.waitForFunction((n) => {
    const s = document.querySelector('[data-testid="audit-status"]');
    return s?.dataset.valid === 'true' && document.querySelectorAll('[data-testid="audit-entry"]').length >= n;
  }, { timeout: 120_000 }, entries);
  const firstShown = Date.now() - t0;
  const shown = await page.$$eval('[data-testid="audit-entry"]', (rows) => rows.length);
  const script = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ScriptDuration').value;
  await page.evaluate(() => {
    window.__removedRows = 0;
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.removedNodes) if (n.nodeType === 1 && (n.matches('[data-testid="audit-entry"]') || n.querySelector?.('[data-testid="audit-entry"]'))) window.__removedRows++;
    }).observe(document.body, { subtree: true, childList: true });
  });
  const before = await script();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = await script();
  const removed = await page.evaluate(() => window.__removedRows);
  console.log(JSON.stringify({
    entries: shown,
    first_shown_ms: firstShown,
    window_s: seconds,
    script_ms_per_s: Math.round(((after - before) * 1000) / seconds),
    rows_removed: removed,
  }));
} finally {
  await session.close();
}
