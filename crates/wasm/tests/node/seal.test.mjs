// pseudonym, sealArtifact, openArtifact: interchangeable with `veil seal` / `veil open` in both
// directions (an envelope sealed in the portal opens with the CLI and the other way round), the
// same pseudonyms, and every sealing error code a portal can reach.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { veil, tempDir, runVeil, veilJson, rejectsCode, throwsCode, cbor, asJson, CborMap, Tagged, hideWebCrypto, patchSubtle } from './helpers.mjs';
import { decode, openEnvelope, sealEnvelope, signArtifact } from './forge.mjs';

let tmp;
let keys;
before(() => {
  tmp = tempDir();
  const dir = join(tmp.dir, 'keys');
  veilJson(['seal', '--generate-keys', dir]);
  const other = join(tmp.dir, 'other');
  veilJson(['seal', '--generate-keys', other]);
  const read = (d, f) => readFileSync(join(d, f), 'utf8');
  keys = {
    dir,
    recipientPub: read(dir, 'recipient.pub.pem'),
    recipientPriv: read(dir, 'recipient.pem'),
    client: read(dir, 'client.pem'),
    clientPub: read(dir, 'client.pub.pem'),
    secret: read(dir, 'pseudonym.secret').trim(),
    otherRecipientPriv: read(other, 'recipient.pem'),
    otherClient: read(other, 'client.pem'),
    otherClientPub: read(other, 'client.pub.pem'),
  };
});
after(() => tmp.cleanup());

// Keyed by the names the artifact gives them (contents are named by role: a model, then a file).
let FILES;
let DEID;
before(async () => {
  const tetra = [[[0, 0, 0], [0, 10, 0], [10, 0, 0]], [[0, 0, 0], [10, 0, 0], [0, 0, 10]], [[0, 0, 0], [0, 0, 10], [0, 10, 0]], [[10, 0, 0], [0, 10, 0], [0, 0, 10]]];
  const stl = `solid veil\n${tetra.map((t) => `facet normal 0 0 0\nouter loop\n${t.map((v) => `vertex ${v.join(' ')}\n`).join('')}endloop\nendfacet\n`).join('')}endsolid veil\n`;
  DEID = await veil.deidentifyModel(new TextEncoder().encode(stl), { seed: 7, hausdorff: true });
  FILES = { 'model-1.stl': DEID.model, 'file-1.json': new TextEncoder().encode('{"systolic":120}') };
});

function baseOptions(extra = {}) {
  return { recipientKey: keys.recipientPub, clientKey: keys.client, pseudonymSecret: keys.secret, purpose: 'treatment', recipientId: 'clinic-a', createdMs: 1_790_000_000_000, ...extra };
}

test('with and without WebCrypto: byte-identical signed artifacts, envelopes that open with `veil open`, and WebCrypto used when present', async () => {
  const opts = baseOptions({ deidReport: DEID.shareableReport, consentEvent: 'ab'.repeat(32) });
  const used = { digest: 0, encrypt: 0 };
  const count = (name) => patchSubtle(name, (f) => (...args) => { used[name] += 1; return f(...args); });
  const unspy = [count('digest'), count('encrypt')];
  let fast;
  try {
    fast = await veil.sealArtifact(FILES, opts);
  } finally {
    unspy.forEach((u) => u());
  }
  // One digest per content, one of the Sig_structure the client key signs and one for the
  // artifact id; one AES-256-GCM.
  assert.deepEqual(used, { digest: Object.keys(FILES).length + 2, encrypt: 1 });
  const restore = hideWebCrypto();
  let slow;
  try {
    slow = await veil.sealArtifact(FILES, opts);
  } finally {
    restore();
  }
  // WebCrypto rejecting or throwing falls back to Rust for that step.
  const broken = [];
  for (const name of ['digest', 'encrypt']) {
    for (const fail of [() => Promise.reject(new Error('no')), () => { throw new Error('no'); }]) {
      const unpatch = patchSubtle(name, () => fail);
      try {
        broken.push(await veil.sealArtifact(FILES, opts));
      } finally {
        unpatch();
      }
    }
  }
  const signed = (s) => Buffer.from(openEnvelope(s.envelope, keys.recipientPriv).signed);
  for (const [i, other] of [slow, ...broken].entries()) {
    // ES256 with RFC 6979 nonces over the same manifest and contents: the same COSE_Sign1 bytes.
    assert.deepEqual(signed(other), signed(fast), `seal ${i}`);
    assert.equal(other.envelope.length, fast.envelope.length);
    const { artifactId, envelope, ...rest } = other;
    const { artifactId: _id, envelope: _env, ...fastRest } = fast;
    assert.deepEqual(rest, fastRest);
  }
  for (const [i, s] of [fast, slow, ...broken].entries()) {
    assert.equal(s.artifactId, createHash('sha256').update(s.envelope).digest('hex'), `seal ${i}`);
    assert.equal(s.bytes, s.envelope.length);
    const path = join(tmp.dir, `both-ways-${i}.veil`);
    writeFileSync(path, s.envelope);
    const manifest = veilJson(['open', '--key', join(keys.dir, 'recipient.pem'), '--client-pub', join(keys.dir, 'client.pub.pem'), '-o', join(tmp.dir, `both-ways-${i}`), path]);
    assert.equal(manifest.artifact_id, s.artifactId);
  }
});

