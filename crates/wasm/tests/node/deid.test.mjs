// deidentifyModel: byte-identical output and an identical report to `veil deid --seed N`, over
// every input format, profile, deface mode and output format; progress, cancellation; and every
// `veil-mesh` error code, each the same code the CLI prints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { veil, tempDir, runVeil, synthModel, rejectsCode, asJson } from './helpers.mjs';

let tmp;
const models = {}; // name -> {path, bytes, hint}

/** An STL as ASCII text, with a solid name (a metadata channel). */
function toAsciiStl(binary) {
  const n = binary.readUInt32LE(80);
  const lines = ['solid patient_jane_doe'];
  for (let i = 0; i < n; i++) {
    const o = 84 + 50 * i;
    lines.push('facet normal 0 0 0', 'outer loop');
    for (let v = 0; v < 3; v++) {
      const p = o + 12 + 12 * v;
      lines.push(`vertex ${binary.readFloatLE(p)} ${binary.readFloatLE(p + 4)} ${binary.readFloatLE(p + 8)}`);
    }
    lines.push('endloop', 'endfacet');
  }
  lines.push('endsolid patient_jane_doe');
  return Buffer.from(lines.join('\n') + '\n');
}

/** Indexed vertices and faces of a binary STL (exact float32 values, welded by bit pattern). */
function indexed(binary) {
  const n = binary.readUInt32LE(80);
  const map = new Map();
  const verts = [];
  const faces = [];
  for (let i = 0; i < n; i++) {
    const f = [];
    for (let v = 0; v < 3; v++) {
      const p = 84 + 50 * i + 12 + 12 * v;
      const key = binary.subarray(p, p + 12).toString('hex');
      if (!map.has(key)) { map.set(key, verts.length); verts.push([binary.readFloatLE(p), binary.readFloatLE(p + 4), binary.readFloatLE(p + 8)]); }
      f.push(map.get(key));
    }
    faces.push(f);
  }
  return { verts, faces };
}

function toObj(binary) {
  const { verts, faces } = indexed(binary);
  return Buffer.from(['# exported by ScannerSoft for patient 1234', 'o head', ...verts.map((v) => `v ${v.join(' ')}`), ...faces.map((f) => `f ${f.map((i) => i + 1).join(' ')}`)].join('\n') + '\n');
}

function toPlyBinary(binary) {
  const { verts, faces } = indexed(binary);
  const header = Buffer.from(`ply\nformat binary_little_endian 1.0\ncomment patient 1234\nelement vertex ${verts.length}\nproperty float x\nproperty float y\nproperty float z\nelement face ${faces.length}\nproperty list uchar int vertex_indices\nend_header\n`);
  const body = Buffer.alloc(verts.length * 12 + faces.length * 13);
  let o = 0;
  for (const v of verts) { for (const c of v) { body.writeFloatLE(c, o); o += 4; } }
  for (const f of faces) { body[o++] = 3; for (const i of f) { body.writeInt32LE(i, o); o += 4; } }
  return Buffer.concat([header, body]);
}

before(() => {
  tmp = tempDir();
  const head = synthModel('head', 20000, join(tmp.dir, 'head.stl'));
  // A header with a Materialise colour key: a metadata channel the scrub must remove.
  Buffer.from('COLOR=\xff\x00\x00\xff patient: Jane Doe 1961-02-03', 'latin1').copy(head, 0);
  writeFileSync(join(tmp.dir, 'head.stl'), head);
  const add = (name, bytes, hint) => {
    writeFileSync(join(tmp.dir, name), bytes);
    models[name] = { path: join(tmp.dir, name), bytes: new Uint8Array(bytes), hint };
  };
  add('head.stl', head, 'stl');
  add('head-ascii.stl', toAsciiStl(head), 'stl');
  add('head.obj', toObj(head), 'obj');
  add('head.ply', toPlyBinary(head), 'ply');
  add('sphere.stl', synthModel('sphere', 8000, join(tmp.dir, 'sphere-src.stl')), 'stl');
});
after(() => tmp.cleanup());

/** Run the CLI; returns {model, report} from its files. */
function cliDeid(input, { profile, deface, seed, format = 'stl' }) {
  const out = join(tmp.dir, `out.${format}`);
  const report = join(tmp.dir, 'report.json');
  const args = ['deid', input, '-o', out, '--seed', String(seed), '--report', report];
  if (profile) args.push('--profile', profile);
  if (deface) args.push('--deface', deface);
  const r = runVeil(args);
  assert.equal(r.status, 0, `veil ${args.join(' ')}: ${r.stderr}`);
  return { model: new Uint8Array(readFileSync(out)), report: JSON.parse(readFileSync(report, 'utf8')) };
}

