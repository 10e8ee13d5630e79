// decideConsent, exportFhirConsent, importFhirConsent, consentErasure, breachSchedule: the same
// JSON as `veil consent decide` (with --controller, --transfer-mechanism, --data-category and
// --sharing-basis), `export-fhir`, `import-fhir`, `erasure` and `breach` on the consent crate's
// committed ledger vectors and clinic scenarios, and every consent error code a portal can reach.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { veil, ROOT, veilJson, runVeil, throwsCode, asJson, tempDir } from './helpers.mjs';

const VECTORS = join(ROOT, 'crates', 'consent', 'tests', 'vectors');
const LEDGERS = readdirSync(join(VECTORS, 'ledgers')).filter((f) => f.endsWith('.json')).sort();

const REQUESTS = [
  { jurisdictions: ['DE'], age: 34, purpose: 'research', tier: 'this-study' },
  { jurisdictions: ['DE'], age: 34, purpose: 'research', tier: 'any-research' },
  { jurisdictions: ['US', 'FR'], age: 51, purpose: 'ai-training' },
  { jurisdictions: ['US-CA'], age: 40, purpose: 'marketing' },
  { jurisdictions: ['GB'], age: 12, purpose: 'treatment' },
  { jurisdictions: ['DE'], age: 15, purpose: 'research', tier: 'related-studies', guardianConsent: true },
  { jurisdictions: ['DE', 'US'], age: 60, purpose: 'partner-sharing', partner: 'Acme Print' },
  { jurisdictions: ['FR'], age: 30, purpose: 'cross-border-transfer', country: 'US' },
  { jurisdictions: ['US'], age: 30, purpose: 'research', tier: 'this-study', waiver: 'IRB-2026-17' },
  // The options of `decide_with`: controller, transfer mechanism, data category, sharing basis.
  { jurisdictions: ['US-CA'], age: 40, purpose: 'research', tier: 'this-study', controller: 'DE' },
  { jurisdictions: ['DE'], age: 40, purpose: 'cross-border-transfer', country: 'US', transferMechanism: 'dpf' },
  { jurisdictions: ['DE'], age: 40, purpose: 'cross-border-transfer', country: 'US', transferMechanism: 'adequacy' },
  { jurisdictions: ['US'], age: 40, purpose: 'care-operations', dataCategory: 'substance-use' },
  { jurisdictions: ['BR'], age: 40, purpose: 'partner-sharing', partner: 'Acme', sharingBasis: 'health-care' },
  { jurisdictions: ['BR'], age: 40, purpose: 'partner-sharing', partner: 'Acme' },
  { jurisdictions: ['CA-QC'], age: 13, purpose: 'marketing' },
  { jurisdictions: ['JP'], age: 40, purpose: 'cross-border-transfer', country: 'US', transferMechanism: 'derogation' },
  { jurisdictions: ['IN'], age: 17, purpose: 'research', tier: 'this-study' },
];
let tmp;
before(() => { tmp = tempDir(); });
after(() => tmp.cleanup());

// 2028: after India's DPDP commencement (2027-05-13).
const TIMES = ['2026-01-15T00:00:00Z', '2026-06-01T12:00:00Z', '2028-01-01T00:00:00Z'];

function cliDecide(r, at, ledgerPath) {
  const args = ['consent', 'decide', '--age', String(r.age), '--purpose', r.purpose, '--at', at];
  for (const j of r.jurisdictions) args.push('--jurisdiction', j);
  if (r.tier) args.push('--tier', r.tier);
  if (r.partner) args.push('--partner', r.partner);
  if (r.country) args.push('--country', r.country);
  if (r.guardianConsent) args.push('--guardian-consent');
  if (r.waiver) args.push('--irb-waiver', r.waiver);
  if (r.controller) args.push('--controller', r.controller);
  if (r.transferMechanism) args.push('--transfer-mechanism', r.transferMechanism);
  if (r.dataCategory) args.push('--data-category', r.dataCategory);
  if (r.sharingBasis) args.push('--sharing-basis', r.sharingBasis);
  if (ledgerPath) args.push('--ledger', ledgerPath);
  return veilJson(args);
}

