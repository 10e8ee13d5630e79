// The JavaScript CBOR every Node and browser test uses (crates/core/js/cbor.mjs) against the Rust
// original: the head and Sig_structure vectors `crates/core/tests/js_vectors.rs` keeps equal to
// what `veil_core` writes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.mjs';
import { head, sigStructure, decode, cbor, CborMap, Tagged } from '../../../core/js/cbor.mjs';

const vectors = JSON.parse(readFileSync(join(ROOT, 'crates/core/tests/vectors/cbor-js.json'), 'utf8'));

test('heads are byte-identical to veil_core::cbor at every size boundary', () => {
  assert.ok(vectors.heads.length >= 90);
  for (const { major, arg, hex } of vectors.heads) {
    assert.equal(head(major, BigInt(arg)).toString('hex'), hex, `major ${major} arg ${arg}`);
  }
});

test('Sig_structure is byte-identical to veil_core::cose', () => {
  for (const v of vectors.sig_structures) {
    const got = sigStructure(Buffer.from(v.protected, 'hex'), Buffer.from(v.payload, 'hex'));
    assert.equal(got.toString('hex'), v.hex);
  }
});

test('decode reads back what cbor writes and refuses trailing or missing bytes', () => {
  const value = new Tagged(18, [Buffer.from([1, 2]), new CborMap([[1, -7], ['k', 'v']]), 2n ** 64n - 1n, null, true]);
  const bytes = cbor(value);
  assert.deepEqual(cbor(decode(bytes)), bytes);
  assert.throws(() => decode(Buffer.concat([bytes, Buffer.from([0])])), /trailing/);
  assert.throws(() => decode(bytes.subarray(0, bytes.length - 1)), /truncated|out of range/i);
});
