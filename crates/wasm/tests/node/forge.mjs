// A forger's toolkit for the seal tests: an independent RFC 9180 HPKE (base mode, DHKEM(P-256,
// HKDF-SHA256), HKDF-SHA256, AES-256-GCM: the VEIL-1 suite [16, 1, 2]) on node's crypto, and a
// the shared CBOR decoder (crates/core/js/cbor.mjs), to open a real envelope, alter the signed artifact inside (re-signing it
// with the client's real key where a valid signature is needed) and seal it again. This is how the
// tests reach the codes that only a tampered or forged artifact can produce.
import { createCipheriv, createDecipheriv, createECDH, createHash, createHmac, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { cbor, CborMap, Tagged, decode } from '../../../core/js/cbor.mjs';

export { decode };

const i2osp = (n, len) => { const b = Buffer.alloc(len); b.writeUIntBE(n, 0, len); return b; };
const EMPTY = Buffer.alloc(0);
const SUITE_KEM = Buffer.concat([Buffer.from('KEM'), i2osp(0x10, 2)]);
const SUITE_HPKE = Buffer.concat([Buffer.from('HPKE'), i2osp(0x10, 2), i2osp(1, 2), i2osp(2, 2)]);
export const INFO = Buffer.from('veil artifact v1');

const hmac = (key, data) => createHmac('sha256', key).update(data).digest();
const extract = (salt, ikm) => hmac(salt.length ? salt : Buffer.alloc(32), ikm);
function expand(prk, info, length) {
  const blocks = [];
  let t = EMPTY;
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    t = hmac(prk, Buffer.concat([t, info, Buffer.from([i])]));
    blocks.push(t);
  }
  return Buffer.concat(blocks).subarray(0, length);
}
const labeledExtract = (suite, salt, label, ikm) => extract(salt, Buffer.concat([Buffer.from('HPKE-v1'), suite, Buffer.from(label), ikm]));
const labeledExpand = (suite, prk, label, info, length) =>
  expand(prk, Buffer.concat([i2osp(length, 2), Buffer.from('HPKE-v1'), suite, Buffer.from(label), info]), length);

function keySchedule(dh, enc, pkRm, info) {
  const eae = labeledExtract(SUITE_KEM, EMPTY, 'eae_prk', dh);
  const shared = labeledExpand(SUITE_KEM, eae, 'shared_secret', Buffer.concat([enc, pkRm]), 32);
  const context = Buffer.concat([Buffer.from([0]), labeledExtract(SUITE_HPKE, EMPTY, 'psk_id_hash', EMPTY), labeledExtract(SUITE_HPKE, EMPTY, 'info_hash', info)]);
  const secret = labeledExtract(SUITE_HPKE, shared, 'secret', EMPTY);
  return { key: labeledExpand(SUITE_HPKE, secret, 'key', context, 32), nonce: labeledExpand(SUITE_HPKE, secret, 'base_nonce', context, 12) };
}

/** Uncompressed SEC1 of a PEM public key. */
export function sec1(publicPem) {
  const jwk = createPublicKey(publicPem).export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

/** HPKE SealBase: {enc, ciphertext} (tag last). */
export function hpkeSeal(pkRm, info, aad, pt) {
  const e = createECDH('prime256v1');
  const enc = e.generateKeys();
  const { key, nonce } = keySchedule(e.computeSecret(pkRm), enc, pkRm, info);
  const c = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  return { enc, ciphertext: Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]) };
}

/** HPKE OpenBase with the recipient's private key (PEM). */
export function hpkeOpen(privatePem, enc, info, aad, ciphertext) {
  const e = createECDH('prime256v1');
  e.setPrivateKey(Buffer.from(createPrivateKey(privatePem).export({ format: 'jwk' }).d, 'base64url'));
  const { key, nonce } = keySchedule(e.computeSecret(enc), enc, e.getPublicKey(), info);
  const d = createDecipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  return Buffer.concat([d.update(ciphertext.subarray(0, ciphertext.length - 16)), d.final()]);
}

/** The parts of a VEIL-1 envelope and the signed artifact inside it. */
export function openEnvelope(envelope, recipientPrivatePem) {
  const [magic, suite, enc, kid, ciphertext] = decode(envelope);
  const signed = hpkeOpen(recipientPrivatePem, enc, INFO, kid, ciphertext);
  return { magic, suite, enc, kid, signed };
}

/** Seal `pt` (a signed artifact, or anything) to the recipient as a VEIL-1 envelope; the kid is
 * SHA-256 of the recipient's uncompressed SEC1 key, the AAD. */
export function sealEnvelope(pt, recipientPublicPem) {
  const pkRm = sec1(recipientPublicPem);
  const kid = createHash('sha256').update(pkRm).digest();
  const { enc, ciphertext } = hpkeSeal(pkRm, INFO, kid, pt);
  return new Uint8Array(cbor(['VEIL-1', [16, 1, 2], enc, kid, ciphertext]));
}

/** COSE_Sign1 (tagged) over `payload` with `protectedHeader`, signed by the client key (PEM). */
export function signArtifact(protectedHeader, payload, clientPem) {
  const toBeSigned = cbor(['Signature1', protectedHeader, new Uint8Array(0), payload]);
  const signature = sign('sha256', toBeSigned, { key: createPrivateKey(clientPem), dsaEncoding: 'ieee-p1363' });
  return cbor(new Tagged(18, [protectedHeader, new CborMap([]), payload, signature]));
}
