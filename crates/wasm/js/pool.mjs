// MeshPool: `deidentifyModel` on a pool of workers (Web Workers in a browser, `worker_threads` in
// Node), so a page's main thread stays free and a machine's cores are used.
//
// - One model runs in one worker. With `hausdorff: true`, once the model is masked its worker asks
//   the pool for a second, idle worker; if there is one it is reserved for the model and measures
//   the report's first half (the input's points to the output's surface) while the first measures
//   the second half and writes the output, as the Veil PWA does; if not, the first worker
//   measures both halves itself, as `deidentifyModel` does. The model and report are those of
//   `deidentifyModel` (and `veil deid`) with the same input and options, to the byte, whichever
//   worker measured what.
// - Several models run at once, one per worker; a running model's half sent out goes before
//   models still waiting for a worker.
// - Workers start on first use, at most `size` of them, and are kept while they have work (in
//   Node they do not keep the process alive while idle); one idle for `idleMs` (30 s) is stopped,
//   giving its wasm memory back. `terminate()` stops them all.
// - `signal` aborts a queued model at once and a running one by stopping its workers (wasm cannot
//   be interrupted): it rejects with a VeilError whose code is `cancelled`, as deidentifyModel does.
//
// The environment glue is `pool-env.mjs` (how a worker starts: Node or browser) and
// `pool-load.mjs` (how a worker loads the module: one per package target); this file and
// `pool-worker.mjs` are the same in all of them.
import { defaultSize, spawnWorker } from './pool-env.mjs';

