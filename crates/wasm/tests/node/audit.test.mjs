// verifyAuditLog: a log written here by an independent implementation of the audit chain
// (docs/artifact-format.md §5: canonical CBOR, SHA-256 chain, ECDSA P-256 over the hash, signed by
// node's crypto) verifies, and every kind of tampering is found at the right entry with its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { veil, throwsCode } from './helpers.mjs';
import { head } from '../../../core/js/cbor.mjs';

// ---- RFC 8949 §4.2.1 deterministic CBOR of JSON data without floats ----------------------------

function canonical(v) {
  if (v === null) return Buffer.from([0xf6]);
  if (v === true) return Buffer.from([0xf5]);
  if (v === false) return Buffer.from([0xf4]);
  if (typeof v === 'number') {
    assert.ok(Number.isInteger(v), 'the test encoder writes integers only');
    return v >= 0 ? head(0, v) : head(1, -1 - v);
  }
  if (typeof v === 'string') { const b = Buffer.from(v, 'utf8'); return Buffer.concat([head(3, b.length), b]); }
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(canonical)]);
  const entries = Object.entries(v).map(([k, x]) => [canonical(k), canonical(x)]);
  entries.sort(([a], [b]) => Buffer.compare(a, b));
  return Buffer.concat([head(5, entries.length), ...entries.flat()]);
}

function makeLog(privateKey, entries) {
  let prev = Buffer.alloc(32);
  return entries.map((e, seq) => {
    const entry = { seq, time: e.time, actor: e.actor, event: e.event, subject: e.subject ?? null, details: e.details ?? null };
    const hash = createHash('sha256').update(prev).update(canonical(entry)).digest();
    const sig = sign('sha256', hash, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const line = { ...entry, prev: prev.toString('hex'), hash: hash.toString('hex'), sig: sig.toString('hex') };
    prev = hash;
    return line;
  });
}

const lines = (log) => log.map((l) => JSON.stringify(l)).join('\n') + '\n';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PUB_PEM = publicKey.export({ type: 'spki', format: 'pem' });
const JWK = publicKey.export({ format: 'jwk' });
const PUB_SEC1 = new Uint8Array(Buffer.concat([Buffer.from([4]), Buffer.from(JWK.x, 'base64url'), Buffer.from(JWK.y, 'base64url')]));
const LOG = makeLog(privateKey, [
  { time: 1_790_000_000_000, actor: 'consent', event: 'consent-change', subject: 'tuse3kxzcf7cck52nnaflb4colxh6rsbcgeotbo2kh4qcebvkvia', details: { purpose: 'research/this-study', kind: 'given' } },
  { time: 1_790_000_001_000, actor: 'devices', event: 'device-verification', details: { outcome: 'rejected', reason: 'bad-signature', counter: 51 } },
  { time: 1_790_000_002_000, actor: 'models', event: 'deidentification', details: { triangles: 1000000, flags: [], ok: true, delta: -3 } },
  { time: 1_790_000_003_000, actor: 'outbox', event: 'seal', subject: 'tuse3kxzcf7cck52nnaflb4colxh6rsbcgeotbo2kh4qcebvkvia', details: { artifact: '2f95'.repeat(16) } },
  { time: 1_790_000_004_000, actor: 'outbox', event: 'partner-specific-event', details: null },
]);
const HEAD = LOG.at(-1).hash;

test('a log written by an independent implementation verifies, with its head, under a PEM or SEC1 key', () => {
  assert.deepEqual(veil.verifyAuditLog(lines(LOG), PUB_PEM), { entries: 5, head: HEAD });
  assert.deepEqual(veil.verifyAuditLog(new TextEncoder().encode(lines(LOG)), PUB_SEC1, { expectedHead: HEAD }), { entries: 5, head: HEAD });
  assert.deepEqual(veil.verifyAuditLog('', PUB_PEM), { entries: 0, head: '00'.repeat(32) });
});

test('every break is found at the first broken entry, with its code', () => {
  const edit = (i, f) => LOG.map((l, j) => (j === i ? f({ ...l }) : l));
  const broken = (log, code, index, options) => {
    const e = throwsCode(() => veil.verifyAuditLog(lines(log), PUB_PEM, options), code);
    assert.equal(e.index, index, `${code} at ${e.index}, expected ${index}`);
  };
  broken([LOG[0], LOG[1], LOG[3], LOG[4]], 'seq-mismatch', 2); // an entry removed
  broken(edit(3, (l) => ({ ...l, prev: 'ff'.repeat(32) })), 'prev-mismatch', 3);
  broken(edit(1, (l) => ({ ...l, details: { ...l.details, outcome: 'accepted' } })), 'hash-mismatch', 1); // history rewritten
  broken(edit(4, (l) => ({ ...l, sig: l.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')) })), 'bad-signature', 4);
  broken(LOG.slice(0, 4), 'head-mismatch', 4, { expectedHead: HEAD }); // cut off the end
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
  const e = throwsCode(() => veil.verifyAuditLog(lines(LOG), other), 'bad-signature');
  assert.equal(e.index, 0);
  throwsCode(() => veil.verifyAuditLog(lines(LOG) + 'not json\n', PUB_PEM), 'bad-line');
  throwsCode(() => veil.verifyAuditLog('{"seq": 0}\n', PUB_PEM), 'bad-line');
  // bad-field, signing-failed, stale-entry belong to writing a log, not to verifying one.
  throwsCode(() => veil.verifyAuditLog(lines(LOG), 'not a key'), 'bad-key');
  throwsCode(() => veil.verifyAuditLog(lines(LOG), 42), 'bad-argument');
  throwsCode(() => veil.verifyAuditLog(lines(LOG), PUB_PEM, { expectedHead: 'abc' }), 'bad-argument');
});