const CASES = [
  { model: 'head.stl', profile: 'strict', seed: 1 },
  { model: 'head.stl', profile: 'research', seed: 2, format: 'ply' },
  { model: 'head.stl', profile: 'print', seed: 3 },
  { model: 'head-ascii.stl', profile: 'strict', seed: 4 },
  { model: 'head.obj', profile: 'strict', seed: 5, format: 'ply' },
  { model: 'head.ply', profile: 'research', seed: 6 },
  { model: 'head.stl', deface: 'off', seed: 7 },
  { model: 'head.stl', deface: 'plane:0,60,0,0,1,0', seed: 8 },
  { model: 'sphere.stl', profile: 'strict', seed: 9 },
  { model: 'head.stl', profile: 'strict', seed: 18446744073709551615n },
];

test('output bytes and report are identical to `veil deid --seed N` for every format, profile and deface mode', async () => {
  for (const c of CASES) {
    const m = models[c.model];
    const cli = cliDeid(m.path, c);
    const { model, report } = await veil.deidentifyModel(m.bytes, {
      profile: c.profile, deface: c.deface, seed: c.seed, format: c.format, inputFormat: m.hint, hausdorff: true,
    });
    const label = JSON.stringify(c, (_, v) => (typeof v === 'bigint' ? String(v) : v));
    assert.ok(model instanceof Uint8Array);
    assert.equal(Buffer.compare(Buffer.from(model), Buffer.from(cli.model)), 0, `output differs from the CLI: ${label}`);
    assert.deepEqual(asJson(report), cli.report, `report differs from the CLI: ${label}`);
  }
});

test('what the de-identification did: metadata gone, head defaced, sphere untouched, a plane as an object', async () => {
  const head = await veil.deidentifyModel(models['head.stl'].bytes, { seed: 1 });
  assert.equal(head.report.deface.outcome, 'defaced');
  assert.ok(head.report.metadata_removed.some((c) => c.channel.startsWith('stl-header')), JSON.stringify(head.report.metadata_removed));
  assert.ok(!Buffer.from(head.model).includes('Jane Doe'));
  assert.equal(head.report.input_format, 'stl-binary');
  const sphere = await veil.deidentifyModel(models['sphere.stl'].bytes, { seed: 1 });
  assert.equal(sphere.report.deface.outcome, 'not-a-head');
  const asText = await veil.deidentifyModel(models['head.stl'].bytes, { seed: 8, deface: 'plane:0,60,0,0,1,0' });
  const asObject = await veil.deidentifyModel(models['head.stl'].bytes, { seed: 8, deface: { point: [0, 60, 0], normal: [0, 1, 0] } });
  assert.deepEqual(asObject.model, asText.model);
  // Sniffing the format (no inputFormat) reads the same model.
  const sniffed = await veil.deidentifyModel(models['head.obj'].bytes, { seed: 5 });
  assert.equal(sniffed.report.input_format, 'obj');
  // Without a seed, fresh randomness: two runs differ.
  const a = await veil.deidentifyModel(models['head.stl'].bytes);
  const b = await veil.deidentifyModel(models['head.stl'].bytes);
  assert.notDeepEqual(a.model, b.model);
  assert.equal(a.report.deterministic, false);
  // The Hausdorff distances only on request (as `--report`); the bytes are the same either way.
  assert.equal(head.report.utility.hausdorff, null);
  const full = await veil.deidentifyModel(models['head.stl'].bytes, { seed: 1, hausdorff: true });
  assert.deepEqual(full.model, head.model);
  assert.ok(full.report.utility.hausdorff.max >= 0);
  // The default call equals the default CLI run (no --report), byte for byte.
  const out = join(tmp.dir, 'plain.stl');
  assert.equal(runVeil(['deid', models['head.stl'].path, '-o', out, '--seed', '1']).status, 0);
  assert.deepEqual(head.model, new Uint8Array(readFileSync(out)));
});

test('progress fires at least every 5 % and ends at 1; an abort signal cancels; a throwing callback stops the run', async () => {
  const seen = [];
  await veil.deidentifyModel(models['head.stl'].bytes, { seed: 1, onProgress: (f) => seen.push(f) });
  assert.ok(seen.length >= 20, `${seen.length} progress calls`);
  assert.equal(seen.at(-1), 1);
  let last = 0;
  for (const f of seen) {
    assert.ok(f >= last && f <= 1, `progress went from ${last} to ${f}`);
    assert.ok(f - last <= 0.05 + 1e-6, `progress jumped from ${last} to ${f}`);
    last = f;
  }

  const controller = new AbortController();
  await rejectsCode(veil.deidentifyModel(models['head.stl'].bytes, {
    seed: 1, signal: controller.signal, onProgress: (f) => { if (f > 0.3) controller.abort(); },
  }), 'cancelled');
  const aborted = new AbortController();
  aborted.abort();
  await rejectsCode(veil.deidentifyModel(models['head.stl'].bytes, { signal: aborted.signal }), 'cancelled');

  const boom = new Error('portal callback failed');
  await assert.rejects(veil.deidentifyModel(models['head.stl'].bytes, { onProgress: () => { throw boom; } }), (e) => e === boom);
});