test('pseudonyms equal the CLI pseudonyms; secret as hex, hex bytes or raw bytes', () => {
  const input = join(tmp.dir, 'p.txt');
  writeFileSync(input, 'x');
  for (const [recipient, purpose] of [['clinic-a', 'treatment'], ['lab-7', 'research'], ['lab-7', 'ai-training']]) {
    const cli = veilJson(['seal', '--recipient', join(keys.dir, 'recipient.pub.pem'), '--client-key', join(keys.dir, 'client.pem'),
      '--purpose', purpose, '--pseudonym-secret', join(keys.dir, 'pseudonym.secret'), '--recipient-id', recipient, '-o', join(tmp.dir, 'p.veil'), input]);
    assert.equal(veil.pseudonym(keys.secret, recipient, purpose), cli.pseudonym);
    assert.equal(veil.pseudonym(new TextEncoder().encode(keys.secret + '\n'), recipient, purpose), cli.pseudonym);
    assert.equal(veil.pseudonym(Buffer.from(keys.secret, 'hex'), recipient, purpose), cli.pseudonym);
    assert.match(cli.pseudonym, /^[a-z2-7]{52}$/);
  }
  assert.notEqual(veil.pseudonym(keys.secret, 'clinic-a', 'treatment'), veil.pseudonym(keys.secret, 'clinic-b', 'treatment'));
});

test('consentContext seals the ledger event minimised, the jurisdictions and an age band, as `veil seal` does', async () => {
  const event = {
    kind: 'given', purpose: 'treatment', at: '2026-01-10T09:00:00Z',
    channel: { type: 'kiosk', staff_id: 'nurse Ann Lee' }, guardian: 'Jane Roe',
  };
  const sealed = await veil.sealArtifact(FILES, baseOptions({ deidReport: DEID.shareableReport, consentContext: { event, jurisdictions: ['de', 'US'], ageBand: 34 } }));
  const path = join(tmp.dir, 'context.veil');
  writeFileSync(path, sealed.envelope);
  const manifest = veilJson(['open', '--key', join(keys.dir, 'recipient.pem'), path]);
  const context = manifest.consent.context;
  assert.deepEqual(context.jurisdictions, ['DE', 'US']);
  assert.equal(context.age_band.below, null);
  assert.ok(context.age_band.from < 34);
  assert.equal(context.event.channel.staff_id, 'withheld');
  assert.equal(context.event.guardian, 'withheld');
  assert.doesNotMatch(JSON.stringify(manifest), /Jane|Ann Lee/);
  assert.match(manifest.consent.event_hash, /^[0-9a-f]{64}$/);
  // The CLI seals the same event to the same hash.
  const eventFile = join(tmp.dir, 'event.json');
  writeFileSync(eventFile, JSON.stringify(event));
  const note = join(tmp.dir, 'note.txt');
  writeFileSync(note, 'x');
  veilJson(['seal', '--recipient', join(keys.dir, 'recipient.pub.pem'), '--client-key', join(keys.dir, 'client.pem'), '--purpose', 'treatment', '--pseudonym-secret', join(keys.dir, 'pseudonym.secret'),
    '--consent-event-file', eventFile, '--jurisdictions', 'DE,US', '--age-band', '34', '-o', join(tmp.dir, 'cli-context.veil'), note]);
  const cli = veilJson(['open', '--key', join(keys.dir, 'recipient.pem'), join(tmp.dir, 'cli-context.veil')]);
  assert.equal(cli.consent.event_hash, manifest.consent.event_hash);
  assert.deepEqual(cli.consent.context, context);
  // Another hash beside the event, an unknown jurisdiction: refused with their codes.
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ deidReport: DEID.shareableReport, consentEvent: 'ab'.repeat(32), consentContext: { event, jurisdictions: ['DE'], ageBand: '21+' } })), 'consent-event-mismatch');
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ deidReport: DEID.shareableReport, consentContext: { jurisdictions: ['XX'], ageBand: 40 } })), 'unknown-jurisdiction');
});

