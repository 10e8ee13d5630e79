// The portal's Web Worker: de-identification runs here, so the page never freezes. It loads the
// `web` build of @veil/core from the package files and answers one message per model.
import init, { deidentifyModel } from './pkg/veil_core.js';

const ready = init();

self.onmessage = async (event) => {
  const { bytes, options } = event.data;
  try {
    await ready;
    const { model, report } = await deidentifyModel(new Uint8Array(bytes), {
      ...options,
      onProgress: (fraction) => self.postMessage({ type: 'progress', fraction }),
    });
    self.postMessage({ type: 'done', model, report }, [model.buffer]);
  } catch (e) {
    self.postMessage({ type: 'error', code: e.code ?? 'worker-error', message: String(e.message ?? e) });
  }
};
