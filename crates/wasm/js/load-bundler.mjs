// How a MeshPool worker loads the package: the `bundler` build (the bundler instantiates it).
import * as veil from './veil_core.js';

export async function loadVeil() {
  return veil;
}