test('decisions equal `veil consent decide` for every ledger vector, request and time', () => {
  let compared = 0;
  for (const file of [null, ...LEDGERS]) {
    const path = file && join(VECTORS, 'ledgers', file);
    const text = path && readFileSync(path, 'utf8');
    for (const r of REQUESTS) {
      for (const at of TIMES) {
        const cli = cliDecide(r, at, path);
        const subject = { jurisdictions: r.jurisdictions, age: r.age, guardianConsent: r.guardianConsent };
        const scope = { purpose: r.purpose, tier: r.tier, partner: r.partner, country: r.country };
        const options = {
          at, waiver: r.waiver, controller: r.controller, transferMechanism: r.transferMechanism,
          dataCategory: r.dataCategory, sharingBasis: r.sharingBasis,
        };
        // The ledger as text, as bytes, and as a parsed object; the purpose as an object.
        assert.deepEqual(asJson(veil.decideConsent(subject, scope, text, options)), cli, `${file} ${JSON.stringify(r)} ${at}`);
        if (text) {
          assert.deepEqual(asJson(veil.decideConsent(subject, scope, new TextEncoder().encode(text), options)), cli);
          assert.deepEqual(asJson(veil.decideConsent(subject, scope, JSON.parse(text), options)), cli);
        }
        compared++;
      }
    }
  }
  assert.ok(compared >= 50);
});

test('purpose labels, Date and unix-second times give the same decision as the object form', () => {
  const ledger = readFileSync(join(VECTORS, 'ledgers', LEDGERS[0]), 'utf8');
  const subject = { jurisdictions: ['DE'], age: 34 };
  const at = '2026-06-01T12:00:00Z';
  const base = veil.decideConsent(subject, { purpose: 'research', tier: 'this-study' }, ledger, { at });
  assert.deepEqual(veil.decideConsent(subject, 'research/this-study', ledger, { at }), base);
  // Research without a tier is this-study, the narrowest, in every form and in the CLI.
  assert.deepEqual(veil.decideConsent(subject, 'research', ledger, { at }), base, 'research defaults to this-study, as in the CLI');
  assert.deepEqual(veil.decideConsent(subject, { purpose: 'research' }, ledger, { at }), base);
  const ledgerPath = join(VECTORS, 'ledgers', LEDGERS[0]);
  assert.deepEqual(cliDecide({ jurisdictions: ['DE'], age: 34, purpose: 'research' }, at, ledgerPath), asJson(base));
  const unledgered = veil.decideConsent(subject, 'research', null, { at });
  assert.equal(unledgered.requires[0].scope, 'research/this-study');
  assert.deepEqual(veil.decideConsent(subject, 'research/this-study', ledger, { at: new Date(at) }), base);
  assert.deepEqual(veil.decideConsent(subject, 'research/this-study', ledger, { at: Date.parse(at) / 1000 }), base);
  assert.deepEqual(
    veil.decideConsent({ jurisdictions: ['DE', 'US'], age: 60 }, 'partner-sharing(Acme Print)', null, { at }),
    veil.decideConsent({ jurisdictions: ['DE', 'US'], age: 60 }, { purpose: 'partner-sharing', partner: 'Acme Print' }, undefined, { at }),
  );
  // Without a time, now is used: the decision is a well-formed one.
  assert.ok(['allow', 'needs-consent', 'deny'].includes(veil.decideConsent(subject, 'treatment').decision));
});

