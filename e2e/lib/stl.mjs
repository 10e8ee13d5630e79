// Small binary STL models for tests that seal or process a model: a closed tetrahedron of edge
// `size` (different sizes make different artifacts), written to a fresh temporary folder.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The bytes of a binary STL tetrahedron with legs of `size` mm; `header` goes in the 80-byte header. */
export function tetrahedronStl(size = 10, header = '') {
  const s = size;
  const tris = [
    [[0, 0, 0], [0, s, 0], [s, 0, 0]], [[0, 0, 0], [s, 0, 0], [0, 0, s]],
    [[0, 0, 0], [0, 0, s], [0, s, 0]], [[s, 0, 0], [0, s, 0], [0, 0, s]],
  ];
  const buf = Buffer.alloc(84 + 50 * tris.length);
  if (header) buf.write(header.slice(0, 80), 0);
  buf.writeUInt32LE(tris.length, 80);
  tris.forEach((t, i) => t.flat().forEach((v, j) => buf.writeFloatLE(v, 84 + 50 * i + 12 + 4 * j)));
  return buf;
}

/** Write a tetrahedron as `name` in a new temporary folder; its path. */
export function writeTetrahedron(name = 'scan.stl', size = 10, header = '') {
  const path = join(mkdtempSync(join(tmpdir(), 'veil-stl-')), name);
  writeFileSync(path, tetrahedronStl(size, header));
  return path;
}