test('an artifact sealed here opens with `veil open`, with the same manifest and contents', async () => {
  const sealed = await veil.sealArtifact(FILES, baseOptions({ deidReport: DEID.shareableReport, consentEvent: 'ab'.repeat(32) }));
  assert.deepEqual(sealed.contents, ['model-1.stl', 'file-1.json']);
  assert.ok(sealed.envelope instanceof Uint8Array);
  assert.equal(sealed.bytes, sealed.envelope.length);
  assert.equal(sealed.recipient, 'clinic-a');
  assert.equal(sealed.pseudonym, veil.pseudonym(keys.secret, 'clinic-a', 'treatment'));
  const path = join(tmp.dir, 'portal.veil');
  writeFileSync(path, sealed.envelope);
  const out = join(tmp.dir, 'opened');
  const manifest = veilJson(['open', '--key', join(keys.dir, 'recipient.pem'), '--client-pub', join(keys.dir, 'client.pub.pem'), '-o', out, path]);
  assert.equal(manifest.artifact_id, sealed.artifactId);
  assert.equal(manifest.pseudonym, sealed.pseudonym);
  assert.equal(manifest.purpose, 'treatment');
  assert.equal(manifest.created_ms, 1_790_000_000_000);
  assert.equal(manifest.consent.event_hash, 'ab'.repeat(32));
  assert.deepEqual(readdirSync(out).sort(), Object.keys(FILES).sort());
  for (const [name, bytes] of Object.entries(FILES)) assert.deepEqual(new Uint8Array(readFileSync(join(out, name))), bytes);
  // Opening here gives the very manifest the CLI printed.
  const opened = await veil.openArtifact(sealed.envelope, keys.recipientPriv, { clientKey: keys.clientPub });
  assert.deepEqual(asJson(opened.manifest), manifest);
  assert.deepEqual(opened.files['model-1.stl'], FILES['model-1.stl']);
  // The files argument may be an array of {name, bytes}.
  const again = await veil.sealArtifact(Object.entries(FILES).map(([name, bytes]) => ({ name, bytes })), baseOptions());
  assert.deepEqual((await veil.openArtifact(again.envelope, keys.recipientPriv)).manifest.contents, manifest.contents);
});

test('an artifact sealed by `veil seal` opens here with the manifest `veil open` prints', async () => {
  const input = join(tmp.dir, 'scan.stl');
  writeFileSync(input, FILES['model-1.stl']);
  const envelope = join(tmp.dir, 'cli.veil');
  const sealed = veilJson(['seal', '--recipient', join(keys.dir, 'recipient.pub.pem'), '--client-key', join(keys.dir, 'client.pem'),
    '--purpose', 'research', '--pseudonym-secret', join(keys.dir, 'pseudonym.secret'), '--created-ms', '1790000000000', '-o', envelope, input]);
  const bytes = new Uint8Array(readFileSync(envelope));
  const opened = await veil.openArtifact(bytes, keys.recipientPriv);
  assert.equal(opened.artifactId, sealed.artifact_id);
  assert.deepEqual(asJson(opened.manifest), veilJson(['open', '--key', join(keys.dir, 'recipient.pem'), envelope]));
  assert.deepEqual(opened.files['model-1.stl'], FILES['model-1.stl']);
  // Default recipient id = the recipient key id, as in the CLI.
  assert.equal(opened.manifest.recipient, sealed.kid);
});