test('the options reach the decision: controller, mechanism, category, sharing basis', () => {
  const at = '2026-06-01T00:00:00Z';
  const br = { jurisdictions: ['BR'], age: 40 };
  const d = veil.decideConsent(br, 'partner-sharing(Acme)', null, { at });
  assert.equal(d.decision, 'needs-consent');
  assert.deepEqual([d.requires[0].what, d.requires[0].from, d.requires[0].citation], ['sharing-basis', 'controller', 'LGPD Art. 11 §4']);
  const t = veil.decideConsent({ jurisdictions: ['DE'], age: 40 }, 'cross-border-transfer(IN)', null, { at });
  assert.deepEqual([t.requires[0].what, t.requires[0].from], ['transfer-mechanism', 'controller']);
  assert.equal(veil.decideConsent({ jurisdictions: ['DE'], age: 40 }, 'cross-border-transfer(IN)', null, { at, transferMechanism: 'scc' }).decision, 'allow');
  // Naming the controller adds its law: a Californian patient of a German clinic is under GDPR too.
  const c = veil.decideConsent({ jurisdictions: ['US-CA'], age: 40 }, 'research', null, { at, controller: 'DE' });
  assert.ok(c.rules.some((r) => r.regime === 'gdpr'), JSON.stringify(c.rules));
  // A minor's assent is its own requirement.
  const m = veil.decideConsent({ jurisdictions: ['CA-QC'], age: 16 }, 'research', null, { at });
  assert.ok(m.requires.some((r) => r.what === 'assent' && r.from === 'subject'), JSON.stringify(m.requires));
});

test('consentErasure equals `veil consent erasure`', () => {
  for (const [subject, controller] of [[['US-CA'], 'DE'], [['CA-QC'], 'JP'], [['DE', 'FR'], 'CA-ON'], [['BR'], 'BR']]) {
    const args = ['consent', 'erasure', '--controller', controller];
    for (const j of subject) args.push('--jurisdiction', j);
    const e = veil.consentErasure(subject, controller);
    assert.deepEqual(asJson(e), veilJson(args), `${subject} ${controller}`);
    assert.ok(e.steps.some((s) => s.record === 'medical-record'));
  }
});

test('breachSchedule equals `veil consent breach`, counted per region', () => {
  const discovered = '2026-11-23T10:00:00Z';
  const cases = [
    [['DE', 'US'], 600, ['600']],
    [['CH', 'US'], ['10'], ['10']],
    [['US'], { 'US-CA': 612, 'US-NV': 20 }, ['US-CA=612', 'US-NV=20']],
    [['US'], ['US-CA=612', 'US-NV=20'], ['US-CA=612', 'US-NV=20']],
    [['US'], { total: 700, 'US-CA': 612 }, ['700', 'US-CA=612']],
    [['JP', 'IN'], 5, ['5']],
    [[], { 'US-CA': 612 }, ['US-CA=612']],
    [['US'], 600, ['600'], 'DE'],
  ];
  for (const [js, affected, cliAffected, controller] of cases) {
    const args = ['consent', 'breach', '--discovered', discovered];
    for (const j of js) args.push('--jurisdiction', j);
    for (const a of cliAffected) args.push('--affected', a);
    if (controller) args.push('--controller', controller);
    const s = veil.breachSchedule(discovered, js, affected, controller);
    assert.deepEqual(asJson(s), veilJson(args), `${js} ${JSON.stringify(affected)} ${controller}`);
  }
  // A German clinic's breach of US patients' data: GDPR Art. 33 binds the clinic (Art. 3(1)).
  const de = veil.breachSchedule(discovered, ['US'], 600, 'DE');
  assert.ok(de.notices.some((n) => n.citation.startsWith('GDPR Art. 33')), JSON.stringify(de.notices));
  assert.ok(!veil.breachSchedule(discovered, ['US'], 600).notices.some((n) => n.citation.startsWith('GDPR')));
  // nFADP Art. 24(1) "as soon as possible" leads, with no deadline.
  const ch = veil.breachSchedule(new Date(discovered), ['CH', 'US'], 10);
  assert.equal(ch.leading.asap, true);
  assert.equal(ch.leading.deadline, null);
  // 612 Californians: the Attorney General (Civ. Code § 1798.82(f)).
  const ca = veil.breachSchedule(discovered, ['US'], { 'US-CA': 612 });
  assert.ok(ca.notices.some((n) => n.citation.includes('1798.82(f)')), JSON.stringify(ca.notices));
});

