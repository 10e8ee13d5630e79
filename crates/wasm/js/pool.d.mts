import type { DeidentifyOptions, DeidentifyResult } from './veil_core.js';

/** Options of a `MeshPool`. */
export interface MeshPoolOptions {
  /** Workers at most (default: one per core, at most 8). They start on first use. */
  size?: number;
  /**
   * Milliseconds a worker may stay idle before it is stopped and its wasm memory given back
   * (default 30000; `Infinity` keeps workers until `terminate()`). A stopped worker is started
   * again when needed (20-50 ms).
   */
  idleMs?: number;
}

/**
 * `deidentifyModel` on a pool of workers (Web Workers in a browser, `worker_threads` in Node):
 * one model per worker, the Hausdorff report's first half in a second worker while the first
 * measures the second half and writes the output. Results are those of `deidentifyModel`, to the
 * byte.
 */
export declare class MeshPool {
  constructor(options?: MeshPoolOptions);
  /** Workers at most. */
  readonly size: number;
  /** As `deidentifyModel(bytes, options)`, in the pool (the bytes are copied to a worker). */
  deidentifyModel(bytes: Uint8Array, options?: DeidentifyOptions): Promise<DeidentifyResult>;
  /** Stop every worker; models not finished reject with a `VeilError` whose code is `cancelled`. */
  terminate(): void;
}
