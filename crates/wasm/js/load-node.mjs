// How a MeshPool worker loads the package: the `nodejs` build (CommonJS, instantiated on require).
import { createRequire } from 'node:module';

export async function loadVeil() {
  return createRequire(import.meta.url)('./veil_core.js');
}