/** At most this many workers, as the native pipeline's threads. */
const MAX_SIZE = 8;
/** A worker idle this long is stopped, giving its wasm memory back (a 5M model grows it ~0.9 GB). */
const IDLE_MS = 30_000;

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
   * @param {{size?: number, idleMs?: number}} [options] workers at most (default: one per core, at
   *   most 8); how long a worker may stay idle before it is stopped and its memory given back
   *   (default 30 s; `Infinity` keeps workers until `terminate()`)
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw argumentError('MeshPool options must be an object');
    // At least one, whatever the environment reports (0, or nothing).
    const size = options.size ?? Math.max(1, defaultSize() || 1);
    if (!Number.isInteger(size) || size < 1) throw argumentError('size must be a whole number of workers, at least 1');
    const idleMs = options.idleMs ?? IDLE_MS;
    if (typeof idleMs !== 'number' || Number.isNaN(idleMs) || idleMs < 0) throw argumentError('idleMs must be a number of milliseconds, at least 0');
    this.idleMs = idleMs;
    this.size = Math.min(size, MAX_SIZE);
    this.workers = [];
    this.models = []; // waiting for a worker
    this.jobs = new Map(); // id -> running or waiting job
    this.nextId = 1;
    this.closed = false;
  }

  /**
   * As `deidentifyModel(bytes, options)`, on the pool. The bytes are copied at once (later changes
   * to the caller's buffer do not reach the model) and the copy is moved to the worker.
   * @returns {Promise<import('./veil_core').DeidentifyResult>}
   */
  deidentifyModel(bytes, options = {}) {
    return new Promise((resolve, reject) => {
      if (this.closed) throw veilError('cancelled', 'the pool was terminated');
      let copy;
      if (bytes instanceof ArrayBuffer) copy = new Uint8Array(bytes.slice(0));
      else if (bytes instanceof Uint8Array) copy = new Uint8Array(bytes);
      else throw argumentError('bytes must be a Uint8Array');
      if (options === null || typeof options !== 'object') throw argumentError('options must be an object');
      const { onProgress, signal } = options;
      if (onProgress !== undefined && typeof onProgress !== 'function') throw argumentError('onProgress must be a function');
      if (signal !== undefined && (signal === null || typeof signal !== 'object')) throw argumentError('signal must be an AbortSignal');
      if (signal?.aborted) throw veilError('cancelled', 'the operation was cancelled');
      const pipeline = {};
      for (const k of PIPELINE_OPTIONS) if (options[k] !== undefined) pipeline[k] = options[k];
      try {
        structuredClone(pipeline);
      } catch (e) {
        throw argumentError(`options must be plain data (numbers, strings, arrays, objects): ${e?.message ?? e}`);
      }
      const job = { id: this.nextId++, bytes: copy, options: pipeline, onProgress, signal, resolve, reject, worker: null, measurer: null, measuring: false };
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
    this.models = [];
    for (const job of [...this.jobs.values()]) this.#fail(job, veilError('cancelled', 'the pool was terminated'));
    for (const w of this.workers) this.#stop(w);
  }

  /** An idle worker (started if there is room), reserved for nothing yet; null if none. */
  #idleWorker() {
    const idle = this.workers.find((x) => !x.busy);
    if (idle) return idle;
    return this.workers.length < this.size ? this.#spawn() : null;
  }

  #spawn() {
    const w = { busy: false, handle: null, started: false, idleTimer: undefined };
    w.handle = spawnWorker(
      (msg) => this.#onMessage(w, msg),
      (error) => this.#onCrash(w, error),
    );
    this.workers.push(w);
    return w;
  }

  /**
   * Stop a worker and forget it (wasm cannot be interrupted); a new one starts when needed. A
   * worker already stopped is left as it is.
   */
  #stop(w) {
    if (!this.workers.includes(w)) return;
    clearTimeout(w.idleTimer);
    this.workers = this.workers.filter((x) => x !== w);
    w.handle.terminate();
  }

  #busy(w) {
    clearTimeout(w.idleTimer);
    w.busy = true;
    w.handle.ref();
  }

  #release(w) {
    if (!w) return;
    w.busy = false;
    w.handle.unref();
    clearTimeout(w.idleTimer);
    if (Number.isFinite(this.idleMs)) {
      w.idleTimer = setTimeout(() => {
        if (!w.busy) this.#stop(w);
      }, this.idleMs);
      // In Node the timer must not keep the process alive either.
      w.idleTimer?.unref?.();
    }
  }

  #post(job, w, message, transfer) {
    try {
      w.handle.post(message, transfer);
    } catch (e) {
      this.#fail(job, veilError('worker-failed', `could not send to a pool worker: ${e?.message ?? e}`));
    }
  }

  #schedule() {
    while (!this.closed && this.models.length > 0) {
      const w = this.#idleWorker();
      if (!w) return;
      const job = this.models.shift();
      job.worker = w;
      this.#busy(w);
      const bytes = job.bytes;
      job.bytes = null;
      this.#post(job, w, { kind: 'model', id: job.id, bytes, options: job.options, progress: job.onProgress !== undefined }, [bytes.buffer]);
    }
  }

  #onMessage(w, msg) {
    if (msg?.kind === 'ready') {
      w.started = true;
      return;
    }
    if (msg?.kind === 'load-failed') {
      this.#onCrash(w, new Error(msg.message));
      return;
    }
    const job = this.jobs.get(msg?.id);
    if (!job) return; // a job already settled (failed, cancelled)
    switch (msg.kind) {
      case 'progress':
        try {
          job.onProgress?.(msg.value);
        } catch (e) {
          this.#fail(job, e);
        }
        break;
      case 'ask': {
        // The model's worker is about to write: reserve an idle worker for its first half, or
        // tell it to measure both halves itself.
        const helper = this.closed ? null : this.#idleWorker();
        if (helper) {
          job.measurer = helper;
          this.#busy(helper);
        }
        this.#post(job, w, { kind: 'plan', id: job.id, elsewhere: helper !== null });
        break;
      }
      case 'measure':
        if (!job.measurer) {
          this.#fail(job, veilError('internal', 'a pool worker sent a half nobody was reserved for'));
          break;
        }
        job.measuring = true;
        this.#post(job, job.measurer, { kind: 'measure', id: job.id, request: msg.request }, transferables(msg.request));
        break;
      case 'measured':
        if (job.measurer === w) {
          job.measurer = null;
          this.#release(w);
        }
        if (job.worker) this.#post(job, job.worker, { kind: 'distances', id: job.id, distances: msg.distances }, [msg.distances.buffer]);
        this.#schedule();
        break;
      case 'done':
        job.resolve(msg.result);
        this.#finish(job);
        break;
      case 'failed':
        // A model's own worker that failed with a typed error is whole and idle: it is kept for
        // the next model, and so is a helper reserved for it that was sent nothing to measure (one
        // still measuring is stopped all the same: wasm cannot be interrupted).
        if (msg.reusable === true && w === job.worker) {
          job.worker = null;
          this.#release(w);
          if (job.measurer && !job.measuring) {
            this.#release(job.measurer);
            job.measurer = null;
          }
        }
        this.#fail(job, veilError(msg.error.code, msg.error.message, msg.error.index));
        break;
      default:
        this.#fail(job, veilError('worker-failed', `a pool worker sent an unknown message (${String(msg.kind)})`));
    }
  }

  /** A worker stopped by an error outside the pipeline (it could not load, or ran out of memory). */
  #onCrash(w, error) {
    if (!this.workers.includes(w)) return; // already stopped and forgotten
    this.#stop(w);
    const message = `a pool worker failed: ${error?.message ?? String(error)}`;
    // A worker that could not even start would fail every model: the waiting ones fail first,
    // so none is handed to another such worker.
    if (!w.started) {
      const waiting = this.models;
      this.models = [];
      for (const job of waiting) this.#fail(job, veilError('worker-failed', message));
    }
    for (const job of [...this.jobs.values()]) {
      if (job.worker === w || job.measurer === w) this.#fail(job, veilError('worker-failed', message));
    }
  }

  #finish(job) {
    this.jobs.delete(job.id);
    job.signal?.removeEventListener('abort', job.onAbort);
    this.models = this.models.filter((j) => j !== job);
    this.#release(job.worker);
    this.#release(job.measurer);
    job.worker = null;
    job.measurer = null;
    this.#schedule();
  }

  #fail(job, error) {
    if (!this.jobs.has(job.id)) return;
    job.reject(error);
    // Its workers are stopped (wasm cannot be interrupted) and forgotten; one that reported a
    // typed error was released before.
    for (const w of new Set([job.worker, job.measurer])) {
      if (w) this.#stop(w);
    }
    job.worker = null;
    job.measurer = null;
    this.#finish(job);
  }
}

function transferables(request) {
  return [request.vertices.buffer, request.triangles.buffer, request.points.buffer];
}
