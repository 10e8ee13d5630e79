// verifyReading: the same verdict and the same JSON as `veil device verify`, and every rejection
// code, on devices provisioned and readings signed by the CLI (and, for the cases the CLI cannot
// sign, crafted here and signed with the device's real key).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { veil, tempDir, runVeil, veilJson, throwsCode, rejectsCode, asJson, signReading, pemToDer, hideWebCrypto, patchSubtle } from './helpers.mjs';

const NOW = 1_790_000_000;
const NONCE_HEX = '07'.repeat(32);
const NONCE = new Uint8Array(32).fill(7);
// Blood Pressure Measurement 0x2A35: flags 0, SFLOAT 120 / 80 / 93 mmHg.
const BP_VALUE = new Uint8Array([0x00, 0x78, 0x00, 0x50, 0x00, 0x5d, 0x00]);

let tmp;
let dev; // files of device 1
let other; // a second manufacturer
before(() => {
  tmp = tempDir();
  const p = join(tmp.dir, 'acme');
  veilJson(['device', 'provision', '--out', p, '--manufacturer', 'Acme Medical', '--devices', '2', '--intermediate',
    '--prefix', 'BP7', '--now', String(NOW), '--days', '30']);
  const o = join(tmp.dir, 'other');
  veilJson(['device', 'provision', '--out', o, '--manufacturer', 'Other Corp', '--devices', '1', '--now', String(NOW)]);
  const read = (d, f) => readFileSync(join(d, f), 'utf8');
  dev = {
    dir: p,
    root: read(p, 'root.cert.pem'),
    chainPem: read(p, 'BP7-000001.chain.pem'),
    chain: pemToDer(read(p, 'BP7-000001.chain.pem')),
    keyPem: read(p, 'BP7-000001.key.pem'),
    certDer: pemToDer(read(p, 'BP7-000001.cert.pem'))[0],
    chain2: pemToDer(read(p, 'BP7-000002.chain.pem')),
  };
  other = { root: read(o, 'root.cert.pem') };
});
after(() => tmp.cleanup());