test('every sealing error code a portal can reach', async () => {
  const sealed = await veil.sealArtifact(FILES, baseOptions());
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ recipientKey: 'not a key' })), 'bad-key');
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ clientKey: keys.recipientPub })), 'bad-key');
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ pseudonymSecret: 'abc' })), 'bad-pseudonym-secret');
  throwsCode(() => veil.pseudonym(new Uint8Array(31), 'a', 'b'), 'bad-pseudonym-secret');
  // bad-name, duplicate-name: no longer reachable, the portal's names never become content names.
  assert.deepEqual((await veil.sealArtifact({ '../etc/passwd': new Uint8Array(1) }, baseOptions())).contents, ['file-1']);
  assert.deepEqual((await veil.sealArtifact([{ name: 'a', bytes: new Uint8Array(1) }, { name: 'a', bytes: new Uint8Array(2) }], baseOptions())).contents, ['file-1', 'file-2']);
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ purpose: '' })), 'bad-manifest');
  await rejectsCode(veil.openArtifact(new Uint8Array([1, 2, 3]), keys.recipientPriv), 'bad-envelope');
  await rejectsCode(veil.openArtifact(sealed.envelope, keys.otherRecipientPriv), 'wrong-recipient');
  const tampered = Uint8Array.from(sealed.envelope);
  tampered[tampered.length - 5] ^= 1;
  await rejectsCode(veil.openArtifact(tampered, keys.recipientPriv), 'decrypt-failed');
  // Pinned to a client that did not sign: the signature is checked with the pinned key first.
  await rejectsCode(veil.openArtifact(sealed.envelope, keys.recipientPriv, { clientKey: keys.otherClientPub }), 'bad-signature');
  // client-key-mismatch: signed by the pinned key, but naming another client key (next test).
  // unsupported-suite: the envelope's suite array names HPKE KEM 0x0020 (X25519).
  const suite = Buffer.from(cbor([16, 1, 2]));
  const at = Buffer.from(sealed.envelope).indexOf(suite);
  assert.ok(at > 0, 'the suite [16, 1, 2] is in the envelope');
  const rebuilt = Buffer.concat([Buffer.from(sealed.envelope).subarray(0, at), Buffer.from(cbor([32, 1, 2])), Buffer.from(sealed.envelope).subarray(at + suite.length)]);
  await rejectsCode(veil.openArtifact(new Uint8Array(rebuilt), keys.recipientPriv), 'unsupported-suite');
  // A P-384 key is not a P-256 key.
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' });
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ recipientKey: p384 })), 'bad-key');
  // rng-failed, encode-failed, seal-failed: platform failures; unknown-subject, already-enrolled:
  // the identity vault is not part of this package. The forged artifacts are in the next test.

  await rejectsCode(veil.sealArtifact(FILES), 'bad-argument');
  await rejectsCode(veil.sealArtifact({}, baseOptions()), 'bad-argument');
  await rejectsCode(veil.sealArtifact('model-1.stl', baseOptions()), 'bad-argument');
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ consentEvent: 'xyz' })), 'bad-argument');
  await rejectsCode(veil.sealArtifact(FILES, baseOptions({ consentDecision: 'maybe' })), 'bad-argument');
  await rejectsCode(veil.sealArtifact(FILES, { ...baseOptions(), purpose: undefined }), 'bad-argument');
});

test('forged and tampered artifacts inside a valid envelope: every verification code', async () => {
  const sealed = await veil.sealArtifact(FILES, baseOptions());
  // An independent HPKE opens the real envelope (so the forger's toolkit is right) ...
  const { signed } = openEnvelope(sealed.envelope, keys.recipientPriv);
  const cose = decode(signed);
  assert.ok(cose instanceof Tagged && cose.tag === 18);
  const [protectedHeader, , payloadBytes, signature] = cose.value;
  // ... and what it seals again opens here: the round trip is sound.
  const resealed = sealEnvelope(signed, keys.recipientPub);
  assert.deepEqual((await veil.openArtifact(resealed, keys.recipientPriv)).files['model-1.stl'], FILES['model-1.stl']);

  const open = (pt) => veil.openArtifact(sealEnvelope(pt, keys.recipientPub), keys.recipientPriv);
  const payload = decode(payloadBytes);
  const files = payload.entries.find(([k]) => k === 'files')[1];
  const withFiles = (entries) => cbor(new CborMap(payload.entries.map(([k, v]) => [k, k === 'files' ? new CborMap(entries) : v])));
  const forged = (newPayload) => signArtifact(protectedHeader, newPayload, keys.client);

  await rejectsCode(open(Buffer.from('not a COSE_Sign1')), 'bad-artifact');
  await rejectsCode(open(cbor(new Tagged(18, [cbor(new CborMap([[1, -35]])), new CborMap([]), payloadBytes, signature]))), 'bad-algorithm');
  const flipped = Buffer.from(signature);
  flipped[0] ^= 1;
  await rejectsCode(open(cbor(new Tagged(18, [protectedHeader, new CborMap([]), payloadBytes, flipped]))), 'bad-signature');
  // Validly signed by the client key, but the contents disagree with the manifest.
  const changed = files.entries.map(([k, v]) => [k, k === 'model-1.stl' ? Buffer.from('solid evil\nendsolid evil\n') : v]);
  await rejectsCode(open(forged(withFiles(changed))), 'hash-mismatch');
  await rejectsCode(open(forged(withFiles(files.entries.filter(([k]) => k !== 'model-1.stl')))), 'missing-file');
  await rejectsCode(open(forged(withFiles([...files.entries, ['zzz.txt', Buffer.from('smuggled')]]))), 'unlisted-file');
  // Re-signed by another client whose key the opener pins: the signature holds, but the manifest
  // names the first client.
  const resignedByOther = sealEnvelope(signArtifact(protectedHeader, payloadBytes, keys.otherClient), keys.recipientPub);
  await rejectsCode(veil.openArtifact(resignedByOther, keys.recipientPriv, { clientKey: keys.otherClientPub }), 'client-key-mismatch');
  await rejectsCode(veil.openArtifact(resignedByOther, keys.recipientPriv), 'bad-signature');
  // The unaltered payload re-signed by the same key is accepted: the codes above come from the edits.
  assert.equal((await open(forged(payloadBytes))).manifest.pseudonym, sealed.pseudonym);
});

