// MeshPool: `deidentifyModel` on a pool of workers (Web Workers in a browser, `worker_threads` in
// Node), so a page's main thread stays free and a machine's cores are used.
//
// - One model runs in one worker. With `hausdorff: true`, the report's second half (the output's
//   points to the input surface) runs in a second, idle worker while the first writes the output,
//   as the Veil PWA does; with no idle worker, the first worker measures it after writing. The
//   model and report are those of `deidentifyModel` (and `veil deid`) with the same input and
//   options, to the byte, whichever worker measured what.
// - Several models run at once, one per worker; measures waiting for a worker go before models.
// - Workers start on first use, at most `size` of them, and are kept (in Node they do not keep
//   the process alive while idle). `terminate()` stops them all.
// - `signal` aborts a queued model at once and a running one by stopping its workers (wasm cannot
//   be interrupted): it rejects with a VeilError whose code is `cancelled`, as deidentifyModel does.
//
// The environment glue is `pool-env.mjs` (how a worker starts: Node or browser) and
// `pool-load.mjs` (how a worker loads the module: one per package target); this file and
// `pool-worker.mjs` are the same in all of them.
import { defaultSize, spawnWorker } from './pool-env.mjs';

/** At most this many workers, as the native pipeline's threads. */
const MAX_SIZE = 8;

/** The options a worker receives: the pipeline's, without the caller's functions and signal. */
const PIPELINE_OPTIONS = ['profile', 'deface', 'seed', 'format', 'hausdorff', 'inputFormat'];

/** An Error like the package's own (name `VeilError`, a stable `code`). */
function veilError(code, message, index) {
  const e = new Error(message);
  e.name = 'VeilError';
  e.code = code;
  if (index !== undefined) e.index = index;
  return e;
}

function argumentError(message) {
  return veilError('bad-argument', message);
}

export class MeshPool {
  /**
   * @param {{size?: number}} [options] workers at most (default: one per core, at most 8)
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw argumentError('MeshPool options must be an object');
    const size = options.size ?? defaultSize();
    if (!Number.isInteger(size) || size < 1) throw argumentError('size must be a whole number of workers, at least 1');
    this.size = Math.min(size, MAX_SIZE);
    this.workers = [];
    this.models = []; // waiting for a worker
    this.measures = []; // second halves waiting for a worker
    this.jobs = new Map(); // id -> running or waiting job
    this.nextId = 1;
    this.closed = false;
  }

  /**
   * As `deidentifyModel(bytes, options)`, on the pool. The bytes are copied (the caller's are
   * left as they are) and the copy moved to the worker.
   * @returns {Promise<import('./veil_core').DeidentifyResult>}
   */
  deidentifyModel(bytes, options = {}) {
    return new Promise((resolve, reject) => {
      if (this.closed) throw veilError('cancelled', 'the pool was terminated');
      if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
      if (!(bytes instanceof Uint8Array)) throw argumentError('bytes must be a Uint8Array');
      if (options === null || typeof options !== 'object') throw argumentError('options must be an object');
      const { onProgress, signal } = options;
      if (onProgress !== undefined && typeof onProgress !== 'function') throw argumentError('onProgress must be a function');
      if (signal !== undefined && (signal === null || typeof signal !== 'object')) throw argumentError('signal must be an AbortSignal');
      if (signal?.aborted) throw veilError('cancelled', 'the operation was cancelled');
      const pipeline = {};
      for (const k of PIPELINE_OPTIONS) if (options[k] !== undefined) pipeline[k] = options[k];
      const job = { id: this.nextId++, bytes, options: pipeline, onProgress, signal, resolve, reject, worker: null, measurer: null };
      if (signal) {
        job.onAbort = () => this.#fail(job, veilError('cancelled', 'the operation was cancelled'));
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.jobs.set(job.id, job);
      this.models.push(job);
      this.#schedule();
    });
  }

  /** Stop every worker; models not finished reject with `cancelled`. */
  terminate() {
    this.closed = true;
    for (const job of [...this.jobs.values()]) this.#fail(job, veilError('cancelled', 'the pool was terminated'));
    for (const w of this.workers) w.handle.terminate();
    this.workers = [];
  }

  #idleWorker() {
    let w = this.workers.find((x) => x.task === null);
    if (!w && this.workers.length < this.size) {
      w = this.#spawn();
    }
    return w ?? null;
  }

