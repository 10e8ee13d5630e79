// A static server on 127.0.0.1 for pages the tests build or keep as files (the partner portal,
// a bundler's output): GET only, regular files under the mounted folders only, every answer with
// the page's Content Security Policy and no caching.
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES = { '.svg': 'image/svg+xml', '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.ts': 'text/plain' };

/** The file `path` names under `mounts`, or null (see `serveStatic`). */
function fileFor(mounts, path) {
  const mount = mounts.find(([prefix]) => path.startsWith(prefix));
  if (!mount) return null;
  const [prefix, dir] = mount;
  const rel = path === '/' ? 'index.html' : path.slice(prefix.length);
  const file = normalize(join(dir, rel));
  return file.startsWith(dir + sep) && statSync(file, { throwIfNoEntry: false })?.isFile() ? file : null;
}

/**
 * Serve `mounts`, `[urlPrefix, folder]` pairs tried in order (each prefix ends in `/`; put `/`
 * last; `index.html` at `/`), with `csp` as the Content Security Policy. Resolves to
 * `{ server, base }` (`base` without a slash).
 */
export function serveStatic(mounts, csp) {
  for (const [prefix] of mounts) {
    if (!prefix.endsWith('/')) throw new Error(`mount prefix ${prefix} must end in /`);
  }
  const resolved = mounts.map(([prefix, dir]) => [prefix, resolve(dir)]);
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = req.method === 'GET' ? fileFor(resolved, path) : null;
    if (file === null) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': csp, 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, base: `http://127.0.0.1:${server.address().port}` })));
}