/** A binary STL of `n` copies of one triangle with the given vertex coordinates. */
function stl(n, coords = [0, 0, 0, 1, 0, 0, 0, 1, 0], declared = n) {
  const b = Buffer.alloc(84 + 50 * n);
  b.writeUInt32LE(declared, 80);
  for (let i = 0; i < n; i++) coords.forEach((c, k) => b.writeFloatLE(c, 84 + 50 * i + 12 + 4 * k));
  return b;
}

const text = (s) => new TextEncoder().encode(s);

const BAD_INPUTS = [
  ['truncated-file', stl(2, undefined, 5), 'stl'],
  ['truncated-file', text('ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n\x00\x00'), 'ply'],
  ['count-mismatch', stl(5, undefined, 2), 'stl'],
  ['unknown-format', text('\x00\x01 this is no model at all'), 'auto'],
  ['bad-header', text('ply\nformat binary_little_endian 1.0\nelement vertex banana\nend_header\n'), 'ply'],
  ['unsupported-format', text('ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n'), 'ply'],
  ['parse-error', text('v 0 0 zero\nv 1 0 0\nv 0 1 0\nf 1 2 3\n'), 'obj'],
  ['non-finite-coordinate', stl(1, [NaN, 0, 0, 1, 0, 0, 0, 1, 0]), 'stl'],
  ['index-out-of-range', text('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99\n'), 'obj'],
  ['empty-mesh', stl(0), 'stl'],
  // 50,000,001 one-byte vertex records: backed by real bytes, so only the 50 M vertex limit stops it.
  ['too-large', Buffer.concat([Buffer.from('ply\nformat binary_little_endian 1.0\nelement vertex 50000001\nproperty uchar x\nend_header\n'), Buffer.alloc(50_000_001)]), 'ply'],
];

test('every veil-mesh error code, the same code the CLI prints', async () => {
  for (const [code, bytes, hint] of BAD_INPUTS) {
    await rejectsCode(veil.deidentifyModel(bytes, { inputFormat: hint }), code);
    const ext = hint === 'auto' ? 'bin' : hint;
    const path = join(tmp.dir, `bad-${code}.${ext}`);
    writeFileSync(path, bytes);
    const r = runVeil(['deid', path, '-o', join(tmp.dir, 'never.stl'), '--seed', '1']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`^veil: ${code}: `), `CLI for ${code}: ${r.stderr}`);
  }
  // bad-option: a profile, a deface mode, a plane and an output format that do not exist.
  const head = models['head.stl'].bytes;
  await rejectsCode(veil.deidentifyModel(head, { profile: 'lenient' }), 'bad-option');
  await rejectsCode(veil.deidentifyModel(head, { deface: 'sometimes' }), 'bad-option');
  await rejectsCode(veil.deidentifyModel(head, { deface: 'plane:0,0,0,0,0,0' }), 'bad-option');
  await rejectsCode(veil.deidentifyModel(head, { deface: { point: [0, 0, 0], normal: [0, 0, 0] } }), 'bad-option');
  await rejectsCode(veil.deidentifyModel(head, { format: 'obj' }), 'bad-option');
  await rejectsCode(veil.deidentifyModel(head, { inputFormat: 'step' }), 'bad-option');
  // cancelled: see the progress test. no-entropy needs a platform without crypto.getRandomValues.

  // Arguments of the wrong type reject (never throw synchronously, never crash).
  await rejectsCode(veil.deidentifyModel('model.stl'), 'bad-argument');
  await rejectsCode(veil.deidentifyModel(head, { seed: -1 }), 'bad-argument');
  await rejectsCode(veil.deidentifyModel(head, { seed: 2 ** 60 }), 'bad-argument');
  await rejectsCode(veil.deidentifyModel(head, { onProgress: 'yes' }), 'bad-argument');
  await rejectsCode(veil.deidentifyModel(head, { hausdorff: 'no' }), 'bad-argument');
  await rejectsCode(veil.deidentifyModel(head, { deface: { point: [0, 0], normal: [0, 0, 1] } }), 'bad-argument');
  await rejectsCode(veil.deidentifyModel(head, 'strict'), 'bad-argument');
  // An ArrayBuffer is accepted like a Uint8Array.
  const viaBuffer = await veil.deidentifyModel(head.slice().buffer, { seed: 1, hausdorff: false });
  const viaView = await veil.deidentifyModel(head, { seed: 1, hausdorff: false });
  assert.deepEqual(viaBuffer.model, viaView.model);
});