/** Sign with the CLI as device 1; returns the path and bytes. */
function cliSign(name, { counter = 51, measurement = 'bp:120/80/93,pulse=70', ts = NOW, alg = 'ES256', nonce = NONCE_HEX } = {}) {
  const out = join(tmp.dir, name);
  const r = runVeil(['device', 'sign', '--key', join(dev.dir, 'BP7-000001.key.pem'), '--cert', join(dev.dir, 'BP7-000001.cert.pem'),
    '--counter', String(counter), '--nonce', nonce, '--measurement', measurement, '--ts', String(ts), '--alg', alg, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  return { path: out, bytes: new Uint8Array(readFileSync(out)) };
}

/** `veil device verify` on the same inputs: its JSON. */
function cliVerify(path, { nonce, now = NOW + 10, trust = join(dev.dir, 'root.cert.pem'), chain = join(dev.dir, 'BP7-000001.chain.pem') } = {}) {
  const args = ['device', 'verify', '--trust', trust, '--chain', chain, '--now', String(now), path];
  if (nonce) args.push('--nonce', nonce);
  return JSON.parse(runVeil(args).stdout);
}

// Every case runs twice: with the host's WebCrypto (the ECDSA check in `crypto.subtle.verify`) and
// with `crypto.subtle` hidden (p256 in wasm): the same verdicts, the same JSON.
for (const webCrypto of [true, false]) {
  const suffix = webCrypto ? ' (WebCrypto)' : ' (crypto.subtle hidden: pure Rust)';
  describe(`verifyReading${suffix}`, () => {
    let restore;
    before(() => { restore = webCrypto ? () => {} : hideWebCrypto(); });
    after(() => restore());

    test(`a verified reading equals the CLI JSON field for field, for every measurement kind and both algorithms${suffix}`, async () => {
      const cases = [
        ['bp:120/80/93,pulse=70', 'ES256'], ['temp:98.6F', 'ESP256'], ['glucose:95', 'ES256'], ['spo2:98/72', 'ES256'],
        ['weight:72.5', 'ESP256'], ['hr:72,rr=0.8/0.82', 'ES256'], ['raw:1810:2A35:00780050005D00', 'ES256'], ['raw:FFF0:FFF1:0102', 'ES256'],
      ];
      for (const [i, [measurement, alg]] of cases.entries()) {
        const r = cliSign(`m${i}.cose`, { measurement, alg, counter: 100 + i });
        const cli = cliVerify(r.path, { nonce: NONCE_HEX });
        assert.equal(cli.status, 'verified', JSON.stringify(cli));
        delete cli.status;
        // Chain as DER list and as PEM text, nonce as bytes and as hex: the same answer.
        const a = await veil.verifyReading(r.bytes, dev.chain, dev.root, { nonce: NONCE, now: NOW + 10 });
        const b = await veil.verifyReading(r.bytes, dev.chainPem, new TextEncoder().encode(dev.root), { nonce: NONCE_HEX, now: BigInt(NOW + 10) });
        assert.deepEqual(asJson(a), cli, measurement);
        assert.deepEqual(asJson(b), cli, measurement);
        // Keys in the order of the library's VerifiedReading (the CLI sorts them).
        const order = ['device', 'counter', 'timestamp', 'nonce', 'service', 'characteristic', 'algorithm', 'measurement', 'cose', 'chain'];
        assert.deepEqual(Object.keys(a), order, measurement);
        assert.deepEqual(Object.keys(b), order, measurement);
        assert.equal(a.algorithm, alg);
      }
    });

    test(`the trust store may be DER roots; lastCounter accepts number and bigint${suffix}`, async () => {
      const r = cliSign('c.cose', { counter: 51 });
      const roots = pemToDer(dev.root);
      const v = await veil.verifyReading(r.bytes, dev.chain, roots, { lastCounter: 50, now: NOW });
      assert.equal(v.counter, 51);
      assert.equal(v.device.serial, 'BP7-000001');
      assert.equal(v.device.manufacturer, 'Acme Medical');
      assert.equal((await veil.verifyReading(r.bytes, dev.chain, roots, { lastCounter: 50n, now: NOW })).counter, 51);
    });

    test(`every rejection code, each equal to the CLI reason where the CLI can be asked${suffix}`, async () => {
      const good = cliSign('good.cose', { counter: 51 });
      const opts = { nonce: NONCE, now: NOW + 10 };
      const agree = (path, code, cliOpts = {}) => {
        const cli = cliVerify(path, { nonce: NONCE_HEX, ...cliOpts });
        assert.equal(cli.status, 'rejected');
        assert.equal(cli.reason, code);
      };

      // malformed: not CBOR at all.
      const junk = join(tmp.dir, 'junk.cose');
      writeFileSync(junk, 'not a reading');
      await rejectsCode(veil.verifyReading(new TextEncoder().encode('not a reading'), dev.chain, dev.root, opts), 'malformed');
      agree(junk, 'malformed');

      // unsupported-algorithm: ES384 (-35) in the protected header.
      const es384 = signReading({ keyPem: dev.keyPem, certDer: dev.certDer, alg: -35, dev: 'BP7-000001', ctr: 52, ts: NOW, nonce: NONCE, val: BP_VALUE });
      await rejectsCode(veil.verifyReading(es384, dev.chain, dev.root, opts), 'unsupported-algorithm');

      // bad-signature: one bit of the signature flipped.
      const flipped = Uint8Array.from(good.bytes);
      flipped[flipped.length - 1] ^= 1;
      const flippedPath = join(tmp.dir, 'flipped.cose');
      writeFileSync(flippedPath, flipped);
      await rejectsCode(veil.verifyReading(flipped, dev.chain, dev.root, opts), 'bad-signature');
      agree(flippedPath, 'bad-signature');

      // untrusted-chain: another manufacturer's root.
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, other.root, opts), 'untrusted-chain');
      agree(good.path, 'untrusted-chain', { trust: join(tmp.dir, 'other', 'root.cert.pem') });

      // expired-certificate: the device certificate (30 days) has expired by now.
      const later = NOW + 40 * 86400;
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { now: later }), 'expired-certificate');
      agree(good.path, 'expired-certificate', { now: later });

      // revoked: the serial is on the revocation list (array or text).
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { ...opts, revoked: ['BP7-000001'] }), 'revoked');
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { ...opts, revoked: '# revoked\nBP7-000001\n' }), 'revoked');

      // serial-mismatch: signed by device 1's key, claiming device 2's serial.
      const wrongDev = signReading({ keyPem: dev.keyPem, certDer: dev.certDer, dev: 'BP7-000002', ctr: 52, ts: NOW, nonce: NONCE, val: BP_VALUE });
      await rejectsCode(veil.verifyReading(wrongDev, dev.chain, dev.root, opts), 'serial-mismatch');
      // The crafted reading is a valid one when it tells the truth (the encoder is right).
      const truthful = signReading({ keyPem: dev.keyPem, certDer: dev.certDer, dev: 'BP7-000001', ctr: 52, ts: NOW, nonce: NONCE, val: BP_VALUE });
      assert.equal((await veil.verifyReading(truthful, dev.chain, dev.root, opts)).measurement.systolic, 120);

      // nonce-mismatch: answers another challenge.
      const otherNonce = new Uint8Array(32).fill(9);
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { ...opts, nonce: otherNonce }), 'nonce-mismatch');
      agree(good.path, 'nonce-mismatch', { nonce: '09'.repeat(32) });

      // replayed-counter: not greater than the last one seen.
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { ...opts, lastCounter: 51 }), 'replayed-counter');

      // stale: an hour old.
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { nonce: NONCE, now: NOW + 3600 }), 'stale');
      agree(good.path, 'stale', { now: NOW + 3600 });
      // ...unless the window allows it.
      assert.equal((await veil.verifyReading(good.bytes, dev.chain, dev.root, { now: NOW + 3600, maxAgeSecs: 7200 })).counter, 51);

      // Another device's chain with this reading: its key does not verify the signature.
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain2, dev.root, opts), 'bad-signature');
    });

    test(`wrong argument types are bad-argument, never a crash${suffix}`, async () => {
      const good = cliSign('args.cose');
      await rejectsCode(veil.verifyReading('bytes', dev.chain, dev.root), 'bad-argument');
      await rejectsCode(veil.verifyReading(good.bytes, 'not pem', dev.root, { now: NOW }), 'malformed');
      await rejectsCode(veil.verifyReading(good.bytes, [1, 2], dev.root), 'bad-argument');
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, 42), 'bad-argument');
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { lastCounter: -1 }), 'bad-argument');
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { lastCounter: 1.5 }), 'bad-argument');
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, { nonce: 'zz' }), 'bad-argument');
      await rejectsCode(veil.verifyReading(good.bytes, dev.chain, dev.root, 'options'), 'bad-argument');
    });
  });
}

