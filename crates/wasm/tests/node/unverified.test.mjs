// openArtifact reads the manifest's unverified_readings (issue 17: a standard Bluetooth device's or
// an imported file's readings, which nothing proves) exactly as `veil open` prints them, with their
// status `unverified`, apart from the device evidence; and the typed definitions declare them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { veil, tempDir, veilJson, asJson, NPM_DIR } from './helpers.mjs';

let tmp;
before(() => {
  tmp = tempDir();
  veilJson(['seal', '--generate-keys', join(tmp.dir, 'keys')]);
});
after(() => tmp.cleanup());

test('an artifact with unverified readings opens here with the manifest `veil open` prints', async () => {
  const keys = join(tmp.dir, 'keys');
  const readings = join(tmp.dir, 'readings.json');
  writeFileSync(readings, JSON.stringify([
    { kind: 'blood_pressure', values: [{ name: 'systolic', value: 131, unit: 'mmHg' }, { name: 'diastolic', value: 84.5, unit: 'mmHg' }],
      time: '2026-12-06T09:15:00', source: 'standard-gatt', device: { manufacturer: 'Omron Healthcare', model: 'M7 Intelli IT' } },
    { kind: 'pulse_oximetry', values: [{ name: 'spo2', value: 97, unit: '%' }], source: 'fhir-import', device: { name: 'Oximeter app' } },
  ]));
  const note = join(tmp.dir, 'note.txt');
  writeFileSync(note, 'x');
  const envelope = join(tmp.dir, 'a.veil');
  veilJson(['seal', '--recipient', join(keys, 'recipient.pub.pem'), '--client-key', join(keys, 'client.pem'), '--purpose', 'treatment',
    '--pseudonym-secret', join(keys, 'pseudonym.secret'), '--unverified-readings', readings, '-o', envelope, note]);
  const opened = await veil.openArtifact(new Uint8Array(readFileSync(envelope)), readFileSync(join(keys, 'recipient.pem'), 'utf8'));
  const manifest = asJson(opened.manifest);
  assert.deepEqual(manifest, veilJson(['open', '--key', join(keys, 'recipient.pem'), envelope]));
  assert.deepEqual(manifest.device_evidence, []);
  assert.equal(manifest.unverified_readings.length, 2);
  assert.ok(manifest.unverified_readings.every((r) => r.status === 'unverified'));
  assert.equal(manifest.unverified_readings[0].values[1].value, 84.5);
  assert.equal(manifest.unverified_readings[1].time, null);
  assert.equal(manifest.unverified_readings[1].device.name, 'Oximeter app');
});

test('the typed manifest declares unverified_readings and every field it holds', () => {
  const dts = readFileSync(join(NPM_DIR, 'nodejs', 'veil_core.d.ts'), 'utf8');
  assert.match(dts, /unverified_readings\?: UnverifiedReading\[\];/);
  const body = /export interface UnverifiedReading \{([\s\S]*?)\n\s*\}/.exec(dts)?.[1] ?? '';
  for (const field of ['status', 'kind', 'values', 'time', 'source', 'device']) {
    assert.match(body, new RegExp(`\\n\\s+${field}: `), `UnverifiedReading.${field}`);
  }
});
