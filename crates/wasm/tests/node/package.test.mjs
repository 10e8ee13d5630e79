// The package as a consumer sees it: its name and version, the three builds, typed definitions
// without `any` for every function, and the startup budget (instantiate under 100 ms in Node).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { veil, ROOT, NPM_DIR } from './helpers.mjs';

const API = ['deidentifyModel', 'verifyReading', 'boundChallenge', 'decideConsent', 'exportFhirConsent', 'importFhirConsent', 'consentErasure', 'breachSchedule',
  'pseudonym', 'sealArtifact', 'openArtifact', 'verifyAuditLog', 'isVeilError', 'version'];

test('name, version and files of every build', () => {
  const workspace = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8');
  const version = /\[workspace\.package\][^[]*?\nversion = "([^"]+)"/.exec(workspace)[1];
  assert.equal(veil.version(), version);
  for (const target of ['web', 'bundler', 'nodejs']) {
    const pkg = JSON.parse(readFileSync(join(NPM_DIR, target, 'package.json'), 'utf8'));
    assert.equal(pkg.name, '@veil/core', target);
    assert.equal(pkg.version, version, target);
    for (const f of pkg.files) assert.ok(existsSync(join(NPM_DIR, target, f)), `${target}: ${f} listed but missing`);
    for (const f of ['veil_core_bg.wasm', 'veil_core.js', 'veil_core.d.ts', 'README.md']) assert.ok(pkg.files.includes(f), `${target} ships ${f}`);
  }
});

test('typed definitions: every function, precise types, no `any`', () => {
  const dts = readFileSync(join(NPM_DIR, 'nodejs', 'veil_core.d.ts'), 'utf8');
  const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  assert.doesNotMatch(code, /(?<![-\w"])any(?![-\w"])/, 'no `any` in the definitions');
  for (const name of API) {
    assert.match(code, new RegExp(`export function ${name}\\(`), `${name} is declared`);
    assert.equal(typeof veil[name], 'function', `${name} is exported`);
  }
  assert.match(code, /export function deidentifyModel\(bytes: Uint8Array, options\?: DeidentifyOptions\): Promise<DeidentifyResult>;/);
  assert.match(code, /export function verifyReading\(coseBytes: Uint8Array, chainDer: Uint8Array\[\] \| string, trustStore: TrustStoreInput, options\?: VerifyReadingOptions\): Promise<VerifiedReading>;/);
  assert.match(code, /export interface VeilError extends Error/);
  assert.match(code, /export type VeilErrorCode =/);
});

test('instantiating the module in a fresh Node takes under 100 ms', () => {
  const js = join(NPM_DIR, 'nodejs', 'veil_core.js');
  const times = [];
  for (let i = 0; i < 3; i++) {
    const out = execFileSync(process.execPath, ['-e', `const t = performance.now(); require(${JSON.stringify(js)}); console.log(performance.now() - t);`], { encoding: 'utf8' });
    times.push(Number(out));
  }
  const best = Math.min(...times);
  assert.ok(best < 100, `instantiate took ${best.toFixed(1)} ms (runs: ${times.map((t) => t.toFixed(1)).join(', ')})`);
});

test('the bundler and web builds load and answer like the nodejs build', async () => {
  const secret = '00'.repeat(32);
  const expected = veil.pseudonym(secret, 'clinic-a', 'treatment');
  // The bundler build imports its .wasm as an ES module, as webpack and Vite do; Node does that
  // behind --experimental-wasm-modules.
  const bundler = join(NPM_DIR, 'bundler', 'veil_core.js');
  const out = execFileSync(process.execPath, ['--experimental-wasm-modules', '--no-warnings', '--input-type=module', '-e',
    `const m = await import(${JSON.stringify(bundler)}); console.log(m.pseudonym(${JSON.stringify(secret)}, 'clinic-a', 'treatment'));`], { encoding: 'utf8' });
  assert.equal(out.trim(), expected);
  // The web build is initialised with the module's bytes (a page passes a URL or a fetch).
  const web = await import(join(NPM_DIR, 'web', 'veil_core.js'));
  await web.default({ module_or_path: readFileSync(join(NPM_DIR, 'web', 'veil_core_bg.wasm')) });
  assert.equal(web.pseudonym(secret, 'clinic-a', 'treatment'), expected);
});
