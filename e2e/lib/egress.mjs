// What leaves the page and what the server keeps, for the tests that prove nothing identifying
// does: every request body captured whole through CDP, identifiers searched in every encoding a
// page could send them in, the server's files, and the artifact as its recipient opens it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

/** Roles and the purposes they may read (crates/ingest: a recipient user's role bounds its purposes). */
const ROLE_OF = { treatment: 'clinician', 'care-operations': 'clinician', research: 'researcher', 'ai-training': 'researcher' };

/**
 * Open a stored artifact as its recipient does: through the server's read API, which decides the
 * read (role, purpose, consent) and logs it. The stored envelope is encrypted at rest under a key
 * only the server holds, so the bytes on disk alone no longer open. A recipient user with the role
 * that covers the artifact's purpose is added with `veil admin users add` (what the operator runs),
 * then `veil fetch` exports what it may read. Call it before any withdrawal of that artifact
 * (afterwards the read is refused `consent-withdrawn`).
 */
export function openStored(dataDir, id) {
  const veil = process.env.VEIL_BIN;
  const server = process.env.VEIL_URL;
  assert.ok(veil && server, 'VEIL_BIN and VEIL_URL name the veil binary and the server (set by cargo xtask test)');
  const files = storedFiles(dataDir);
  const record = files.find((p) => p.includes(id) && p.endsWith('manifest.json'));
  assert.ok(record, `the server holds ${id}'s verified manifest`);
  const purpose = JSON.parse(readFileSync(record, 'utf8')).manifest.purpose;
  const base = purpose.split('/')[0];
  const role = ROLE_OF[base];
  assert.ok(role, `a recipient role reads purpose ${purpose}`);
  const work = mkdtempSync(join(tmpdir(), 'veil-opened-'));
  const key = join(work, 'user.pem');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  execFileSync(veil, ['admin', 'users', 'add', '--data', dataDir, '--role', role, '--purposes', base, '--key', key, '--name', `e2e ${role} ${id.slice(0, 8)}`]);
  const out = join(work, 'out');
  execFileSync(veil, ['fetch', '--server', server, '--user-key', key, '--purpose', base, '-o', out]);
  const dir = join(out, id);
  const manifestBytes = readFileSync(join(dir, 'manifest.json'));
  const contents = Object.fromEntries(
    readdirSync(dir)
      .filter((n) => n !== 'manifest.json' && n !== 'decision.json')
      .map((n) => [n, readFileSync(join(dir, n))]),
  );
  const decision = JSON.parse(readFileSync(join(dir, 'decision.json'), 'utf8'));
  return { manifest: JSON.parse(manifestBytes).manifest, manifestBytes, files: contents, decision };
}
