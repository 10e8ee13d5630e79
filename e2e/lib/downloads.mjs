// Capturing files the page offers for download.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Route downloads of `browser` into a fresh folder; `take(name)` waits for a file and returns its
 * bytes. Pages in another browser context are covered once `capture.context(ctx)` is called.
 */
export async function captureDownloads(browser) {
  const dir = mkdtempSync(join(tmpdir(), 'veil-dl-'));
  const cdp = await browser.target().createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir, eventsEnabled: true });
  return {
    dir,
    async context(context) {
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir, eventsEnabled: true, browserContextId: context.id });
    },
    async take(name, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (readdirSync(dir).includes(name)) {
          const bytes = readFileSync(join(dir, name));
          rmSync(join(dir, name));
          return bytes;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no download named ${name} within ${timeoutMs} ms (have: ${readdirSync(dir)})`);
    },
    close() { rmSync(dir, { recursive: true, force: true }); },
  };
}