test('the consent decision: only allow is sealed, written as `allow`; `permit` is its legacy spelling', async () => {
  const wireDecision = (envelope) => {
    const [, , payloadBytes] = decode(openEnvelope(envelope, keys.recipientPriv).signed).value;
    const field = (map, key) => map.entries.find(([k]) => k === key)[1];
    return field(field(field(decode(payloadBytes), 'manifest'), 'consent'), 'decision');
  };
  for (const consentDecision of [undefined, 'allow', 'permit']) {
    const sealed = await veil.sealArtifact(FILES, baseOptions({ consentDecision }));
    assert.equal(wireDecision(sealed.envelope), 'allow', String(consentDecision));
    assert.equal((await veil.openArtifact(sealed.envelope, keys.recipientPriv)).manifest.consent.decision, 'allow');
  }
  for (const consentDecision of ['needs-consent', 'deny']) {
    await rejectsCode(veil.sealArtifact(FILES, baseOptions({ consentDecision })), 'consent-not-granted');
  }
  // The CLI: the same default, the same alias, the same refusal.
  const input = join(tmp.dir, 'decision.json');
  writeFileSync(input, '{}');
  const cliSeal = (...extra) => runVeil(['seal', '--recipient', join(keys.dir, 'recipient.pub.pem'), '--client-key', join(keys.dir, 'client.pem'),
    '--purpose', 'treatment', '--pseudonym-secret', join(keys.dir, 'pseudonym.secret'), ...extra, '-o', join(tmp.dir, 'decision.veil'), input]);
  for (const extra of [[], ['--consent-decision', 'permit']]) {
    assert.equal(cliSeal(...extra).status, 0);
    assert.equal(wireDecision(readFileSync(join(tmp.dir, 'decision.veil'))), 'allow');
  }
  const refused = cliSeal('--consent-decision', 'deny');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /consent-not-granted/);
  // An artifact written with the legacy `permit` (as the Python reference vectors are) opens as
  // `allow`; a word that is no decision is a malformed manifest.
  const sealed = await veil.sealArtifact(FILES, baseOptions());
  const [protectedHeader, , payloadBytes] = decode(openEnvelope(sealed.envelope, keys.recipientPriv).signed).value;
  const withDecision = (word) => {
    const edit = (map, key, f) => new CborMap(map.entries.map(([k, v]) => [k, k === key ? f(v) : v]));
    const payload = edit(decode(payloadBytes), 'manifest', (m) => edit(m, 'consent', (c) => edit(c, 'decision', () => word)));
    return sealEnvelope(signArtifact(protectedHeader, cbor(payload), keys.client), keys.recipientPub);
  };
  assert.equal((await veil.openArtifact(withDecision('permit'), keys.recipientPriv)).manifest.consent.decision, 'allow');
  assert.equal((await veil.openArtifact(withDecision('deny'), keys.recipientPriv)).manifest.consent.decision, 'deny');
  await rejectsCode(veil.openArtifact(withDecision('maybe'), keys.recipientPriv), 'bad-manifest');
});

