// A worked example of a partner portal embedding @veil/core (the `web` build, served from the
// package's own files under ./pkg/): a dropped model is de-identified on the package's pool of
// Web Workers (`MeshPool`) with a progress bar and the Hausdorff report, and a device reading is verified against the portal's trusted manufacturer roots.
// Everything happens in the page; the portal's server never sees the raw scan.
import init, { verifyReading, isVeilError, version } from './pkg/veil_core.js';
import { MeshPool } from './pkg/pool.mjs';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const progressSeen = [];
let download;

function show(el, text, ok) {
  el.textContent = text;
  el.className = ok ? 'ok' : 'rejected';
}

/** The portal's workers (`MeshPool`, from the package): one per core, started on first use. */
const pool = new MeshPool();

/** De-identify one file on the pool, with the Hausdorff report; resolves when it is done. */
async function deidentify(file) {
  const seed = $('seed').value.trim();
  const options = { profile: $('profile').value, inputFormat: file.name.split('.').pop().toLowerCase(), hausdorff: true };
  if (!['stl', 'obj', 'ply'].includes(options.inputFormat)) options.inputFormat = 'auto';
  if (seed) options.seed = BigInt(seed);
  progressSeen.length = 0;
  options.onProgress = (fraction) => {
    progressSeen.push(fraction);
    $('progress').value = fraction;
    $('progress').dataset.history = JSON.stringify(progressSeen);
  };
  const result = $('deid-result');
  result.dataset.done = 'false';
  try {
    const { model, report: r } = await pool.deidentifyModel(new Uint8Array(await file.arrayBuffer()), options);
    const h = r.utility.hausdorff;
    show(result, `De-identified: ${r.triangles_in} → ${r.triangles_out} triangles, ` +
      `${r.metadata_removed.length} metadata channel(s) removed, face: ${r.deface.outcome}, ` +
      `surface moved ${h.p95.toFixed(2)} mm at the 95th percentile (${h.max.toFixed(2)} mm at most).`, true);
    result.dataset.report = JSON.stringify(r);
    if (download) URL.revokeObjectURL(download);
    download = URL.createObjectURL(new Blob([model], { type: 'model/stl' }));
    $('download').href = download;
    $('download').hidden = false;
    // The file's fingerprint, so the user (and the recipient) can check what was shared.
    const d = await crypto.subtle.digest('SHA-256', model);
    const hex = [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, '0')).join('');
    $('download').dataset.sha256 = hex;
    $('download').title = `SHA-256 ${hex}`;
  } catch (e) {
    const code = isVeilError(e) ? e.code : 'unexpected';
    show(result, `This file cannot be used (${code}): ${e.message}`, false);
    result.dataset.code = code;
  }
  result.dataset.done = 'true';
}

async function verify() {
  const out = $('reading-result');
  const file = (id) => $(id).files?.[0];
  try {
    if (!file('reading-input') || !file('chain-input') || !file('roots-input')) {
      show(out, 'Choose the reading, the device chain and the trusted roots.', false);
      return;
    }
    const cose = new Uint8Array(await file('reading-input').arrayBuffer());
    const chain = await file('chain-input').text();
    const roots = await file('roots-input').text();
    const options = {};
    if ($('nonce').value.trim()) options.nonce = $('nonce').value.trim();
    if ($('now').value.trim()) options.now = Number($('now').value.trim());
    const reading = await verifyReading(cose, chain, roots, options);
    const m = reading.measurement;
    const value = m.type === 'blood_pressure' ? `${m.systolic}/${m.diastolic} ${m.unit}` : m.type;
    show(out, `Verified: ${value} from ${reading.device.manufacturer} device ${reading.device.serial}.`, true);
    out.dataset.status = 'verified';
    out.dataset.reading = JSON.stringify(reading);
  } catch (e) {
    // A rejected reading carries the same stable code the CLI and the ingest server use.
    const code = isVeilError(e) ? e.code : 'unexpected';
    show(out, `Rejected (${code}): ${e.message}`, false);
    out.dataset.status = 'rejected';
    out.dataset.code = code;
  }
}

async function main() {
  await init();
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = e.dataTransfer?.files?.[0];
    if (file) deidentify(file);
  });
  $('model-input').addEventListener('change', (e) => { if (e.target.files[0]) deidentify(e.target.files[0]); });
  $('verify').addEventListener('click', verify);
  $('portal-status').textContent = `Ready (@veil/core ${version()}).`;
  $('portal-status').dataset.ready = 'true';
}

main().catch((e) => { $('portal-status').textContent = `The module failed to load: ${e}`; });