test('FHIR export equals `veil consent export-fhir`, and import equals `import-fhir`', () => {
  for (const file of LEDGERS) {
    const path = join(VECTORS, 'ledgers', file);
    const text = readFileSync(path, 'utf8');
    for (const at of [undefined, '2027-06-01T00:00:00Z']) {
      const args = ['consent', 'export-fhir', path];
      if (at) args.push('--at', at);
      const cli = veilJson(args);
      const bundle = veil.exportFhirConsent(text, { at });
      assert.deepEqual(asJson(bundle), cli, file);
      assert.equal(bundle.resourceType, 'Bundle');
    }
    // Round trip through FHIR: the ledger comes back as the CLI imports it.
    const bundle = veil.exportFhirConsent(JSON.parse(text));
    const bundlePath = join(tmp.dir, `${file}.bundle.json`);
    writeFileSync(bundlePath, JSON.stringify(bundle));
    const cliImport = veilJson(['consent', 'import-fhir', bundlePath]);
    assert.deepEqual(asJson(veil.importFhirConsent(bundle)), cliImport, file);
    assert.deepEqual(asJson(veil.importFhirConsent(JSON.stringify(bundle))), cliImport);
  }
  const foreign = readFileSync(join(VECTORS, 'fhir', 'foreign-bundle.json'), 'utf8');
  assert.deepEqual(asJson(veil.importFhirConsent(foreign)), JSON.parse(runVeil(['consent', 'import-fhir', join(VECTORS, 'fhir', 'foreign-bundle.json')]).stdout));
});

