// The cases of `cargo xtask bench npm` (issue 18, "npm uses the fast paths"), run unchanged in Node
// (the nodejs build) and in a Chromium page (the web build): `@veil/core`'s `verifyReading` and
// `sealArtifact` next to WebCrypto doing the bare primitive, and next to themselves with
// `crypto.subtle` hidden (the pure-Rust fallback). Methods run interleaved in rounds and the best
// round counts, so the shared machine's bursts hurt every method alike. Plain numbers (ms) out.

const ES256 = { name: 'ECDSA', hash: 'SHA-256' };
const P256 = { name: 'ECDSA', namedCurve: 'P-256' };

const fromHex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

function check(cond, what) {
  if (!cond) throw new Error(`benchmark self-check failed: ${what}`);
}

/** Mean milliseconds per call of `f` over `n` awaited calls. */
async function perCall(n, f) {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  return (performance.now() - t) / n;
}

/** Run `fn` with `crypto.subtle` hidden (the package then uses Rust), restoring it after. */
async function withoutSubtle(fn) {
  Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
  try {
    return await fn();
  } finally {
    delete globalThis.crypto.subtle;
  }
}

/** Best (lowest) value per method over `rounds` rounds of `methods` (each `async () => ms`). */
async function bestOf(rounds, methods) {
  const best = Object.fromEntries(Object.keys(methods).map((k) => [k, Infinity]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(methods)) best[name] = Math.min(best[name], await f());
  }
  return best;
}

/**
 * `fx` (hex strings and PEM text, made by `npm-crypto.mjs`): a device reading `cose`, its
 * `chainPem` and `rootPem`, `nonce`, `now`, `counter`; the reading's `toBeSigned`, `signature` and
 * `devicePub` (for WebCrypto alone); sealing keys `recipientPub`, `clientKey`, `secret`.
 */
export async function npmCrypto(veil, fx, { iterations = 300, rounds = 5, megabytes = 50 } = {}) {
  const subtle = globalThis.crypto.subtle;
  const cose = fromHex(fx.cose);
  const opts = { nonce: fx.nonce, now: fx.now };
  const verify = () => veil.verifyReading(cose, fx.chainPem, fx.rootPem, opts);
  check((await verify()).counter === fx.counter, 'verifyReading accepts the reading');
  check((await withoutSubtle(verify)).counter === fx.counter, 'verifyReading without WebCrypto');
  const key = await subtle.importKey('raw', fromHex(fx.devicePub), P256, false, ['verify']);
  const sig = fromHex(fx.signature);
  const data = fromHex(fx.toBeSigned);
  check(await subtle.verify(ES256, key, sig, data), 'WebCrypto accepts the device signature');
  // Two spellings of the same roots: alternating them makes every call a new trust store (a
  // portal that builds its roots anew for each reading), so the chain is validated every time.
  const roots = [fx.rootPem, `${fx.rootPem}\n`];
  const verifyMs = await bestOf(rounds, {
    npm_verify: () => perCall(iterations, verify),
    webcrypto_verify: () => perCall(iterations, () => subtle.verify(ES256, key, sig, data)),
    webcrypto_import_verify: () => perCall(iterations, async () => {
      const k = await subtle.importKey('raw', fromHex(fx.devicePub), P256, false, ['verify']);
      return subtle.verify(ES256, k, sig, data);
    }),
    npm_verify_new_roots: () => perCall(Math.ceil(iterations / 5), (i) => veil.verifyReading(cose, fx.chainPem, roots[i % 2], opts)),
    npm_verify_rust: () => withoutSubtle(() => perCall(Math.ceil(iterations / 5), verify)),
  });

  // 50 MB of random bytes (getRandomValues fills at most 64 KiB per call).
  const content = new Uint8Array(megabytes * 1024 * 1024);
  for (let i = 0; i < content.length; i += 65536) globalThis.crypto.getRandomValues(content.subarray(i, i + 65536));
  const sealOptions = {
    recipientKey: fx.recipientPub, clientKey: fx.clientKey, pseudonymSecret: fx.secret,
    purpose: 'treatment', recipientId: 'bench', createdMs: 1_790_000_000_000,
  };
  const seal = () => veil.sealArtifact({ 'scan.bin': content }, sealOptions);
  const sealed = await seal();
  check(sealed.bytes > content.length && sealed.contents[0] === 'file-1.bin', 'sealArtifact seals the content');
  const timed = async (f) => { const t = performance.now(); await f(); return performance.now() - t; };
  const sealMs = await bestOf(Math.max(1, Math.min(rounds, 3)), {
    npm_seal: () => timed(seal),
    webcrypto_aes_gcm: () => timed(async () => {
      const k = await subtle.importKey('raw', new Uint8Array(32).fill(1), 'AES-GCM', false, ['encrypt']);
      return subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12), additionalData: new Uint8Array(32) }, k, content);
    }),
    webcrypto_sha256: () => timed(() => subtle.digest('SHA-256', content)),
    npm_seal_rust: () => withoutSubtle(() => timed(seal)),
  });
  return { iterations, megabytes, verify: verifyMs, seal: sealMs };
}
