// MeshPool (`@veil/core/pool.mjs`, worker_threads in Node) and the three-part API it runs
// (`prepareModel` -> `ModelJob.write` -> `complete`, `distancesToSurface`): the same bytes and
// report as `deidentifyModel` and `veil deid --report`, whichever worker measured what; several
// models at once; progress; cancellation; errors with the pipeline's codes, the pool still usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { veil, tempDir, runVeil, synthModel, rejectsCode, throwsCode, asJson, NPM_DIR } from './helpers.mjs';

const { MeshPool } = await import(pathToFileURL(join(NPM_DIR, 'nodejs', 'pool.mjs')).href);

let tmp;
let head;
let sphere;
const OPTIONS = { seed: 11, hausdorff: true };

before(() => {
  tmp = tempDir();
  head = synthModel('head', 30000, join(tmp.dir, 'head.stl'));
  sphere = synthModel('sphere', 6000, join(tmp.dir, 'sphere.stl'));
});
after(() => tmp.cleanup());

function cli(input, seed, format = 'stl') {
  const out = join(tmp.dir, `cli.${format}`);
  const report = join(tmp.dir, 'cli.json');
  const r = runVeil(['deid', input, '-o', out, '--seed', String(seed), '--report', report]);
  assert.equal(r.status, 0, r.stderr);
  return { model: new Uint8Array(readFileSync(out)), report: JSON.parse(readFileSync(report, 'utf8')) };
}

/** `MeshPool` from a copy of the nodejs package (in `dir`) whose `pool-load.mjs` is `source`. */
async function poolWithLoader(dir, source) {
  const pkg = join(tmp.dir, dir);
  cpSync(join(NPM_DIR, 'nodejs'), pkg, { recursive: true });
  writeFileSync(join(pkg, 'pool-load.mjs'), source);
  return (await import(pathToFileURL(join(pkg, 'pool.mjs')).href)).MeshPool;
}

function sameResult(got, want, label) {
  assert.deepEqual(Buffer.from(got.model), Buffer.from(want.model), `${label}: model bytes differ`);
  assert.deepEqual(asJson(got.report), asJson(want.report), `${label}: report differs`);
  if (want.shareableReport !== undefined) {
    assert.deepEqual(asJson(got.shareableReport), asJson(want.shareableReport), `${label}: shareable report differs`);
  }
}

test('the parts, with the first half measured apart, give deidentifyModel\'s bytes and report', async () => {
  const whole = await veil.deidentifyModel(head, OPTIONS);
  sameResult(whole, cli(join(tmp.dir, 'head.stl'), 11), 'deidentifyModel against the CLI');
  const job = veil.prepareModel(head, OPTIONS);
  const req = job.measureRequest();
  assert.ok(req.vertices instanceof Float32Array && req.triangles instanceof Uint32Array && req.points instanceof Float32Array);
  assert.equal(req.points.length % 3, 0);
  assert.ok(req.points.length > 0);
  const d = veil.distancesToSurface(req.vertices, req.triangles, req.points);
  assert.ok(d instanceof Float64Array);
  assert.equal(d.length, req.points.length / 3);
  job.write(false);
  sameResult(job.complete(d), whole, 'parts');
  job.free();

  // Measured in place by `write(true)`: nothing to bring.
  const inPlace = veil.prepareModel(head, OPTIONS);
  inPlace.write(true);
  sameResult(inPlace.complete(), whole, 'parts, both halves in place');
  inPlace.free();

  // Without the report there is nothing to measure elsewhere.
  const plain = veil.prepareModel(head, { seed: 11 });
  assert.equal(plain.measureRequest(), null);
  plain.write(true);
  sameResult(plain.complete(), await veil.deidentifyModel(head, { seed: 11 }), 'parts without the report');
  plain.free();
});

