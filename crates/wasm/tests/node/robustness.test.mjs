// Hostile input at the JavaScript boundary: random and mutated bytes into every parser behind the
// API. Each call must succeed or fail with a VeilError; a panic in wasm would surface as a
// `RuntimeError: unreachable` (and poison the instance), which this test would catch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { veil } from './helpers.mjs';

/** A small deterministic PRNG (xorshift32), so a failure replays. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x100000000; };
}

function randomBytes(next, max) {
  const b = new Uint8Array(Math.floor(next() * max));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(next() * 256);
  return b;
}

/** Inputs that look like the real thing for a few bytes, then go wrong. */
const PREFIXES = ['solid x\nfacet normal 0 0 0\nouter loop\nvertex 1 2', 'ply\nformat ascii 1.0\nelement vertex 2\n', 'v 1 2 3\nf 1 2',
  '\xd2\x84\x58', '\x85\x66VEIL-1\x83\x10\x01\x02', '{"seq":0,"time":1', '{"subject":"p-1","events":[{"kind":"given"'];

async function outcome(f) {
  try {
    await f();
    return 'ok';
  } catch (e) {
    assert.ok(veil.isVeilError(e), `not a VeilError: ${e?.stack ?? e}`);
    return e.code;
  }
}

test('random and truncated bytes never crash any parser', async () => {
  const next = rng(0x5eed);
  const codes = new Set();
  for (let i = 0; i < 300; i++) {
    const prefix = new TextEncoder().encode(PREFIXES[i % PREFIXES.length]);
    const tail = randomBytes(next, 300);
    const bytes = new Uint8Array([...prefix.subarray(0, Math.floor(next() * (prefix.length + 1))), ...tail]);
    const text = new TextDecoder().decode(bytes);
    codes.add(await outcome(() => veil.deidentifyModel(bytes, { seed: 1 })));
    codes.add(await outcome(() => veil.deidentifyModel(bytes, { seed: 1, inputFormat: ['stl', 'obj', 'ply'][i % 3] })));
    codes.add(await outcome(() => veil.verifyReading(bytes, [bytes], [bytes], { now: 1 })));
    codes.add(await outcome(() => veil.verifyReading(bytes, text, text)));
    codes.add(await outcome(() => veil.openArtifact(bytes, '-----BEGIN PRIVATE KEY-----\n' + Buffer.from(bytes.subarray(0, 40)).toString('base64') + '\n-----END PRIVATE KEY-----\n')));
    codes.add(await outcome(() => veil.verifyAuditLog(text, bytes)));
    codes.add(await outcome(() => veil.decideConsent({ jurisdictions: ['DE'], age: 30 }, 'treatment', text, { at: 0 })));
    codes.add(await outcome(() => veil.importFhirConsent(text)));
    codes.add(await outcome(() => veil.pseudonym(bytes, text, text)));
  }
  // The module still works after all of that.
  assert.equal(veil.pseudonym('00'.repeat(32), 'a', 'b').length, 52);
  assert.ok(codes.size > 5, [...codes].join(', '));
});
