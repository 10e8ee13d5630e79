// Nothing identifying leaves through the package or the CLI: identifiers planted in every channel
// of a PLY and an OBJ, and in the file names, are in neither the de-identified model, the shareable
// report, the sealed artifact (manifest and contents, opened by the recipient), nor an error
// message; raw models are refused; the local report stays local.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { veil, tempDir, runVeil, veilJson, rejectsCode } from './helpers.mjs';

let tmp;
let keys;
before(() => {
  tmp = tempDir();
  keys = join(tmp.dir, 'keys');
  veilJson(['seal', '--generate-keys', keys]);
});
after(() => tmp.cleanup());

const plant = () => `PHI${randomBytes(9).toString('hex')}`;

/** The identifier as UTF-8, UTF-16LE and base64 (of its UTF-8), to search any bytes for. */
function forms(id) {
  return [Buffer.from(id), Buffer.from(id, 'utf16le'), Buffer.from(Buffer.from(id).toString('base64'))];
}
function assertAbsent(bytes, id, where) {
  const hay = Buffer.from(bytes);
  for (const f of forms(id)) assert.equal(hay.indexOf(f), -1, `${id} found in ${where}`);
}

function cube() {
  const v = [];
  for (const x of [0, 20]) for (const y of [0, 20]) for (const z of [0, 20]) v.push([x, y, z]);
  const f = [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]];
  return { v, f };
}

function plantedPly(id) {
  const { v, f } = cube();
  return Buffer.from([
    'ply', 'format ascii 1.0', `comment ${id}`, `obj_info ${id}`,
    `element vertex ${v.length}`, 'property float x', 'property float y', 'property float z', `property uchar ${id}_v`,
    `element face ${f.length}`, 'property list uchar int vertex_indices', `property int ${id}_f`,
    `element ${id}_el 1`, `property int ${id}_p`, 'end_header',
    ...v.map((p) => `${p.join(' ')} 7`), ...f.map((t) => `3 ${t.join(' ')} 448812`), '19700312', `${id} trailing`, '',
  ].join('\n'));
}

function plantedObj(id) {
  const { v, f } = cube();
  return Buffer.from([`# ${id}`, `mtllib ${id}.mtl`, `o ${id}`, `g ${id}`, `usemtl ${id}`,
    ...v.map((p) => `v ${p.join(' ')}`), ...f.map((t) => `f ${t.map((i) => i + 1).join(' ')}`), `# ${id}`, ''].join('\n'));
}

