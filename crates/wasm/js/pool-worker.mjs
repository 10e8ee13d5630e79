// One worker of MeshPool (pool.mjs): loads the package's module, then runs what the pool sends, in
// order: a model (`prepareModel` -> `write` -> `complete`), or the report's second half of
// another worker's model (`distancesToSurface`).
import { workerPort } from './pool-env.mjs';
import { loadVeil } from './pool-load.mjs';

const port = workerPort();
/** Models written and waiting for their second half's distances, by id. */
const waiting = new Map();

function failed(id, e) {
  const error = { code: e?.code ?? 'internal', message: e?.message ?? String(e) };
  if (e?.index !== undefined) error.index = e.index;
  port.post({ kind: 'failed', id, error });
}

function done(id, job, distances) {
  try {
    const result = job.complete(distances);
    port.post({ kind: 'done', id, result }, [result.model.buffer]);
  } catch (e) {
    failed(id, e);
  } finally {
    job.free();
  }
}

function runModel(veil, { id, bytes, options, progress }) {
  const opts = { ...options };
  if (progress) opts.onProgress = (value) => port.post({ kind: 'progress', id, value });
  let job;
  try {
    job = veil.prepareModel(bytes, opts);
    const request = job.measureRequest();
    if (request === null) {
      job.write(true);
      done(id, job);
      return;
    }
    // Measured elsewhere while this worker writes; the distances come back as a message.
    port.post({ kind: 'measure', id, request }, [request.vertices.buffer, request.triangles.buffer, request.points.buffer]);
    job.write(false);
    const written = job;
    job = null;
    waiting.set(id, (distances) => done(id, written, distances));
  } catch (e) {
    job?.free();
    failed(id, e);
  }
}

function handle(veil, msg) {
  switch (msg.kind) {
    case 'model':
      runModel(veil, msg);
      break;
    case 'measure':
      try {
        const { vertices, triangles, points } = msg.request;
        const distances = veil.distancesToSurface(vertices, triangles, points);
        port.post({ kind: 'measured', id: msg.id, distances }, [distances.buffer]);
      } catch (e) {
        failed(msg.id, e);
      }
      break;
    case 'distances': {
      const next = waiting.get(msg.id);
      waiting.delete(msg.id);
      next?.(msg.distances);
      break;
    }
    default:
      failed(msg.id, { code: 'internal', message: `a pool worker was sent an unknown message (${String(msg.kind)})` });
  }
}

// The handler is installed at once and waits for the module, so no message is lost while it loads.
const loading = loadVeil();
let chain = loading.then(
  () => port.post({ kind: 'ready' }),
  (e) => port.post({ kind: 'load-failed', message: e?.message ?? String(e) }),
);
port.onMessage((msg) => {
  chain = chain.then(() => loading).then((veil) => handle(veil, msg), () => {});
});
