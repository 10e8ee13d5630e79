// What leaves the page and what the server keeps, for the tests that prove nothing identifying
// does: every request body captured whole through CDP, identifiers searched in every encoding a
// page could send them in, the server's files, and the artifact as its recipient opens it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every request the page sends that has a body, captured through CDP (binary bodies too). */
export async function captureBodies(page) {
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable', { maxPostDataSize: 64 * 1024 * 1024 });
  const bodies = [];
  cdp.on('Network.requestWillBeSent', async ({ requestId, request }) => {
    if (!request.hasPostData && request.method !== 'POST' && request.method !== 'PUT') return;
    const parts = (request.postDataEntries ?? []).map((entry) => Buffer.from(entry.bytes ?? '', 'base64'));
    let body = Buffer.concat(parts);
    if (body.length === 0 && request.hasPostData) {
      try {
        const r = await cdp.send('Network.getRequestPostData', { requestId });
        body = Buffer.from(r.postData, r.base64Encoded ? 'base64' : 'latin1');
      } catch { /* the request is gone */ }
    }
    bodies.push({ url: request.url, method: request.method, body });
  });
  return bodies;
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

/** Every body sent must be non-empty, and none may carry a planted identifier. */
export function assertBodiesClean(planted, bodies) {
  assert.ok(bodies.length > 0, 'request bodies were captured');
  for (const { url, method, body } of bodies) {
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