test('every consent error code a portal can reach', () => {
  const de = { jurisdictions: ['DE'], age: 34 };
  const at = { at: '2026-06-01T00:00:00Z' };
  const ledger = (events, subject = 'p-1') => JSON.stringify({ format: 'veil-consent-ledger/1', subject, events });
  const given = (extra = {}) => ({ kind: 'given', purpose: 'treatment', at: '2026-01-10T09:00:00Z', channel: { type: 'own-device' }, ...extra });

  throwsCode(() => veil.decideConsent(de, 'advertising', null, at), 'unknown-purpose');
  throwsCode(() => veil.decideConsent(de, 'research/everything', null, at), 'unknown-tier');
  throwsCode(() => veil.decideConsent(de, { purpose: 'treatment', tier: 'this-study' }, null, at), 'bad-tier');
  throwsCode(() => veil.decideConsent({ jurisdictions: ['XX'], age: 34 }, 'treatment', null, at), 'unknown-jurisdiction');
  throwsCode(() => veil.decideConsent({ jurisdictions: [], age: 34 }, 'treatment', null, at), 'no-jurisdiction');
  throwsCode(() => veil.decideConsent({ jurisdictions: [' '], age: 34 }, 'treatment', null, at), 'no-jurisdiction');
  throwsCode(() => veil.decideConsent({ jurisdictions: ['DE', 'XX'], age: 34 }, 'treatment', null, at), 'unknown-jurisdiction');
  throwsCode(() => veil.decideConsent(de, 'cross-border-transfer(US)', null, { ...at, transferMechanism: 'treaty' }), 'unknown-mechanism');
  throwsCode(() => veil.decideConsent(de, 'cross-border-transfer(XQ)', null, at), 'unknown-country');
  throwsCode(() => veil.decideConsent(de, 'treatment', null, { ...at, dataCategory: 'genetic' }), 'unknown-category');
  throwsCode(() => veil.decideConsent(de, 'treatment', null, { ...at, sharingBasis: 'profit' }), 'unknown-sharing-basis');
  throwsCode(() => veil.decideConsent(de, 'treatment', null, { ...at, controller: 'XX' }), 'unknown-jurisdiction');
  throwsCode(() => veil.consentErasure(['DE'], 'XX'), 'unknown-jurisdiction');
  throwsCode(() => veil.consentErasure([], 'DE'), 'no-jurisdiction');
  throwsCode(() => veil.breachSchedule('2026-11-23T10:00:00Z', ['US'], ['US-CA=x']), 'bad-affected');
  throwsCode(() => veil.breachSchedule('yesterday', ['US'], 1), 'bad-time');
  throwsCode(() => veil.decideConsent(de, 'partner-sharing', null, at), 'missing-qualifier');
  throwsCode(() => veil.decideConsent(de, 'treatment', null, { at: 'yesterday' }), 'bad-time');
  throwsCode(() => veil.decideConsent({ jurisdictions: ['DE'], age: 151 }, 'treatment', null, at), 'bad-age');
  throwsCode(() => veil.decideConsent(de, 'treatment', ledger([given(), given({ at: '2026-01-01T00:00:00Z' })]), at), 'out-of-order');
  throwsCode(() => veil.decideConsent(de, 'treatment', ledger([given({ kind: 'renewed' })]), at), 'renew-without-consent');
  throwsCode(() => veil.decideConsent(de, 'treatment', ledger([given({ expires_at: '2025-01-01T00:00:00Z' })]), at), 'bad-expiry');
  throwsCode(() => veil.decideConsent(de, 'treatment', ledger([given({ text: { purpose: 'treatment', version: 99, lang: 'en', sha256: '00'.repeat(32) } })]), at), 'unknown-text');
  const textRef = JSON.parse(readFileSync(join(VECTORS, 'ledgers', 'adult-research-given-then-withdrawn.json'), 'utf8')).events[0].text;
  throwsCode(() => veil.decideConsent(de, 'treatment', ledger([given({ purpose: textRef.purpose, tier: 'any-research', text: { ...textRef, sha256: '11'.repeat(32) } })]), at), 'text-hash-mismatch');
  throwsCode(() => veil.decideConsent(de, 'treatment', ledger([], 'not a pseudonym!'), at), 'bad-pseudonym');
  throwsCode(() => veil.decideConsent(de, 'treatment', ledger([given({ channel: { type: 'kiosk', staff_id: ' ' } })]), at), 'bad-field');
  throwsCode(() => veil.decideConsent(de, 'treatment', ' '.repeat(16 * 1024 * 1024 + 1), at), 'too-large');
  throwsCode(() => veil.decideConsent(de, 'treatment', '{"subject": 7}', at), 'malformed-json');
  throwsCode(() => veil.importFhirConsent({ resourceType: 'Patient' }), 'bad-fhir');
  const bundle = veil.exportFhirConsent(ledger([given()]));
  const withCode = (code) => {
    const b = structuredClone(bundle);
    for (const p of b.entry[0].resource.provision.purpose) { p.code = code; p.system = 'http://terminology.hl7.org/CodeSystem/v3-ActReason'; }
    return b;
  };
  throwsCode(() => veil.importFhirConsent(withCode('HPAYMT')), 'unknown-purpose-code');
  const badStatus = structuredClone(bundle);
  badStatus.entry[0].resource.status = 'pondering';
  throwsCode(() => veil.importFhirConsent(badStatus), 'unknown-status');
  // bad-bundled-data (a build defect) and unknown-language (texts are not exposed) cannot be reached.

  // Arguments of the wrong shape.
  throwsCode(() => veil.decideConsent('DE', 'treatment', null, at), 'bad-argument');
  throwsCode(() => veil.decideConsent({ jurisdictions: ['DE'] }, 'treatment', null, at), 'bad-argument');
  throwsCode(() => veil.decideConsent({ jurisdictions: 'DE', age: 34 }, 'treatment', null, at), 'bad-argument');
  throwsCode(() => veil.decideConsent(de, 42, null, at), 'bad-argument');
  throwsCode(() => veil.decideConsent(de, 'treatment', 42, at), 'bad-argument');
  throwsCode(() => veil.decideConsent(de, 'treatment', null, { at: 1.5 }), 'bad-argument');
  throwsCode(() => veil.exportFhirConsent(null), 'bad-argument');
  throwsCode(() => veil.consentErasure('DE', 'DE'), 'bad-argument');
  throwsCode(() => veil.consentErasure(['DE'], 7), 'bad-argument');
  throwsCode(() => veil.breachSchedule('2026-11-23T10:00:00Z', 'US', 1), 'bad-argument');
  throwsCode(() => veil.breachSchedule('2026-11-23T10:00:00Z', ['US'], -1), 'bad-argument');
  throwsCode(() => veil.breachSchedule('2026-11-23T10:00:00Z', ['US'], true), 'bad-argument');
});