  #spawn() {
    const w = { task: null, handle: null, started: false };
    w.handle = spawnWorker(
      (msg) => this.#onMessage(w, msg),
      (error) => this.#onCrash(w, error),
    );
    this.workers.push(w);
    return w;
  }

  #schedule() {
    while (this.measures.length > 0 || this.models.length > 0) {
      const w = this.#idleWorker();
      if (!w) return;
      if (this.measures.length > 0) {
        const m = this.measures.shift();
        const job = this.jobs.get(m.id);
        if (!job) continue;
        job.measurer = w;
        w.task = { kind: 'measure', id: m.id };
        w.handle.ref();
        w.handle.post({ kind: 'measure', id: m.id, request: m.request }, transferables(m.request));
      } else {
        const job = this.models.shift();
        job.worker = w;
        w.task = { kind: 'model', id: job.id };
        w.handle.ref();
        // A copy of the caller's view alone (a Node Buffer may share a larger pool), moved.
        const bytes = new Uint8Array(job.bytes);
        job.bytes = null;
        w.handle.post({ kind: 'model', id: job.id, bytes, options: job.options, progress: job.onProgress !== undefined }, [bytes.buffer]);
      }
    }
  }

  #release(w) {
    if (!w) return;
    w.task = null;
    w.handle.unref();
  }

  #onMessage(w, msg) {
    if (msg.kind === 'ready') {
      w.started = true;
      return;
    }
    if (msg.kind === 'load-failed') {
      this.#onCrash(w, new Error(msg.message));
      return;
    }
    const job = this.jobs.get(msg.id);
    if (!job) return; // a job already failed or cancelled
    switch (msg.kind) {
      case 'progress':
        try {
          job.onProgress?.(msg.value);
        } catch (e) {
          this.#fail(job, e);
        }
        break;
      case 'measure':
        // The model's worker asks for the second half while it writes: an idle worker measures
        // it, or, when there is none, the model's own worker after writing.
        if (this.workers.some((x) => x.task === null) || this.workers.length < this.size) {
          this.measures.unshift({ id: msg.id, request: msg.request });
          this.#schedule();
        } else {
          w.handle.post({ kind: 'measure', id: msg.id, request: msg.request }, transferables(msg.request));
        }
        break;
      case 'measured':
        if (job.measurer === w) {
          job.measurer = null;
          this.#release(w);
        }
        job.worker?.handle.post({ kind: 'distances', id: msg.id, distances: msg.distances }, [msg.distances.buffer]);
        this.#schedule();
        break;
      case 'done':
        this.#finish(job);
        job.resolve(msg.result);
        break;
      case 'failed':
        this.#fail(job, veilError(msg.error.code, msg.error.message, msg.error.index));
        break;
      default:
        this.#fail(job, veilError('worker-failed', `a pool worker sent an unknown message (${String(msg.kind)})`));
    }
  }

  /** A worker stopped by an error outside the pipeline (it could not load, or ran out of memory). */
  #onCrash(w, error) {
    this.workers = this.workers.filter((x) => x !== w);
    w.handle.terminate();
    const message = `a pool worker failed: ${error?.message ?? String(error)}`;
    for (const job of [...this.jobs.values()]) {
      if (job.worker === w || job.measurer === w) this.#fail(job, veilError('worker-failed', message));
    }
    // A worker that cannot even start would fail every model: the waiting ones fail with it.
    if (!w.started) {
      for (const job of [...this.models]) this.#fail(job, veilError('worker-failed', message));
    }
  }

  #finish(job) {
    this.jobs.delete(job.id);
    job.signal?.removeEventListener('abort', job.onAbort);
    this.models = this.models.filter((j) => j !== job);
    this.measures = this.measures.filter((m) => m.id !== job.id);
    this.#release(job.worker);
    if (job.measurer) this.#release(job.measurer);
    job.worker = null;
    job.measurer = null;
    this.#schedule();
  }

  #fail(job, error) {
    if (!this.jobs.has(job.id)) return;
    // Its workers are stopped (wasm cannot be interrupted) and forgotten; new ones start when
    // needed.
    for (const w of new Set([job.worker, job.measurer])) {
      if (!w) continue;
      w.handle.terminate();
      this.workers = this.workers.filter((x) => x !== w);
    }
    job.worker = null;
    job.measurer = null;
    this.#finish(job);
    job.reject(error);
  }
}

function transferables(request) {
  return [request.vertices.buffer, request.triangles.buffer, request.points.buffer];
}
