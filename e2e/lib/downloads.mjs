// Capturing files the page offers for download.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
    /** Delete every earlier download of `name` (Chrome names repeats `name (1).ext`, ...). */
    discard(name) {
      for (const f of matching(dir, name)) rmSync(join(dir, f), { force: true });
    },
    /** Wait for a download of `name`; the newest copy wins and every copy is removed. */
    async take(name, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (matching(dir, name).length > 0) {
          await new Promise((r) => setTimeout(r, 200));
          const copies = matching(dir, name)
            .map((f) => ({ f, at: statSync(join(dir, f)).mtimeMs }))
            .sort((a, b) => b.at - a.at);
          const bytes = readFileSync(join(dir, copies[0].f));
          for (const { f } of copies) rmSync(join(dir, f), { force: true });
          return bytes;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no download named ${name} within ${timeoutMs} ms (have: ${readdirSync(dir)})`);
    },
    close() { rmSync(dir, { recursive: true, force: true }); },
  };
}

/** The finished downloads in `dir` named `name`, or `name` with Chrome's ` (N)` before the extension. */
function matching(dir, name) {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return readdirSync(dir).filter((f) => f === name || (f.startsWith(`${stem} (`) && f.endsWith(`)${ext}`)));
}
