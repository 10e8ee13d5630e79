// What leaves the page and what the server keeps, for the tests that prove nothing identifying
// does: every request body captured whole through CDP, identifiers searched in every encoding a
// page could send them in, the server's files, and the artifact as its recipient opens it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every request the page and its service workers send, captured through CDP: URL, method, headers
 * and, for requests with a body, the body whole (binary bodies too). Service workers are included
 * because the outbox can upload from one (Background Sync) while no page is open.
 */
export async function captureBodies(page) {
  const requests = [];
  const watch = async (cdp) => {
    await cdp.send('Network.enable', { maxPostDataSize: 64 * 1024 * 1024 });
    cdp.on('Network.requestWillBeSent', async ({ requestId, request }) => {
      const entry = { url: request.url, method: request.method, headers: request.headers, body: null };
      requests.push(entry);
      if (!request.hasPostData && request.method !== 'POST' && request.method !== 'PUT') return;
      const parts = (request.postDataEntries ?? []).map((e) => Buffer.from(e.bytes ?? '', 'base64'));
      let body = Buffer.concat(parts);
      if (body.length === 0 && request.hasPostData) {
        try {
          const r = await cdp.send('Network.getRequestPostData', { requestId });
          body = Buffer.from(r.postData, r.base64Encoded ? 'base64' : 'latin1');
        } catch { /* the request is gone */ }
      }
      entry.body = body;
    });
  };
  await watch(await page.createCDPSession());
  const browser = page.browser();
  const workers = new Set();
  const attach = async (target) => {
    if (target.type() !== 'service_worker' || workers.has(target)) return;
    workers.add(target);
    try { await watch(await target.createCDPSession()); } catch { /* the worker went away */ }
  };
  for (const t of browser.targets()) await attach(t);
  browser.on('targetcreated', attach);
  return requests;
}

/** Asserts that none of `planted` is in `bytes`, as UTF-8, UTF-16LE or base64 of its UTF-8. */
export function assertNothingPlanted(planted, bytes, where) {
  const hay = Buffer.from(bytes);
  for (const s of planted) {
    for (const form of [Buffer.from(s), Buffer.from(s, 'utf16le'), Buffer.from(Buffer.from(s).toString('base64'))]) {
      assert.equal(hay.indexOf(form), -1, `${s} is in ${where}`);
    }
  }
}

/**
 * Every request: no planted identifier in its URL or headers; every body sent (POST/PUT) captured
 * non-empty and without a planted identifier.
 */
export function assertBodiesClean(planted, requests) {
  const sent = requests.filter((r) => r.body !== null);
  assert.ok(sent.length > 0, 'request bodies were captured');
  for (const { url, method, headers, body } of requests) {
    let decoded = url;
    try { decoded = decodeURIComponent(url); } catch { /* not percent-encoded text */ }
    assertNothingPlanted(planted, `${url}\n${decoded}\n${JSON.stringify(headers)}`, `the URL or headers of ${method} ${url}`);
    if (body === null) continue;
    assert.ok(body.length > 0, `the ${method} body to ${url} was captured (non-empty)`);
    assertNothingPlanted(planted, body, `the ${method} body to ${url}`);
  }
}

/** Every file under `dir`. */
export function storedFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? storedFiles(path) : [path];
  });
}

/**
 * Open the stored envelope of artifact `id` as its recipient would, with the server's key and the
 * `veil` binary: `{manifest, files: {name: Buffer}, manifestBytes}`.
 */
export function openStored(dataDir, id) {
  const veil = process.env.VEIL_BIN;
  assert.ok(veil, 'VEIL_BIN names the veil binary (set by cargo xtask test)');
  const files = storedFiles(dataDir);
  const envelope = files.find((p) => p.includes(id) && p.endsWith('envelope.veil'));
  const key = files.find((p) => p.endsWith('recipient-key.pem'));
  assert.ok(envelope && key, `the server holds ${id}'s envelope and its recipient key`);
  const out = mkdtempSync(join(tmpdir(), 'veil-opened-'));
  const manifestBytes = execFileSync(veil, ['open', '--key', key, '-o', out, envelope]);
  const contents = Object.fromEntries(readdirSync(out).map((n) => [n, readFileSync(join(out, n))]));
  return { manifest: JSON.parse(manifestBytes), manifestBytes, files: contents, envelope };
}
