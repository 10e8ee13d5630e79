// The patient's Audit page shows who at the clinic read their data and when (issue #19): an
// artifact sealed and delivered from this browser is read by a researcher through the server's
// read API (`veil fetch`, as the operator's recipient user); the Audit page, asking the server's
// access log with this browser's client key, then lists that read: when, who and their role, the
// artifact, the purpose and the decision, each entry's hash recomputed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';
import { OutboxPage } from '../lib/outbox-page.mjs';
import { openStored } from '../lib/egress.mjs';
import { connectClinic } from '../lib/clinic.mjs';

const DATA = process.env.VEIL_DATA;

let session;
let model;
before(async () => {
  session = await launch();
  const dir = mkdtempSync(join(tmpdir(), 'veil-audit-'));
  model = join(dir, 'scan.stl');
  // A small closed tetrahedron in binary STL.
  const tris = [
    [[0, 0, 0], [0, 10, 0], [10, 0, 0]], [[0, 0, 0], [10, 0, 0], [0, 0, 10]],
    [[0, 0, 0], [0, 0, 10], [0, 10, 0]], [[10, 0, 0], [0, 10, 0], [0, 0, 10]],
  ];
  const buf = Buffer.alloc(84 + 50 * tris.length);
  buf.writeUInt32LE(tris.length, 80);
  tris.forEach((t, i) => t.flat().forEach((v, j) => buf.writeFloatLE(v, 84 + 50 * i + 12 + 4 * j)));
  writeFileSync(model, buf);
});
after(async () => { await session?.close(); });

async function clinicReads(app, page) {
  await app.navigate('outbox');
  await app.navigate('audit');
  await page.waitForSelector('[data-testid="clinic-reads-empty"], [data-testid="clinic-read"], [data-testid="clinic-reads"] .error', { timeout: 30000 });
  const error = await page.$eval('[data-testid="clinic-reads"]', (el) => el.querySelector('.error')?.textContent ?? null);
  assert.equal(error, null, 'the clinic answered');
  return page.$$eval('[data-testid="clinic-read"]', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
}

test('after a researcher reads the patient\'s artifact, the Audit page shows who read it and when', { timeout: 240000 }, async () => {
  assert.ok(DATA, 'VEIL_DATA is set by cargo xtask test');
  const { page, errors } = await openPage(session.browser);
  const app = new VeilApp(page);
  await app.open('/consent');
  await page.waitForSelector('[data-testid="consent-setup"]');
  await page.select('[data-testid="consent-jurisdiction"]', 'DE');
  await page.type('[data-testid="consent-age"]', '47');
  await page.click('[data-testid="consent-confirm"]');
  await page.waitForSelector('[data-testid="toggle-research-this-study"]');
  await page.click('[data-testid="toggle-research-this-study"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="decision-research-this-study"]')?.dataset.outcome === 'allow');
  await connectClinic(page);

  await app.navigate('outbox');
  const outbox = new OutboxPage(page);
  const id = await outbox.sealModel(model, 'research/this-study');
  await outbox.waitForState(id, 'delivered');

  // Delivered, not read yet.
  assert.deepEqual(await clinicReads(app, page), []);
  assert.ok(await page.$('[data-testid="clinic-reads-empty"]'), 'nobody has read it yet');

  // A researcher reads it through the read API (the server decides and logs the read).
  const before = Date.now();
  const opened = openStored(DATA, id);
  const afterRead = Date.now();
  assert.equal(opened.decision.decision ?? 'allow', 'allow');

  const rows = await clinicReads(app, page);
  assert.equal(rows.length, 1, `one read: ${JSON.stringify(rows)}`);
  const [when, who, artifact, purpose, decision, basis, check] = rows[0];
  const at = Date.parse(when);
  assert.ok(at >= before - 1000 && at <= afterRead + 1000, `read at ${when}, between the fetch's start and end`);
  assert.match(who, /^e2e researcher [0-9a-f]{8} \(researcher\)$/);
  assert.equal(artifact, id.slice(0, 16));
  assert.equal(purpose, 'research');
  assert.equal(decision, 'allow');
  assert.match(basis, /not withdrawn/);
  // The app sealed its consent (event, jurisdictions, age band): the server decided it again.
  assert.match(basis, /^consent re-decided under DE: allow/);
  assert.equal(check, 'hash verified');
  assert.deepEqual(errors, []);
  await page.close();
});