test('WebCrypto and p256 give the same verdict on edge-case signatures, and WebCrypto is the path taken when present', async () => {
  // P-256 group order (SEC 2 §2.4.2).
  const N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n;
  const good = cliSign('edge.cose', { counter: 51 });
  const at = good.bytes.length - 64; // the signature r || s ends the COSE_Sign1
  const hex = (n) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
  const withPart = (offset, n) => { const b = Uint8Array.from(good.bytes); b.set(hex(n), at + offset); return b; };
  const r = BigInt('0x' + Buffer.from(good.bytes.subarray(at, at + 32)).toString('hex'));
  const s = BigInt('0x' + Buffer.from(good.bytes.subarray(at + 32)).toString('hex'));
  const variants = {
    good: good.bytes,
    highS: withPart(32, N - s), // the other valid S: both accept it or both refuse it
    zeroS: withPart(32, 0n),
    zeroR: withPart(0, 0n),
    sIsN: withPart(32, N),
    rPlusN: withPart(0, (r + N) % (1n << 256n)),
    maxS: withPart(32, (1n << 256n) - 1n),
  };
  const outcome = async (bytes) => {
    try {
      return JSON.stringify(asJson(await veil.verifyReading(bytes, dev.chain, dev.root, { nonce: NONCE, now: NOW + 10 })));
    } catch (e) {
      return e.code;
    }
  };
  let calls = 0;
  const unspy = patchSubtle('verify', (verify) => (...args) => { calls += 1; return verify(...args); });
  const viaWebCrypto = {};
  try {
    for (const [name, bytes] of Object.entries(variants)) viaWebCrypto[name] = await outcome(bytes);
  } finally {
    unspy();
  }
  assert.equal(calls, Object.keys(variants).length, 'every signature went to crypto.subtle.verify');
  const restore = hideWebCrypto();
  try {
    for (const [name, bytes] of Object.entries(variants)) assert.equal(viaWebCrypto[name], await outcome(bytes), name);
  } finally {
    restore();
  }
  assert.notEqual(viaWebCrypto.good, 'bad-signature');
  for (const name of ['zeroS', 'zeroR', 'sIsN', 'rPlusN', 'maxS']) assert.equal(viaWebCrypto[name], 'bad-signature', name);

  // A WebCrypto that fails (throws, or rejects) leaves the decision to p256: same answers.
  for (const broken of [() => { throw new Error('no'); }, () => Promise.reject(new Error('no'))]) {
    const unpatch = patchSubtle('verify', () => broken);
    try {
      for (const [name, bytes] of Object.entries(variants)) assert.equal(await outcome(bytes), viaWebCrypto[name], name);
    } finally {
      unpatch();
    }
  }
  // A WebCrypto that lies is believed, as a host that replaced this module's exports would be:
  // the host is the page's own, and this is what proves the answer comes from WebCrypto.
  const liar = patchSubtle('verify', () => async () => false);
  try {
    assert.equal(await outcome(variants.good), 'bad-signature');
  } finally {
    liar();
  }
});