test('the parts refuse what does not fit: wrong distances, parts out of order, bad surfaces', async () => {
  const job = veil.prepareModel(head, OPTIONS);
  const req = job.measureRequest();
  throwsCode(() => job.complete(new Float64Array(3)), 'bad-argument'); // not written yet
  job.write(false);
  throwsCode(() => job.write(false), 'bad-argument');
  throwsCode(() => job.complete(new Float64Array(req.points.length / 3 - 1)), 'bad-option');
  // A failed part ends the job.
  throwsCode(() => job.complete(new Float64Array(req.points.length / 3)), 'bad-argument');
  job.free();

  const written = veil.prepareModel(head, OPTIONS);
  written.write(false);
  throwsCode(() => written.complete(), 'bad-option'); // neither measured nor brought
  written.free();

  throwsCode(() => veil.distancesToSurface(new Float32Array(4), new Uint32Array(3), new Float32Array(3)), 'bad-argument');
  throwsCode(() => veil.distancesToSurface(new Float32Array(9), new Uint32Array([0, 1, 3]), new Float32Array(3)), 'index-out-of-range');
  throwsCode(() => veil.distancesToSurface(new Float32Array([0, 0, 0, 1, 0, 0, NaN, 1, 0]), new Uint32Array([0, 1, 2]), new Float32Array(3)), 'non-finite-coordinate');
  const tri = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]);
  assert.deepEqual([...veil.distancesToSurface(tri, new Uint32Array([0, 1, 2]), new Float32Array([0, 0, 2]))], [2]);
  for (const bad of [Infinity, -Infinity, NaN]) {
    throwsCode(() => veil.distancesToSurface(tri, new Uint32Array([0, 1, 2]), new Float32Array([0, 0, 0, 0, bad, 0])), 'non-finite-coordinate');
  }
  // Far from the surface: measured, not searched cell by cell through empty space.
  assert.deepEqual([...veil.distancesToSurface(tri, new Uint32Array([0, 1, 2]), new Float32Array([0, 0, 1e9]))], [1e9]);
  // A bad file fails as in deidentifyModel.
  const garbage = new TextEncoder().encode('not a model at all');
  const code = await veil.deidentifyModel(garbage).catch((e) => e.code);
  assert.equal(typeof code, 'string');
  throwsCode(() => veil.prepareModel(garbage, OPTIONS), code);
});

test('MeshPool: the CLI\'s bytes and report, with the first half in another worker or in the same', async () => {
  const want = cli(join(tmp.dir, 'head.stl'), 11);
  for (const size of [2, 1]) {
    const pool = new MeshPool({ size });
    try {
      const seen = [];
      const got = await pool.deidentifyModel(head, { ...OPTIONS, onProgress: (f) => seen.push(f) });
      sameResult(got, want, `pool of ${size}`);
      assert.equal(seen.at(-1), 1);
      for (let i = 1; i < seen.length; i++) {
        assert.ok(seen[i] >= seen[i - 1] && seen[i] - seen[i - 1] <= 0.05 + 1e-9, `progress ${seen[i - 1]} -> ${seen[i]}`);
      }
      // The caller's bytes are untouched (copied, not moved).
      assert.equal(head.length, 84 + 50 * head.readUInt32LE(80));
      assert.equal(pool.workers.length, size);
      // Again, with what each worker is sent recorded: with two workers the second is sent the
      // report's first half to measure and the first gets its distances; one worker measures
      // both halves itself and is sent neither.
      const sent = pool.workers.map((w) => {
        const kinds = [];
        const post = w.handle.post;
        w.handle.post = (message, transfer) => { kinds.push(message.kind); return post(message, transfer); };
        return kinds;
      });
      sameResult(await pool.deidentifyModel(head, OPTIONS), want, `pool of ${size}, again`);
      const plan = size === 2
        ? [['model', 'plan', 'distances'], ['measure']]
        : [['model', 'plan']];
      assert.deepEqual(sent, plan);
    } finally {
      pool.terminate();
    }
  }
});

test('MeshPool: several models at once, each as deidentifyModel gives it', async () => {
  const jobs = [
    [head, { seed: 1, hausdorff: true }],
    [sphere, { seed: 2, hausdorff: true, format: 'ply' }],
    [head, { seed: 3, profile: 'research' }],
    [sphere, { seed: 4 }],
    [head, { seed: 5, hausdorff: true, deface: 'off' }],
  ];
  const pool = new MeshPool({ size: 3 });
  try {
    const got = await Promise.all(jobs.map(([bytes, o]) => pool.deidentifyModel(bytes, o)));
    for (const [i, [bytes, o]] of jobs.entries()) {
      sameResult(got[i], await veil.deidentifyModel(bytes, o), `model ${i}`);
    }
    assert.equal(pool.workers.length, 3);
  } finally {
    pool.terminate();
  }
});

