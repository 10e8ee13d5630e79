// MeshPool's environment in Node: `worker_threads`. Idle workers do not keep the process alive.
import os from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';

/** One per core. */
export function defaultSize() {
  return os.availableParallelism?.() ?? os.cpus().length;
}

/** Start a pool worker; `onMessage(data)` for its messages, `onError(error)` if it dies. */
export function spawnWorker(onMessage, onError) {
  const w = new Worker(new URL('./pool-worker.mjs', import.meta.url));
  let stopped = false;
  w.on('message', onMessage);
  w.on('error', onError);
  w.on('messageerror', onError);
  // A worker that ends without an error event (process.exit in it, out of memory).
  w.on('exit', (code) => {
    if (!stopped) onError(new Error(`the worker exited (code ${code})`));
  });
  w.unref();
  return {
    post: (message, transfer) => w.postMessage(message, transfer ?? []),
    terminate: () => {
      stopped = true;
      void w.terminate();
    },
    ref: () => w.ref(),
    unref: () => w.unref(),
  };
}

/** The worker's side of the channel. */
export function workerPort() {
  return {
    onMessage: (f) => parentPort.on('message', f),
    post: (message, transfer) => parentPort.postMessage(message, transfer ?? []),
  };
}