test('the client key can stay outside the module: a WebCrypto signer, checked before use', async () => {
  const { subtle } = globalThis.crypto;
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const raw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  const spki = Buffer.from(await subtle.exportKey('spki', pair.publicKey)).toString('base64');
  const publicPem = `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g).join('\n')}\n-----END PUBLIC KEY-----\n`;
  let calls = 0;
  const sign = async (toBeSigned) => {
    calls++;
    assert.ok(toBeSigned instanceof Uint8Array);
    return subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, toBeSigned);
  };
  const options = { ...baseOptions(), clientKey: undefined, sign, clientPublicKey: raw };
  const sealed = await veil.sealArtifact(FILES, options);
  assert.equal(calls, 1);
  // The recipient (here, and `veil open` pinned to that key) sees the WebCrypto key as the signer.
  const opened = await veil.openArtifact(sealed.envelope, keys.recipientPriv, { clientKey: publicPem });
  assert.equal(opened.manifest.client_key, Buffer.from(raw).toString('hex'));
  const path = join(tmp.dir, 'webcrypto.veil');
  writeFileSync(path, sealed.envelope);
  const pub = join(tmp.dir, 'webcrypto.pub.pem');
  writeFileSync(pub, publicPem);
  assert.equal(veilJson(['open', '--key', join(keys.dir, 'recipient.pem'), '--client-pub', pub, path]).artifact_id, sealed.artifactId);
  // WebCrypto's digest failing while a slow signer works: the Sig_structure is hashed in Rust
  // instead, and the failed digest is never an unhandled rejection.
  const unhandled = [];
  const onUnhandled = (e) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  const unpatch = patchSubtle('digest', () => () => Promise.reject(new Error('no digest')));
  try {
    const slowSign = async (m) => {
      await new Promise((r) => setTimeout(r, 20));
      return sign(m);
    };
    const fallback = await veil.sealArtifact(FILES, { ...options, sign: slowSign });
    await new Promise((r) => setTimeout(r, 20));
    const reopened = await veil.openArtifact(fallback.envelope, keys.recipientPriv, { clientKey: publicPem });
    assert.equal(reopened.artifactId, fallback.artifactId);
  } finally {
    unpatch();
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
  // A PEM public key and a synchronous signer work too.
  const other = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const signature = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new Uint8Array(1)));
  assert.equal(signature.length, 64);
  // A signature that does not verify under clientPublicKey is refused before anything is sealed.
  await rejectsCode(veil.sealArtifact(FILES, { ...options, clientPublicKey: publicPem, sign: () => new Uint8Array(64).fill(1) }), 'bad-signature');
  await rejectsCode(veil.sealArtifact(FILES, { ...options, sign: (m) => subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, other.privateKey, m) }), 'bad-signature');
  await rejectsCode(veil.sealArtifact(FILES, { ...options, sign: () => 'not bytes' }), 'bad-argument');
  await rejectsCode(veil.sealArtifact(FILES, { ...options, clientPublicKey: undefined }), 'bad-argument');
  const refusal = new Error('the user cancelled the signature');
  await assert.rejects(veil.sealArtifact(FILES, { ...options, sign: async () => { throw refusal; } }), (e) => e === refusal);
});

test('evidence carries its challenge salt: hex in the opened manifest, absent when not given', async () => {
  const salt = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const reading = new Uint8Array([0xd2, 0x84, 0x40]);
  const sealed = await veil.sealArtifact(FILES, baseOptions({
    evidence: [{ reading, chain: [], challengeSalt: salt }, { reading, challengeSalt: Buffer.from(salt).toString('hex') }, { reading }],
  }));
  const { manifest } = await veil.openArtifact(sealed.envelope, keys.recipientPriv, { clientKey: keys.clientPub });
  const hex = Buffer.from(salt).toString('hex');
  assert.equal(manifest.device_evidence[0].challenge_salt, hex);
  assert.equal(manifest.device_evidence[1].challenge_salt, hex);
  assert.ok(!('challenge_salt' in manifest.device_evidence[2]));
  // The CLI reads the same manifest.
  const path = join(tmp.dir, 'salted.veil');
  writeFileSync(path, sealed.envelope);
  const opened = veilJson(['open', '--key', join(keys.dir, 'recipient.pem'), path]);
  assert.equal(opened.device_evidence[0].challenge_salt, hex);
  for (const challengeSalt of [salt.subarray(1), new Uint8Array(33), 'zz', 7]) {
    await rejectsCode(veil.sealArtifact(FILES, baseOptions({ evidence: [{ reading, challengeSalt }] })), 'bad-argument');
  }
});