test('MeshPool: errors keep their codes, cancellation stops the model, and the pool goes on', async () => {
  const pool = new MeshPool({ size: 2 });
  try {
    const garbage = new TextEncoder().encode('not a model at all');
    await rejectsCode(pool.deidentifyModel(garbage, {}), await veil.deidentifyModel(garbage).catch((e) => e.code));
    // A typed error leaves its worker whole: it is kept, and takes the next models.
    const [first] = pool.workers;
    assert.equal(pool.workers.length, 1);
    const truncated = head.subarray(0, 5000);
    await rejectsCode(pool.deidentifyModel(truncated, {}), await veil.deidentifyModel(truncated).catch((e) => e.code));
    await rejectsCode(pool.deidentifyModel(head, { profile: 'nope' }), 'bad-option');
    // A plane that removes the whole head fails inside the pipeline, past the reading: as typed.
    await rejectsCode(pool.deidentifyModel(head, { ...OPTIONS, deface: { point: [0, 0, -1e6], normal: [0, 0, 1] } }), 'empty-mesh');
    assert.deepEqual(pool.workers, [first], 'typed failures kept their worker');
    sameResult(await pool.deidentifyModel(head, OPTIONS), await veil.deidentifyModel(head, OPTIONS), 'on the kept worker');
    assert.ok(pool.workers.includes(first), 'the kept worker ran the next model');
    await rejectsCode(pool.deidentifyModel('not bytes'), 'bad-argument');
    await rejectsCode(pool.deidentifyModel(head, { onProgress: 3 }), 'bad-argument');

    const already = new AbortController();
    already.abort();
    await rejectsCode(pool.deidentifyModel(head, { signal: already.signal }), 'cancelled');

    // Aborted while running (at its first progress report): its worker is stopped.
    const running = new AbortController();
    const p = pool.deidentifyModel(head, { ...OPTIONS, signal: running.signal, onProgress: () => running.abort() });
    await rejectsCode(p, 'cancelled');

    // An exception thrown by onProgress rejects the model with that exception, as deidentifyModel.
    const boom = new Error('stop here');
    await assert.rejects(pool.deidentifyModel(head, { onProgress: () => { throw boom; } }), (e) => e === boom);

    sameResult(await pool.deidentifyModel(head, OPTIONS), await veil.deidentifyModel(head, OPTIONS), 'after the errors');
  } finally {
    pool.terminate();
  }
  await rejectsCode(pool.deidentifyModel(head, OPTIONS), 'cancelled');
  assert.throws(() => new MeshPool({ size: 0 }), (e) => e.code === 'bad-argument');
});

test('MeshPool: the bytes are copied when called, options must be plain data, queued models can be aborted', async () => {
  const pool = new MeshPool({ size: 1 });
  try {
    const first = pool.deidentifyModel(head, { seed: 1 });
    const mine = new Uint8Array(head);
    const second = pool.deidentifyModel(mine, { seed: 2 });
    mine.fill(0); // after the call: the queued model keeps what it was given
    const aborted = new AbortController();
    const third = pool.deidentifyModel(head, { seed: 3, signal: aborted.signal });
    aborted.abort();
    await rejectsCode(third, 'cancelled');
    sameResult(await first, await veil.deidentifyModel(head, { seed: 1 }), 'first');
    sameResult(await second, await veil.deidentifyModel(head, { seed: 2 }), 'second, its buffer zeroed after the call');
    await rejectsCode(pool.deidentifyModel(head, { deface: { point: [0, 0, 0], normal: [0, 1, 0], f() {} } }), 'bad-argument');
    sameResult(await pool.deidentifyModel(head, { seed: 4 }), await veil.deidentifyModel(head, { seed: 4 }), 'after a refused call');
  } finally {
    pool.terminate();
  }
});

test('MeshPool: idle workers are stopped after idleMs and started again when needed', async () => {
  assert.throws(() => new MeshPool({ idleMs: -1 }), (e) => e.code === 'bad-argument');
  assert.throws(() => new MeshPool({ idleMs: '5' }), (e) => e.code === 'bad-argument');
  const pool = new MeshPool({ size: 2, idleMs: 150 });
  try {
    const want = await veil.deidentifyModel(head, OPTIONS);
    sameResult(await pool.deidentifyModel(head, OPTIONS), want, 'first');
    assert.equal(pool.workers.length, 2);
    // Busy workers are never stopped: one model after another, each starting before the idle
    // time, keeps the same first worker.
    const [first] = pool.workers;
    sameResult(await pool.deidentifyModel(head, OPTIONS), want, 'second');
    assert.ok(pool.workers.includes(first));
    await new Promise((ok) => setTimeout(ok, 600));
    assert.equal(pool.workers.length, 0, 'idle workers were stopped');
    sameResult(await pool.deidentifyModel(head, OPTIONS), want, 'after the idle stop');
    assert.ok(pool.workers.length > 0 && !pool.workers.includes(first), 'fresh workers ran it');
  } finally {
    pool.terminate();
  }
  // Kept for good with Infinity.
  const keeping = new MeshPool({ size: 1, idleMs: Infinity });
  try {
    await keeping.deidentifyModel(head, { seed: 1 });
    await new Promise((ok) => setTimeout(ok, 300));
    assert.equal(keeping.workers.length, 1);
  } finally {
    keeping.terminate();
  }
});

