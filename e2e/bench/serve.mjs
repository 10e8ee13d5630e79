// The benchmark pages' server: `/pkg/...` from a wasm-bindgen output folder, everything else from
// this folder, on 127.0.0.1 with cross-origin isolation (which gives the page performance.now()
// at 5 µs instead of 100 µs resolution). Extra routes (such as a model file) are streamed.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cache-control': 'no-store',
};

/**
 * Serve `pkg` under `/pkg/` and this folder (`index` at `/`); `files` maps further paths to files
 * on disk with their content type. Resolves to `{ url, close }`.
 */
export async function serveBench({ pkg, index = 'index.html', files = {} }) {
  const PKG = resolve(pkg);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const extra = files[path];
    if (extra) {
      try {
        const { size } = await stat(extra.file);
        res.writeHead(200, { ...HEADERS, 'content-type': extra.type, 'content-length': size });
        createReadStream(extra.file).pipe(res);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    const [base, rel] = path.startsWith('/pkg/') ? [PKG, path.slice(5)] : [HERE, path.slice(1) || index];
    const file = normalize(join(base, rel));
    if (file !== base && !file.startsWith(`${base}/`)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}
