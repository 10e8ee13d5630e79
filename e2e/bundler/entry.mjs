// A partner portal's entry as a bundler sees it: @veil/core's `bundler` build, imported by package
// name, and its worker pool. `e2e/tests/bundler.test.mjs` bundles this file with webpack 5 and
// with Vite 8 (the package's wasm as an ES module import, the pool's worker found through
// `new Worker(new URL(...))`) and runs each bundle in headless Chromium.
import { MeshPool } from '@veil/core/pool.mjs';
import { deidentifyModel } from '@veil/core';

async function sha256(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** De-identify `bytes` on the pool and in this thread; the digests and reports of both. */
globalThis.veilBundled = async (bytes, seed) => {
  const options = { seed, hausdorff: true };
  const pool = new MeshPool();
  try {
    const pooled = await pool.deidentifyModel(bytes, options);
    const direct = await deidentifyModel(bytes, options);
    return {
      pool: { sha256: await sha256(pooled.model), report: pooled.report },
      direct: { sha256: await sha256(direct.model), report: direct.report },
    };
  } finally {
    pool.terminate();
  }
};
document.body.dataset.ready = 'true';
