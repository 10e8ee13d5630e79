// How a MeshPool worker loads the package: the `bundler` build (the bundler instantiates it).
//
// Imported dynamically: a static import would make the worker's whole module graph wait for the
// wasm (an async module to the bundler), so `pool-worker.mjs` would install its message handler
// only after the module loaded, and a bundler's classic worker drops the messages sent before
// (the pool's first model). webpack 5 hung on that; the e2e test `bundler.test.mjs` runs it.
export async function loadVeil() {
  return import('./veil_core.js');
}
