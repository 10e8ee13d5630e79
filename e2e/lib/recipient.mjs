// The recipient side of the e2e server (issue #19): artifacts sealed and uploaded with the CLI a
// clinic's batch client uses (`veil seal`, `veil upload`), recipient users added with the
// operator's command (`veil admin users add`), Chromium's virtual authenticator for passkeys, and
// the access log as an auditor exports it (a signed `POST /v1/access-log/export`, verified).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function env() {
  const { VEIL_BIN, VEIL_DATA, VEIL_URL, VEIL_INVITE } = process.env;
  assert.ok(VEIL_BIN && VEIL_DATA && VEIL_URL, 'VEIL_BIN, VEIL_DATA and VEIL_URL are set by cargo xtask test');
  return { veil: VEIL_BIN, data: VEIL_DATA, url: VEIL_URL, invite: VEIL_INVITE };
}

/** The server's origin under the name passkeys need (an RP ID is a domain: `localhost`, never `127.0.0.1`). */
export function localhostOrigin() {
  const url = new URL(env().url);
  return `http://localhost:${url.port}`;
}

/**
 * Seal one small document per purpose with a fresh client key (`veil seal`) and upload them with
 * the suite's invitation (`veil upload --invite`): `{ [purpose]: id }`.
 */
export async function uploadDocuments(purposes) {
  const { veil, url, invite } = env();
  const work = mkdtempSync(join(tmpdir(), 'veil-recipient-'));
  const keys = join(work, 'keys');
  execFileSync(veil, ['seal', '--generate-keys', keys]);
  const recipient = await (await fetch(`${url}/v1/recipient-key`)).json();
  const recipientPem = join(work, 'recipient.pub.pem');
  writeFileSync(recipientPem, recipient.public_key_pem);
  const sealed = purposes.map((purpose) => {
    const letter = join(work, `${purpose}-letter.pdf`);
    writeFileSync(letter, `%PDF-1.4 a ${purpose} letter, sealed ${Date.now()}`);
    const out = join(work, `${purpose}.veil`);
    execFileSync(veil, [
      'seal', '--recipient', recipientPem, '--client-key', join(keys, 'client.pem'), '--purpose', purpose,
      '--pseudonym-secret', join(keys, 'pseudonym.secret'), '-o', out, letter,
    ]);
    return out;
  });
  const lines = execFileSync(veil, [
    'upload', '--server', url, '--client-key', join(keys, 'client.pem'), '--invite', invite, ...sealed,
  ], { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.every((l) => l.status === 'created'), JSON.stringify(lines));
  return Object.fromEntries(purposes.map((p, i) => [p, lines[i].id]));
}

/** `veil admin users add --passkey ...`: the printed line, with `registration.link` on `origin`. */
export function addPasskeyUser({ role, purposes, name, origin = localhostOrigin() }) {
  const { veil, data } = env();
  const out = execFileSync(veil, [
    'admin', 'users', 'add', '--passkey', '--data', data, '--role', role, '--purposes', purposes.join(','),
    '--name', name, '--origin', origin,
  ], { encoding: 'utf8' });
  return JSON.parse(out.trim());
}

/**
 * A CTAP2 platform authenticator with user verification in `page` (CDP WebAuthn domain): it
 * creates and uses passkeys without a prompt. Returns `{ cdp, authenticatorId }`.
 */
export async function virtualAuthenticator(page) {
  const cdp = await page.createCDPSession();
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

/**
 * The whole access log as an auditor exports it: a fresh auditor service account (`veil admin
 * users add --role auditor --key`) signs `POST /v1/access-log/export`; the entries come back whole
 * and in order, each one's `prev` the previous one's `hash` (the signatures and hashes themselves
 * are verified by `veil_audit::verify_chain` in crates/ingest/tests).
 */
export async function exportAccessLog() {
  const { veil, data, url } = env();
  const work = mkdtempSync(join(tmpdir(), 'veil-auditor-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = join(work, 'auditor.pem');
  writeFileSync(pem, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  execFileSync(veil, ['admin', 'users', 'add', '--data', data, '--role', 'auditor', '--key', pem, '--name', 'e2e auditor']);
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  const entries = [];
  let key = null;
  for (let from = 0; ; ) {
    const body = Buffer.from(JSON.stringify({
      format: 'veil-access-log-export-v1', from, user_key: point.toString('hex'),
      timestamp_ms: Date.now(), nonce: randomBytes(16).toString('hex'),
    }));
    const signature = sign('sha256', body, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const response = await fetch(`${url}/v1/access-log/export`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'veil-signature': b64url(signature) }, body,
    });
    const answer = await response.json();
    assert.equal(response.status, 200, JSON.stringify(answer));
    key = answer.key;
    const fresh = answer.entries.filter((e) => e.seq >= from);
    entries.push(...fresh);
    if (fresh.length < 10000) break;
    from = fresh[fresh.length - 1].seq + 1;
  }
  entries.forEach((e, i) => {
    assert.equal(e.seq, i, 'the export is the whole chain, in order');
    if (i > 0) assert.equal(e.prev, entries[i - 1].hash, `entry ${i} links to the one before`);
  });
  return entries;
}
