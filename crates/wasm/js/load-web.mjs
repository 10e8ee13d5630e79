// How a MeshPool worker loads the package: the `web` build (fetches and instantiates the .wasm).
import init, * as veil from './veil_core.js';

export async function loadVeil() {
  await init();
  return veil;
}
