// One worker of MeshPool (pool.mjs): loads the package's module, then runs what the pool sends, in
// order: a model (`prepareModel` -> `write` -> `complete`), or the report's first half of
// another worker's model (`distancesToSurface`).
//
// A model with the report asks the pool, once masked, whether a second worker will measure the
// report's first half: if so it sends that worker's inputs, measures the second half, writes the
// output and waits for the distances; if not it measures both halves itself, as `deidentifyModel`
// does (and with no more memory than that).
import { workerPort } from './pool-env.mjs';
import { loadVeil } from './pool-load.mjs';

const port = workerPort();
/** Models waiting for the pool's answer (`plan`) or for their distances, by id. */
const waiting = new Map();

function failed(id, e) {
  const error = { code: e?.code ?? 'internal', message: e?.message ?? String(e) };
  if (e?.index !== undefined) error.index = e.index;
  // The package's typed errors (a file that is not a model, a bad option) leave the module whole,
  // and the model's job is freed: this worker can take the next model. Anything else (a trap, out
  // of memory) may have left the module half-way, so the pool stops this worker.
  const reusable = e?.name === 'VeilError' && typeof e.code === 'string';
  port.post({ kind: 'failed', id, error, reusable });
}

/** Run `part` on `job`; if it throws, free the job before passing the error on. */
function freeOnError(job, part) {
  try {
    part();
  } catch (e) {
    release(job);
    throw e;
  }
}

/**
 * Free `job`. After a trap inside one of its calls, wasm-bindgen still counts the job as borrowed
 * and `free` throws: that error must not hide the trap's (and the worker is stopped anyway).
 */
function release(job) {
  try {
    job.free();
  } catch {
    // borrowed by a call that trapped
  }
}

/** Complete `job` (with the distances measured elsewhere, if any), post the result, free it. */
function done(id, job, distances) {
  try {
    const result = job.complete(distances);
    port.post({ kind: 'done', id, result }, [result.model.buffer]);
  } catch (e) {
    failed(id, e);
  } finally {
    release(job);
  }
}

function runModel(veil, { id, bytes, options, progress }) {
  const opts = { ...options };
  if (progress) opts.onProgress = (value) => port.post({ kind: 'progress', id, value });
  const job = veil.prepareModel(bytes, opts);
  if (options.hausdorff !== true) {
    freeOnError(job, () => job.write(true));
    done(id, job);
    return;
  }
  waiting.set(id, (plan) => runPlan(id, job, plan));
  port.post({ kind: 'ask', id });
}

function runPlan(id, job, { elsewhere }) {
  let request = null;
  freeOnError(job, () => {
    request = elsewhere ? job.measureRequest() : null;
    if (request === null) job.write(true);
  });
  if (request === null) {
    done(id, job);
    return;
  }
  port.post({ kind: 'measure', id, request }, [request.vertices.buffer, request.triangles.buffer, request.points.buffer]);
  freeOnError(job, () => job.write(false));
  waiting.set(id, ({ distances }) => done(id, job, distances));
}

function handle(veil, msg) {
  switch (msg.kind) {
    case 'model':
      runModel(veil, msg);
      break;
    case 'measure': {
      const { vertices, triangles, points } = msg.request;
      const distances = veil.distancesToSurface(vertices, triangles, points);
      port.post({ kind: 'measured', id: msg.id, distances }, [distances.buffer]);
      break;
    }
    case 'plan':
    case 'distances': {
      const next = waiting.get(msg.id);
      waiting.delete(msg.id);
      next?.(msg);
      break;
    }
    default:
      throw Object.assign(new Error(`a pool worker was sent an unknown message (${String(msg.kind)})`), { code: 'internal' });
  }
}

// The handler is installed at once and waits for the module, so no message is lost while it loads.
const loading = loadVeil();
let chain = loading.then(
  () => port.post({ kind: 'ready' }),
  (e) => port.post({ kind: 'load-failed', message: e?.message ?? String(e) }),
);
port.onMessage((msg) => {
  chain = chain
    .then(() => loading)
    .then((veil) => {
      try {
        handle(veil, msg);
      } catch (e) {
        // A model whose part failed: its job was freed (`freeOnError`).
        waiting.delete(msg.id);
        failed(msg.id, e);
      }
    })
    .catch(() => {});
});
