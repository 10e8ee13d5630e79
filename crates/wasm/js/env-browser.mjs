// MeshPool's environment in a browser: module Web Workers (also what bundlers recognise:
// `new Worker(new URL(..., import.meta.url), {type: 'module'})`). The page's Content Security
// Policy must allow them (`worker-src 'self'`).

/** One per logical core the browser reports. */
export function defaultSize() {
  return globalThis.navigator?.hardwareConcurrency ?? 1;
}

/** Start a pool worker; `onMessage(data)` for its messages, `onError(error)` if it dies. */
export function spawnWorker(onMessage, onError) {
  const w = new Worker(new URL('./pool-worker.mjs', import.meta.url), { type: 'module' });
  w.onmessage = (e) => onMessage(e.data);
  w.onerror = (e) => {
    e.preventDefault();
    onError(new Error(e.message || 'the worker could not start'));
  };
  w.onmessageerror = () => onError(new Error('a message from the worker could not be read'));
  return {
    post: (message, transfer) => w.postMessage(message, transfer ?? []),
    terminate: () => w.terminate(),
    ref: () => {},
    unref: () => {},
  };
}

/** The worker's side of the channel. */
export function workerPort() {
  return {
    onMessage: (f) => {
      globalThis.onmessage = (e) => f(e.data);
    },
    post: (message, transfer) => globalThis.postMessage(message, transfer ?? []),
  };
}
