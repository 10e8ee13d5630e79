// `cargo xtask bench npm`: `verifyReading` and `sealArtifact` of `@veil/core` against WebCrypto
// alone and against their own pure-Rust fallback, in Node (the nodejs build) and in headless
// Chromium (the web build, on a cross-origin isolated page), on the same reading and keys made
// here with the `veil` CLI. Prints a line per figure and `RESULT {json}` per runtime for xtask.
//
//   node e2e/bench/npm-crypto.mjs --npm target/npm --veil target/release/veil [--iterations 300] [--megabytes 50] [--rounds 5]
//
// Needs the package built by `cargo xtask npm`.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cbor, CborMap, Tagged, sigStructure } from '../../crates/core/js/cbor.mjs';
import { launch, openPage } from '../lib/browser.mjs';
import { npmCrypto } from './npm-crypto.js';
import { serveBench } from './serve.mjs';

const { values } = parseArgs({
  options: {
    npm: { type: 'string' },
    veil: { type: 'string' },
    iterations: { type: 'string', default: '300' },
    megabytes: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '5' },
  },
});
if (!values.npm || !values.veil) {
  console.error('usage: npm-crypto.mjs --npm DIR --veil BIN [--iterations N] [--megabytes N] [--rounds N]');
  process.exit(2);
}
const opts = { iterations: Number(values.iterations), megabytes: Number(values.megabytes), rounds: Number(values.rounds) };
const NOW = 1_790_000_000;
const hex = (b) => Buffer.from(b).toString('hex');

// A certified device (root -> intermediate -> device) and one reading it signed, as in the tests.
const dir = mkdtempSync(join(tmpdir(), 'veil-npm-bench-'));
execFileSync(values.veil, ['device', 'provision', '--out', join(dir, 'acme'), '--manufacturer', 'Acme Medical', '--devices', '1',
  '--intermediate', '--prefix', 'BP7', '--now', String(NOW), '--days', '30']);
execFileSync(values.veil, ['seal', '--generate-keys', join(dir, 'keys')]);
const read = (...p) => readFileSync(join(dir, ...p), 'utf8');
const certPem = read('acme', 'BP7-000001.cert.pem');
const certDer = new X509Certificate(certPem).raw;
const nonce = Buffer.alloc(32, 7);
const protectedHeader = cbor(new CborMap([[1, -7], [4, createHash('sha256').update(certDer).digest()]]));
const payload = cbor(new CborMap([['v', 1], ['dev', 'BP7-000001'], ['ctr', 51], ['ts', NOW], ['nonce', nonce], ['svc', 0x1810],
  ['chr', 0x2a35], ['val', Buffer.from([0x00, 0x78, 0x00, 0x50, 0x00, 0x5d, 0x00])]]));
const toBeSigned = sigStructure(protectedHeader, payload);
const signature = sign('sha256', toBeSigned, { key: createPrivateKey(read('acme', 'BP7-000001.key.pem')), dsaEncoding: 'ieee-p1363' });
const fx = {
  cose: hex(cbor(new Tagged(18, [protectedHeader, new CborMap([]), payload, signature]))),
  chainPem: read('acme', 'BP7-000001.chain.pem'),
  rootPem: read('acme', 'root.cert.pem'),
  nonce: hex(nonce),
  now: NOW + 10,
  counter: 51,
  toBeSigned: hex(toBeSigned),
  signature: hex(signature),
  devicePub: hex(createPublicKey(certPem).export({ type: 'spki', format: 'der' }).subarray(-65)),
  recipientPub: read('keys', 'recipient.pub.pem'),
  clientKey: read('keys', 'client.pem'),
  secret: read('keys', 'pseudonym.secret').trim(),
};
rmSync(dir, { recursive: true, force: true });

function report(runtime, r) {
  const v = r.verify;
  const s = r.seal;
  console.log(`${runtime}: verifyReading ${v.npm_verify.toFixed(4)} ms; WebCrypto verify alone ${v.webcrypto_verify.toFixed(4)} ms `
    + `(importKey + verify ${v.webcrypto_import_verify.toFixed(4)} ms): ${(v.npm_verify / v.webcrypto_verify).toFixed(2)}x (target <= 2x); `
    + `new roots every call ${v.npm_verify_new_roots.toFixed(3)} ms; crypto.subtle hidden (p256 in wasm) ${v.npm_verify_rust.toFixed(3)} ms`);
  console.log(`${runtime}: sealArtifact ${r.megabytes} MB ${s.npm_seal.toFixed(0)} ms; crypto.subtle hidden ${s.npm_seal_rust.toFixed(0)} ms; `
    + `WebCrypto alone: AES-256-GCM ${s.webcrypto_aes_gcm.toFixed(0)} ms, SHA-256 ${s.webcrypto_sha256.toFixed(0)} ms`);
  console.log(`RESULT ${JSON.stringify({ area: `npm-${runtime}`, ...r })}`);
}

const node = createRequire(import.meta.url)(resolve(values.npm, 'nodejs', 'veil_core.js'));
report('node', await npmCrypto(node, fx, opts));

const server = await serveBench({ pkg: resolve(values.npm, 'web'), index: 'npm-crypto.html' });
const { browser, close } = await launch();
let failed = false;
try {
  const { page, errors } = await openPage(browser);
  page.setDefaultTimeout(0);
  await page.goto(`${server.url}npm-crypto.html`);
  await page.waitForFunction('window.npmCrypto !== undefined');
  console.log(`browser: ${await browser.version()}; cross-origin isolated: ${await page.evaluate('crossOriginIsolated')}`);
  report('chromium', await page.evaluate((f, o) => window.npmCrypto(f, o), fx, opts));
  if (errors.length) {
    console.error(`page errors:\n${errors.join('\n')}`);
    failed = true;
  }
} catch (e) {
  console.error(`npm crypto bench page: ${e?.message ?? e}`);
  failed = true;
} finally {
  await close();
  server.close();
}
process.exit(failed ? 1 : 0);