test('MeshPool: terminate() rejects running and queued models and starts no worker for them', async () => {
  const pool = new MeshPool({ size: 1 });
  const calls = [1, 2, 3].map((seed) => pool.deidentifyModel(head, { seed, hausdorff: true }));
  pool.terminate();
  for (const s of await Promise.allSettled(calls)) {
    assert.equal(s.status, 'rejected');
    assert.equal(s.reason.code, 'cancelled');
  }
  assert.equal(pool.workers.length, 0);
});

test('MeshPool: a typed failure at each later part keeps the workers that hold nothing; an untyped one stops its worker', async () => {
  // A copy of the package whose ModelJob fails at a chosen part, picked by the seed: a typed
  // VeilError from measureRequest (before a helper was sent anything), from write(false) (while
  // the helper measures), from complete (after it measured), and an untyped error from write.
  const Failing = await poolWithLoader('failing-pkg', `import { createRequire } from 'node:module';
const veil = createRequire(import.meta.url)('./veil_core.js');
const typed = (m) => Object.assign(new Error(m), { name: 'VeilError', code: 'bad-option' });
const FAIL = { 901: ['measureRequest', typed], 902: ['write', typed], 903: ['complete', typed], 904: ['write', (m) => new Error(m)] };
export async function loadVeil() {
  return { ...veil, prepareModel(bytes, options) {
    const job = veil.prepareModel(bytes, options);
    const [part, make] = FAIL[options.seed] ?? [];
    if (!part) return job;
    return new Proxy(job, { get(target, key) {
      if (key === part) return () => { throw make(part + ' failed on purpose'); };
      const v = target[key];
      return typeof v === 'function' ? v.bind(target) : v;
    } });
  } };
}
`);
  const pool = new Failing({ size: 2 });
  try {
    // Warm both workers: a model with the report uses the second as its helper.
    await pool.deidentifyModel(head, OPTIONS);
    const [a, b] = pool.workers;
    assert.equal(pool.workers.length, 2);
    await rejectsCode(pool.deidentifyModel(head, { ...OPTIONS, seed: 901 }), 'bad-option');
    assert.deepEqual(pool.workers, [a, b], 'nothing was measured: both workers kept');
    await rejectsCode(pool.deidentifyModel(head, { ...OPTIONS, seed: 902 }), 'bad-option');
    assert.equal(pool.workers.length, 1, 'the helper, still measuring, was stopped');
    const kept = pool.workers[0];
    await rejectsCode(pool.deidentifyModel(head, { ...OPTIONS, seed: 903 }), 'bad-option');
    assert.ok(pool.workers.includes(kept), 'the model\'s worker kept after complete failed');
    assert.ok(pool.workers.every((w) => !w.busy), 'no worker left busy');
    const before = pool.workers.length;
    await assert.rejects(pool.deidentifyModel(head, { ...OPTIONS, seed: 904 }), (e) => e.code === 'internal' && /write failed on purpose/.test(e.message));
    assert.ok(pool.workers.length < before, 'the worker of an untyped failure was stopped');
    assert.ok(pool.workers.every((w) => !w.busy), 'no worker left busy');
    sameResult(await pool.deidentifyModel(head, OPTIONS), await veil.deidentifyModel(head, OPTIONS), 'after the failures');
  } finally {
    pool.terminate();
  }
});

test('MeshPool: a worker that cannot load fails the models with worker-failed, not a loop', async () => {
  // A copy of the package whose module loader throws, as a broken deployment would.
  const Broken = await poolWithLoader('broken-pkg', "export async function loadVeil() { throw new Error('no module here'); }\n");
  const pool = new Broken({ size: 2 });
  try {
    const settled = await Promise.allSettled([1, 2, 3].map((seed) => pool.deidentifyModel(head, { seed })));
    for (const s of settled) {
      assert.equal(s.status, 'rejected');
      assert.equal(s.reason.code, 'worker-failed', s.reason.message);
      assert.ok(veil.isVeilError(s.reason));
      assert.match(s.reason.message, /no module here/);
    }
    assert.equal(pool.workers.length, 0);
  } finally {
    pool.terminate();
  }
});
