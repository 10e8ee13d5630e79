// The browser half of `cargo xtask bench trust|seal`: Veil's wasm next to WebCrypto on one page.
// `run.mjs` loads this page and calls `window.veilBench.trust(opts)` / `.seal(opts)`; each returns
// plain numbers (milliseconds). Methods run interleaved in rounds and the best round counts, so a
// neighbour's burst of CPU on the shared machine hurts every method alike rather than one of them.
import init, { TrustBench, SealBench } from './pkg/veil_bench_wasm.js';

const ready = init();
const log = (line) => { document.getElementById('log').textContent += `${line}\n`; };
const subtle = crypto.subtle;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
const ES256 = { name: 'ECDSA', hash: 'SHA-256' };

/** Mean milliseconds per call of `f` over `n` calls (awaited one after another). */
async function perCall(n, f) {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f();
  return (performance.now() - t) / n;
}

function check(cond, what) {
  if (!cond) throw new Error(`benchmark self-check failed: ${what}`);
}

async function trust({ iterations = 500, rounds = 5 } = {}) {
  await ready;
  const bench = new TrustBench();
  // (c)'s inputs: the same reading's signed bytes, signature and device key, imported once.
  const p0 = bench.begin();
  const data = p0.signed_data();
  const sig = p0.signature();
  const raw = p0.device_public_key();
  check(p0.finish(true) === 51, 'begin/finish with a valid signature');
  const key = await subtle.importKey('raw', raw, ECDSA, false, ['verify']);
  check(await subtle.verify(ES256, key, sig, data), 'WebCrypto accepts the device signature');

  const methods = {
    // (a) pure-Rust P-256 in wasm: Verifier::verify with the chain cached.
    wasm_verify: () => bench.verify(),
    // (b) Verifier::begin -> importKey(raw device key) -> subtle.verify -> finish.
    webcrypto_split: async () => {
      const p = bench.begin();
      const k = await subtle.importKey('raw', p.device_public_key(), ECDSA, false, ['verify']);
      const ok = await subtle.verify(ES256, k, p.signature(), p.signed_data());
      return p.finish(ok);
    },
    // (b') the same with the device's CryptoKey kept from an earlier reading.
    webcrypto_split_key_cached: async () => {
      const p = bench.begin();
      const ok = await subtle.verify(ES256, key, p.signature(), p.signed_data());
      return p.finish(ok);
    },
    // (c) WebCrypto ECDSA P-256 verify alone, key imported once.
    webcrypto_verify: () => subtle.verify(ES256, key, sig, data),
    // (c') WebCrypto importKey + verify.
    webcrypto_import_verify: async () => {
      const k = await subtle.importKey('raw', raw, ECDSA, false, ['verify']);
      return subtle.verify(ES256, k, sig, data);
    },
  };
  check(bench.verify() === 51, 'wasm verify');
  check(await methods.webcrypto_split() === 51, 'split verify');
  const best = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(methods)) {
      await perCall(Math.max(1, iterations >> 3), f); // warm-up
      const ms = await perCall(iterations, f);
      best[name] = Math.min(best[name] ?? Infinity, ms);
    }
  }
  bench.free();
  for (const [name, ms] of Object.entries(best)) log(`${name}: ${ms.toFixed(4)} ms`);
  return { iterations, rounds, ...best };
}

function randomBytes(len) {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(len, i + 65536)));
  return out;
}

async function seal({ megabytes = 50, rounds = 3 } = {}) {
  await ready;
  const content = randomBytes(megabytes * 1024 * 1024);
  const bench = new SealBench();
  const aesKey = randomBytes(32);
  const iv = randomBytes(12);
  const aad = randomBytes(32);

  // The external-AEAD path: wasm builds and signs, WebCrypto encrypts (veil_seal::external).
  async function external(withDigest) {
    const t = { start: performance.now() };
    let digest;
    if (withDigest) {
      digest = new Uint8Array(await subtle.digest('SHA-256', content));
      t.digest = performance.now();
    }
    const job = bench.begin_external(content, digest);
    t.build_sign = performance.now();
    const plaintext = job.take_plaintext();
    t.copy_out = performance.now();
    const k = await subtle.importKey('raw', job.key(), 'AES-GCM', false, ['encrypt']);
    const ct = new Uint8Array(await subtle.encrypt(
      { name: 'AES-GCM', iv: job.nonce(), additionalData: job.aad() }, k, plaintext));
    t.encrypt = performance.now();
    const prefix = job.prefix(ct.byteLength);
    job.free();
    const envelope = new Uint8Array(prefix.length + ct.length);
    envelope.set(prefix);
    envelope.set(ct, prefix.length);
    // The artifact id (SHA-256 of the envelope), which seal_artifact computes too.
    await subtle.digest('SHA-256', envelope);
    t.end = performance.now();
    return { envelope, t };
  }

  const methods = {
    // Everything in wasm: copy in, build + SHA-256 + ES256 + HPKE/AES-256-GCM in place, copy out.
    wasm_seal: async () => ({ envelope: bench.seal(content) }),
    // WebCrypto AES-256-GCM encryption of the same bytes (importKey + encrypt).
    webcrypto_aes_gcm: async () => {
      const k = await subtle.importKey('raw', aesKey, 'AES-GCM', false, ['encrypt']);
      await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, k, content);
      return {};
    },
    external_aead: () => external(false),
    external_aead_webcrypto_sha256: () => external(true),
  };
  // Self-check (untimed): both kinds of envelope open in wasm to the same content.
  for (const name of ['wasm_seal', 'external_aead_webcrypto_sha256']) {
    const { envelope } = await methods[name]();
    check(bench.open(envelope) === content.length, `${name} envelope opens`);
  }
  const best = {};
  const steps = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(methods)) {
      const t0 = performance.now();
      const out = await f();
      const ms = performance.now() - t0;
      if (ms < (best[name] ?? Infinity)) {
        best[name] = ms;
        if (out.t) {
          const s = out.t;
          steps[name] = {
            ...(s.digest ? { webcrypto_sha256: s.digest - s.start } : {}),
            wasm_copy_in_build_sign: s.build_sign - (s.digest ?? s.start),
            copy_out: s.copy_out - s.build_sign,
            webcrypto_aes_gcm: s.encrypt - s.copy_out,
            assemble_and_id: s.end - s.encrypt,
          };
        }
      }
    }
  }
  bench.free();
  for (const [name, ms] of Object.entries(best)) log(`${name}: ${ms.toFixed(1)} ms`);
  return { megabytes, rounds, ...best, steps };
}

window.veilBench = { ready, trust, seal };
