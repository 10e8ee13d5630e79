// A static server on 127.0.0.1 for pages the tests build or keep as files (the partner portal,
// a bundler's output): GET only, files under the mounted folders only, every answer with the
// page's Content Security Policy and no caching.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = { '.svg': 'image/svg+xml', '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.ts': 'text/plain' };

/**
 * Serve `mounts`, `[urlPrefix, folder]` pairs tried in order (`/` last; `index.html` at `/`), with
 * `csp` as the Content Security Policy. Resolves to `{ server, base }` (`base` without a slash).
 */
export function serveStatic(mounts, csp) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [prefix, dir] = mounts.find(([p]) => path.startsWith(p)) ?? [];
    const file = dir === undefined ? null : normalize(join(dir, path === prefix ? 'index.html' : path.slice(prefix.length)));
    if (req.method !== 'GET' || file === null || !file.startsWith(dir + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': csp, 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, base: `http://127.0.0.1:${server.address().port}` })));
}
