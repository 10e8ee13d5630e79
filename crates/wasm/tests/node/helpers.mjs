// Shared helpers of the @veil/core node tests: loading the `nodejs` build, running the `veil` CLI
// the results are compared with, and a small CBOR encoder to craft COSE readings the CLI would
// never produce (wrong algorithm, wrong serial) signed with a real device key.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
export const NPM_DIR = process.env.VEIL_NPM_DIR ?? join(TARGET, 'npm');
export const VEIL_BIN = process.env.VEIL_BIN ?? join(TARGET, 'debug', 'veil');
export const SYNTH_BIN = process.env.VEIL_SYNTH ?? join(TARGET, 'debug', 'examples', 'synth_model');

for (const [what, path] of [['the nodejs build (cargo xtask npm)', join(NPM_DIR, 'nodejs', 'veil_core.js')], ['the veil CLI', VEIL_BIN]]) {
  if (!existsSync(path)) throw new Error(`${what} is missing at ${path}: run \`cargo xtask test\` or build it first`);
}

/** The package under test, loaded as a consumer would (`require('@veil/core')` of the nodejs build). */
export const veil = createRequire(import.meta.url)(join(NPM_DIR, 'nodejs', 'veil_core.js'));

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'veil-npm-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run the CLI; returns {status, stdout, stderr}. */
export function runVeil(args, options = {}) {
  const r = spawnSync(VEIL_BIN, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...options });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run the CLI and parse its JSON stdout; it must exit 0. */
export function veilJson(args) {
  const r = runVeil(args);
  assert.equal(r.status, 0, `veil ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Write a synthetic model (binary STL) with `veil_mesh::synth`; returns its bytes. */
export function synthModel(kind, triangles, out) {
  if (!existsSync(SYNTH_BIN)) throw new Error(`${SYNTH_BIN} is missing: cargo build -p veil-wasm --example synth_model`);
  execFileSync(SYNTH_BIN, [kind, String(triangles), out]);
  return readFileSync(out);
}

/** Assert that `fn()` throws a VeilError with `code`; returns the error. */
export function throwsCode(fn, code) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected a VeilError ${code}, nothing was thrown`);
  assertVeilError(caught, code);
  return caught;
}

/** Assert that the promise rejects with a VeilError with `code`; returns the error. */
export async function rejectsCode(promise, code) {
  let caught;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected a rejection ${code}, the promise resolved`);
  assertVeilError(caught, code);
  return caught;
}

function assertVeilError(e, code) {
  assert.ok(e instanceof Error, `not an Error: ${e}`);
  assert.equal(e.name, 'VeilError');
  assert.equal(e.code, code, `expected code ${code}, got ${e.code}: ${e.message}`);
  assert.ok(veil.isVeilError(e));
  assert.ok(e.message.length > 0);
}

/** The JSON value a result would have after a trip through JSON (what the CLI prints). */
export function asJson(v) {
  return JSON.parse(JSON.stringify(v));
}

// ---- CBOR: the shared JavaScript copy of veil_core's encoder ------------------------------------

export { cbor, CborMap, Tagged, sigStructure } from '../../../core/js/cbor.mjs';
import { cbor, CborMap, Tagged, sigStructure } from '../../../core/js/cbor.mjs';

/** A tagged COSE_Sign1 reading signed with a device key (PEM), after the device profile:
 * protected {1: alg, 4: kid}, payload {v, dev, ctr, ts, nonce, svc, chr, val}. */
export function signReading({ keyPem, certDer, alg = -7, dev, ctr, ts, nonce, svc = 0x1810, chr = 0x2a35, val }) {
  const kid = createHash('sha256').update(certDer).digest();
  const protectedHeader = cbor(new CborMap([[1, alg], [4, kid]]));
  const payload = cbor(new CborMap([
    ['v', 1], ['dev', dev], ['ctr', ctr], ['ts', ts], ['nonce', nonce], ['svc', svc], ['chr', chr], ['val', val],
  ]));
  const toBeSigned = sigStructure(protectedHeader, payload);
  const signature = sign('sha256', toBeSigned, { key: createPrivateKey(keyPem), dsaEncoding: 'ieee-p1363' });
  return cbor(new Tagged(18, [protectedHeader, new CborMap([]), payload, signature]));
}

/** DER certificates of a PEM bundle, in order. */
export function pemToDer(pem) {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)]
    .map((m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
}

// ---- WebCrypto: hiding it, or replacing one of its methods, for the tests of both paths --------

/** Hide `globalThis.crypto.subtle` (as on an insecure-context page): the package then uses its
 * pure-Rust primitives. `crypto.getRandomValues` stays. Returns the function that restores it. */
export function hideWebCrypto() {
  Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
  return () => { delete globalThis.crypto.subtle; };
}

/** Replace `crypto.subtle[name]` with `make(original)` (bound to the real `SubtleCrypto`).
 * Returns the function that restores it. */
export function patchSubtle(name, make) {
  const subtle = globalThis.crypto.subtle;
  const original = subtle[name].bind(subtle);
  Object.defineProperty(subtle, name, { value: make(original), configurable: true, writable: true });
  return () => { delete subtle[name]; };
}
