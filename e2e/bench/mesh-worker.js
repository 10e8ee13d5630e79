// The worker half of the browser mesh benchmark: load `@veil/core` (web build), fetch the model
// and time `deidentifyModel` without and with the Hausdorff report. Replies with plain numbers.
import init, { deidentifyModel } from './pkg/veil_core.js';

self.onmessage = async ({ data: { runs = 1 } }) => {
  try {
    const t0 = performance.now();
    const wasm = await init();
    const initMs = performance.now() - t0;
    const bytes = new Uint8Array(await (await fetch('./model.stl')).arrayBuffer());
    const out = { inputBytes: bytes.length, initMs };
    for (const hausdorff of [false, true]) {
      let best = Infinity;
      let result;
      for (let i = 0; i < runs; i++) {
        result = undefined;
        const t = performance.now();
        result = await deidentifyModel(bytes, { seed: 1, hausdorff, inputFormat: 'stl' });
        best = Math.min(best, performance.now() - t);
      }
      const key = hausdorff ? 'report' : 'plain';
      out[`${key}Ms`] = best;
      out[`${key}OutputBytes`] = result.model.length;
      out[`${key}TrianglesIn`] = result.report.triangles_in;
      out[`${key}TrianglesOut`] = result.report.triangles_out;
      out[`${key}Deface`] = result.report.deface.outcome;
      out[`${key}Watertight`] = result.report.utility.watertight_out;
      if (hausdorff) out.hausdorffMaxMm = result.report.utility.hausdorff?.max ?? null;
      // wasm memory only grows: its size after a run is the run's peak heap.
      out[`${key}WasmMemoryBytes`] = wasm.memory.buffer.byteLength;
    }
    self.postMessage({ ok: true, out });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e?.stack ?? e) });
  }
};