test('boundChallenge: SHA-256(client key || salt), the known answer, and a reading answers it for its client only', async () => {
  // docs/device-profile.md §5: the P-256 base point as the client key, the bytes 0..31 as the salt.
  const G = '046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5';
  const salt = Uint8Array.from({ length: 32 }, (_, i) => i);
  const known = '65f951cd6986a89f9b5e083379b8ea967435545f4f7fd396178f8ccdc0da00d9';
  assert.equal(Buffer.from(veil.boundChallenge(Buffer.from(G, 'hex'), salt)).toString('hex'), known);
  assert.equal(Buffer.from(veil.boundChallenge(G, Buffer.from(salt).toString('hex'))).toString('hex'), known);

  // A real client key (the uncompressed point ends its SPKI), checked against Node's own SHA-256.
  const pointOf = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }).subarray(-65);
  const client = pointOf();
  const challenge = veil.boundChallenge(client, salt);
  assert.ok(challenge instanceof Uint8Array && challenge.length === 32);
  assert.deepEqual(Buffer.from(challenge), createHash('sha256').update(Buffer.concat([client, salt])).digest());

  // The device signs the bound challenge; it verifies for this client and salt, for no other.
  const cose = signReading({ keyPem: dev.keyPem, certDer: dev.certDer, dev: 'BP7-000001', ctr: 70, ts: NOW, nonce: challenge, val: BP_VALUE });
  const v = await veil.verifyReading(cose, dev.chain, dev.root, { nonce: challenge, now: NOW + 10 });
  assert.equal(v.nonce, Buffer.from(challenge).toString('hex'));
  await rejectsCode(veil.verifyReading(cose, dev.chain, dev.root, { nonce: veil.boundChallenge(pointOf(), salt), now: NOW + 10 }), 'nonce-mismatch');
  await rejectsCode(veil.verifyReading(cose, dev.chain, dev.root, { nonce: veil.boundChallenge(client, new Uint8Array(32)), now: NOW + 10 }), 'nonce-mismatch');

  // Wrong sizes and shapes are bad-argument: a compressed point, a short salt, not hex.
  throwsCode(() => veil.boundChallenge(client.subarray(0, 64), salt), 'bad-argument');
  const compressed = Buffer.concat([Buffer.from([2 + (client[64] & 1)]), client.subarray(1, 33)]);
  throwsCode(() => veil.boundChallenge(compressed, salt), 'bad-argument');
  throwsCode(() => veil.boundChallenge(Buffer.concat([Buffer.from([5]), client.subarray(1)]), salt), 'bad-argument');
  throwsCode(() => veil.boundChallenge(client, salt.subarray(1)), 'bad-argument');
  throwsCode(() => veil.boundChallenge(client, 'zz'), 'bad-argument');
  throwsCode(() => veil.boundChallenge(42, salt), 'bad-argument');
});