test('npm: planted identifiers reach neither the model, the shareable report, the artifact nor errors', async () => {
  for (const [kind, make] of [['ply', plantedPly], ['obj', plantedObj]]) {
    const id = plant();
    const input = make(id);
    const done = await veil.deidentifyModel(input, { hausdorff: true });
    assertAbsent(done.model, id, `${kind}: the model`);
    assertAbsent(JSON.stringify(done.shareableReport), id, `${kind}: the shareable report`);
    assert.equal(done.shareableReport.transform, undefined);
    if (kind === 'ply') assert.ok(JSON.stringify(done.report).includes(id), 'the local report names what it removed');

    const recipient = readFileSync(join(keys, 'recipient.pub.pem'), 'utf8');
    const options = { recipientKey: recipient, clientKey: readFileSync(join(keys, 'client.pem'), 'utf8'), pseudonymSecret: readFileSync(join(keys, 'pseudonym.secret'), 'utf8').trim(), purpose: 'research' };
    const files = [{ name: `${id} head CT.stl`, bytes: done.model }, { name: `${id}.json`, bytes: Buffer.from('{"note":"ok"}') }];
    // The local report given by mistake is refused; only the shareable one is sealed.
    await rejectsCode(veil.sealArtifact(files, { ...options, deidReport: done.report }), 'bad-report');
    const sealed = await veil.sealArtifact(files, { ...options, deidReport: done.shareableReport });
    assert.deepEqual(sealed.contents, ['model-1.stl', 'file-1.json']);
    const opened = await veil.openArtifact(sealed.envelope, readFileSync(join(keys, 'recipient.pem'), 'utf8'));
    assertAbsent(JSON.stringify(opened.manifest), id, `${kind}: the manifest`);
    for (const [name, bytes] of Object.entries(opened.files)) assertAbsent(bytes, id, `${kind}: content ${name}`);
    assert.equal(opened.manifest.deid_report.form, 'shareable');

    // The raw file is refused, unless the portal says raw.
    await rejectsCode(veil.sealArtifact([{ name: 'scan.ply', bytes: input }], options), 'raw-model');
    await rejectsCode(veil.sealArtifact({ 'x.stl': done.model }, { ...options, deidReport: { form: 'mine', name: id } }), 'bad-report');
    const named = structuredClone(done.shareableReport);
    named.metadata_removed[0].channel = id;
    await rejectsCode(veil.sealArtifact({ 'x.stl': done.model }, { ...options, deidReport: named }), 'bad-report');

    // Malformed variants: the identifier where a number or keyword belongs.
    const text = input.toString();
    const broken = kind === 'ply'
      ? [text.replace('property float x', `property ${id} x`), text.replace('format ascii', `format ${id}`), text.replace(`element vertex 8`, `element vertex ${id}`), text.replace('\n0 0 0 7', `\n${id} 0 0 7`)]
      : [text.replace('\nv 0 0 0', `\nv ${id} 0 0`), text.replace('\nf 1', `\nf ${id}`)];
    for (const b of broken) {
      await assert.rejects(veil.deidentifyModel(Buffer.from(b)), (e) => {
        assert.ok(e.code, 'a coded error');
        assertAbsent(`${e.message} ${e.code} ${String(e)}`, id, `${kind}: an error message`);
        return true;
      });
    }
  }
});

test('CLI: planted identifiers reach neither the model, the artifact nor stderr; raw models need --raw', () => {
  const id = plant();
  const raw = join(tmp.dir, `${id}_headCT.ply`);
  writeFileSync(raw, plantedPly(id));
  const out = join(tmp.dir, `${id}_deid.stl`);
  const local = join(tmp.dir, 'local.json');
  const shared = join(tmp.dir, 'shared.json');
  const deid = runVeil(['deid', raw, '-o', out, '--report', local, '--shareable-report', shared]);
  assert.equal(deid.status, 0, deid.stderr);
  assertAbsent(readFileSync(out), id, 'the model');
  assertAbsent(readFileSync(shared), id, 'the shareable report');
  assert.ok(readFileSync(local, 'utf8').includes(id), 'the local report names what it removed');

  const seal = (files, extra = []) => runVeil(['seal', '--recipient', join(keys, 'recipient.pub.pem'), '--client-key', join(keys, 'client.pem'),
    '--purpose', 'research', '--pseudonym-secret', join(keys, 'pseudonym.secret'), ...extra, '-o', join(tmp.dir, 'a.veil'), ...files]);
  const refused = seal([raw]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /^veil: raw-model: /);
  const warned = seal([raw], ['--raw']);
  assert.equal(warned.status, 0, warned.stderr);
  assert.match(warned.stderr, /warning/);

  const ok = seal([out], ['--deid-report', local]);
  assert.equal(ok.status, 0, ok.stderr);
  const dir = join(tmp.dir, 'opened');
  const opened = runVeil(['open', '--key', join(keys, 'recipient.pem'), '-o', dir, join(tmp.dir, 'a.veil')]);
  assert.equal(opened.status, 0, opened.stderr);
  assertAbsent(opened.stdout, id, 'the manifest veil open prints');
  assert.deepEqual(readdirSync(dir), ['model-1.stl']);
  assertAbsent(readFileSync(join(dir, 'model-1.stl')), id, 'the opened model');
  assert.equal(JSON.parse(opened.stdout).deid_report.form, 'shareable');

  const broken = join(tmp.dir, 'broken.ply');
  writeFileSync(broken, plantedPly(id).toString().replace('property float x', `property ${id} x`));
  const failed = runVeil(['deid', broken, '-o', join(tmp.dir, 'b.stl')]);
  assert.notEqual(failed.status, 0);
  assertAbsent(failed.stderr, id, 'the error message');
});
