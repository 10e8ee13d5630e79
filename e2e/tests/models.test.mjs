// The Models page: a model is de-identified in a Web Worker inside the browser. Identifying text
// planted in the file (STL header, facet colours, OBJ comments and names) is reported by channel
// and absent from the download, which parses as binary STL; progress moves, cancel stops a run, the
// page thread stays responsive, and no request at all leaves the page while a model is processed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, openPage } from '../lib/browser.mjs';
import { VeilApp } from '../lib/app.mjs';

// What a segmentation export might carry about the patient. None of it may reach the output.
const PLANTED = ['Jane-Q-Planted', 'MRN-4471-PLANTED', '1962-03-04', 'St-Elsewhere-Radiology'];

// ---- Models generated here (no fixture files): a UV sphere in scanner coordinates. ----

/**
 * A closed UV sphere of `radius` around `centre` (scanner coordinates): `2 * lon * (lat - 1)`
 * triangles, outward-facing, generated one at a time so a million of them cost no memory.
 */
function sphere({ lon, lat, radius = 40, centre = [112.5, -48.25, 1210.0] }) {
  const point = (i, j) => {
    const theta = (Math.PI * j) / lat;
    const phi = (2 * Math.PI * (i % lon)) / lon;
    return [
      centre[0] + radius * Math.sin(theta) * Math.cos(phi),
      centre[1] + radius * Math.sin(theta) * Math.sin(phi),
      centre[2] + radius * Math.cos(theta),
    ];
  };
  const north = [centre[0], centre[1], centre[2] + radius];
  const south = [centre[0], centre[1], centre[2] - radius];
  return {
    count: 2 * lon * (lat - 1),
    *[Symbol.iterator]() {
      for (let i = 0; i < lon; i++) {
        yield [north, point(i, 1), point(i + 1, 1)];
        for (let j = 1; j < lat - 1; j++) {
          const [a, b, c, d] = [point(i, j), point(i + 1, j), point(i, j + 1), point(i + 1, j + 1)];
          yield [a, c, b];
          yield [b, c, d];
        }
        yield [south, point(i + 1, lat - 1), point(i, lat - 1)];
      }
    },
  };
}

/** Binary STL with `header` text in its 80-byte header and a VisCAM colour on every facet. */
function binaryStl(tris, header) {
  const buf = Buffer.alloc(84 + 50 * tris.count);
  buf.write(header.slice(0, 80), 0, 'latin1');
  buf.writeUInt32LE(tris.count, 80);
  let k = 0;
  for (const t of tris) {
    const o = 84 + 50 * k++;
    t.flat().forEach((v, m) => buf.writeFloatLE(v, o + 12 + 4 * m));
    buf.writeUInt16LE(0x8000 | (31 << 10) | 7, o + 48); // "valid" bit + a colour
  }
  assert.equal(k, tris.count);
  return buf;
}

/** OBJ text with identifying comments, object and group names and a material library. */
function obj(tris) {
  const lines = [
    `# Exported for ${PLANTED[0]} (${PLANTED[1]}), born ${PLANTED[2]}`,
    `# Site: ${PLANTED[3]}`,
    `mtllib ${PLANTED[0]}.mtl`,
    `o ${PLANTED[0]}_skull`,
    `g ${PLANTED[1]}`,
  ];
  const index = new Map();
  const faces = [];
  for (const t of tris) {
    faces.push(t.map((p) => {
      const key = p.join(' ');
      if (!index.has(key)) {
        index.set(key, index.size + 1);
        lines.push(`v ${key}`);
      }
      return index.get(key);
    }));
  }
  for (const f of faces) lines.push(`f ${f.join(' ')}`);
  return lines.join('\n') + '\n';
}

function assertNoPlanted(bytes, what) {
  const text = Buffer.from(bytes).toString('latin1').toLowerCase();
  for (const s of PLANTED) assert.ok(!text.includes(s.toLowerCase()), `${what} still contains ${s}`);
}

/** Parse a binary STL strictly: size 84 + 50 n, finite coordinates. Returns n. */
function parseBinaryStl(bytes, what) {
  assert.ok(bytes.length >= 84, `${what}: shorter than an STL header`);
  const n = bytes.readUInt32LE(80);
  assert.equal(bytes.length, 84 + 50 * n, `${what}: size is 84 + 50 * ${n}`);
  for (let k = 0; k < n; k++) {
    for (let m = 0; m < 12; m++) {
      assert.ok(Number.isFinite(bytes.readFloatLE(84 + 50 * k + 4 * m)), `${what}: facet ${k} is finite`);
    }
    assert.equal(bytes.readUInt16LE(84 + 50 * k + 48), 0, `${what}: facet ${k} attribute bytes are zero`);
  }
  return n;
}

// ---- Browser session with downloads captured into a temporary folder. ----

let session;
let files;
let downloads;
before(async () => {
  session = await launch();
  files = mkdtempSync(join(tmpdir(), 'veil-models-'));
  downloads = mkdtempSync(join(tmpdir(), 'veil-models-dl-'));
  const cdp = await session.browser.target().createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
});
after(async () => {
  await session?.close();
  for (const dir of [files, downloads]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function takeDownload(name, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (readdirSync(downloads).includes(name)) {
      const bytes = readFileSync(join(downloads, name));
      rmSync(join(downloads, name));
      return bytes;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no download ${name} (have: ${readdirSync(downloads)})`);
}

/** The Models page with its worker loaded (so processing itself fetches nothing). */
async function openModels() {
  const opened = await openPage(session.browser);
  const app = new VeilApp(opened.page);
  await app.open('/models');
  await waitForWorker(opened.page);
  // The app's own start-up traffic (the shell, the worker's scripts, the outbox's key refresh)
  // settles first; from then on, processing a model must not send anything.
  await opened.page.waitForNetworkIdle({ idleTime: 500, timeout: 30000 });
  return opened;
}

async function waitForWorker(page) {
  await page.waitForSelector('[data-testid="page-models"][data-worker="ready"]', { timeout: 30000 });
}

/**
 * Record every value the progress bar shows, and the longest pause of the page thread while a
 * model is processing (a timer that should tick every 20 ms).
 */
async function watchProgress(page) {
  await page.evaluate(() => {
    const seen = [];
    let last = null;
    const note = () => {
      const bar = document.querySelector('[data-testid="model-progress"]');
      const v = bar?.getAttribute('value');
      if (v != null && v !== last) { seen.push(Number(v)); last = v; }
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['value'] });
    const processing = () => document.querySelector('[data-testid="model-status"]')?.dataset.phase === 'processing';
    let tick = performance.now();
    let wasProcessing = false;
    let longest = 0;
    setInterval(() => {
      const now = performance.now();
      const is = processing();
      if (is && wasProcessing) longest = Math.max(longest, now - tick);
      tick = now;
      wasProcessing = is;
    }, 20);
    window.__veilWatch = { seen, longest: () => longest };
  });
}

async function choose(page, path) {
  const input = await page.$('[data-testid="model-file"]');
  await input.uploadFile(path);
}

async function tableText(page, testid) {
  return page.$eval(`[data-testid="${testid}"]`, (el) => el.textContent);
}

async function channels(page) {
  return page.$$eval('[data-testid="metadata-row"]', (rows) => rows.map((r) => r.dataset.channel));
}

test('a binary STL is de-identified in the browser: report, preview, clean download, no request sent', { timeout: 240000 }, async () => {
  const tris = sphere({ lon: 300, lat: 200 }); // 119,400 triangles, ~6 MB
  const path = join(files, 'Jane-Q-Planted head.stl');
  writeFileSync(path, binaryStl(tris, `${PLANTED[0]} ${PLANTED[1]} DOB ${PLANTED[2]} SPACE=LPS`));
  const { page, errors, requests } = await openModels();
  await watchProgress(page);

  const sentBefore = requests.length;
  await choose(page, path);
  await page.waitForSelector('[data-testid="model-report"]', { timeout: 180000 });
  // Nothing at all was requested while the model was read, processed and shown.
  assert.deepEqual(requests.slice(sentBefore), []);

  const seen = await page.evaluate(() => window.__veilWatch.seen);
  const inside = seen.filter((v) => v > 0 && v < 1);
  assert.ok(new Set(inside).size >= 3, `the progress bar moved: ${seen}`);
  assert.ok(seen.every((v, i) => i === 0 || v >= seen[i - 1]), `progress never goes back: ${seen}`);
  const longest = await page.evaluate(() => window.__veilWatch.longest());
  assert.ok(longest < 1000, `the page thread never paused long while processing (${longest.toFixed(0)} ms)`);

  // The report names every channel that carried the planted text, never the text itself.
  const found = await channels(page);
  for (const c of ['stl-header-text', 'stl-header-space', 'stl-facet-colour-viscam']) {
    assert.ok(found.includes(c), `${c} reported (got ${found})`);
  }
  const html = await page.content();
  for (const s of PLANTED) assert.ok(!html.includes(s), `the page does not show ${s}`);
  const steps = await page.$$eval('[data-testid="report-steps"] tr[data-step]', (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.step, r.dataset.applied])));
  assert.deepEqual(Object.keys(steps), ['scrub', 'reframe', 'deface', 'mask', 'shuffle', 'quantise']);
  assert.equal(steps.scrub, 'true');
  assert.equal(steps.mask, 'true');
  // A sphere is not a head: strict's automatic deface leaves it untouched and says so.
  assert.equal(await page.$eval('[data-testid="report-deface"]', (t) => t.dataset.outcome), 'not-a-head');
  const flags = await page.$$eval('[data-testid="report-flags"] li', (li) => li.map((l) => l.dataset.code));
  assert.ok(flags.includes('not-a-head'), `flags: ${flags}`);
  const utility = await tableText(page, 'report-utility');
  assert.match(utility, /Hausdorff max\d+\.\d{3} mm/);
  assert.match(utility, /Watertightyes → yes/);
  const summary = await tableText(page, 'report-summary');
  assert.match(summary, /Triangles119400 → 119400/);
  assert.match(summary, /Input formatstl-binary/);

  // The preview: both views drawn, turned by dragging, zoomed by the wheel and by the keyboard.
  const view = (id) => page.$eval(`[data-testid="${id}"]`, (c) => ({ ...c.dataset }));
  const afterView = await view('preview-after');
  assert.ok(Number(afterView.shownTriangles) > 0 && Number(afterView.draws) > 0, JSON.stringify(afterView));
  assert.ok(Number((await view('preview-before')).shownTriangles) > 0);
  // Multisampled edges on a GPU; none where WebGL is drawn in software (this suite's headless
  // Chromium runs SwiftShader), where multisampling costs more than the triangles.
  const renderer = await page.evaluate(() => {
    const gl = document.createElement('canvas').getContext('webgl2');
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return name;
  });
  const software = /swiftshader|llvmpipe|softpipe|software|basic render driver/i.test(renderer);
  assert.equal(afterView.antialias, String(!software), renderer);
  // And a lighter preview there (100,000 triangles a view at most); a GPU draws all of them.
  const shown = Number(afterView.shownTriangles);
  if (software) assert.ok(shown <= 100000 && shown >= 50000, `${shown} of 119400 shown in software`);
  else assert.equal(shown, 119400);
  assert.match(await tableText(page, 'preview-deviation'), /^0 to \d+\.\d{3} mm/);
  await page.$eval('[data-testid="preview-after"]', (c) => c.scrollIntoView({ block: 'center' }));
  const box = await (await page.$('[data-testid="preview-after"]')).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 30, { steps: 5 });
  await page.mouse.up();
  const turned = await view('preview-before');
  assert.notEqual(turned.yaw, afterView.yaw, 'dragging one view turns both');
  await page.mouse.wheel({ deltaY: -300 });
  assert.ok(Number((await view('preview-after')).zoom) < Number(afterView.zoom), 'the wheel zooms in');
  await page.focus('[data-testid="preview-after"]');
  await page.keyboard.press('ArrowLeft');
  assert.notEqual((await view('preview-after')).yaw, turned.yaw, 'arrow keys turn the view');
  await page.keyboard.press('0');
  assert.equal((await view('preview-after')).yaw, afterView.yaw, '0 resets the view');

  // Sending needs a confirmed consent session first; nothing is sealed or sent without one.
  await page.click('[data-testid="model-add-outbox"]');
  await page.waitForSelector('[data-testid="model-outbox-status"]');
  assert.match(await page.$eval('[data-testid="model-outbox-status"]', (el) => el.textContent), /Consent page/);

  // The download: binary STL, neutral header, zero attribute bytes, none of the planted text.
  const name = await page.$eval('[data-testid="model-download"]', (b) => b.dataset.fileName);
  // The input's file name carries the patient's name: the download's must not.
  assert.equal(name, 'deidentified-model.stl');
  await page.click('[data-testid="model-download"]');
  const out = await takeDownload(name);
  assert.equal(parseBinaryStl(out, 'download'), 119400);
  assert.ok(out.subarray(0, 80).toString('latin1').startsWith('Veil'), 'neutral header');
  assertNoPlanted(out, 'the download');
  // Pressed again, the same file (made once for the run, not copied again).
  await page.click('[data-testid="model-download"]');
  assert.ok((await takeDownload(name)).equals(out), 'a second download gives the same bytes');
  assert.equal(await page.$('[data-testid="model-download-failed"]'), null);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an OBJ cut along a given plane: names and comments reported, removed region shown', { timeout: 240000 }, async () => {
  const tris = sphere({ lon: 60, lat: 40 });
  const path = join(files, 'scan.obj');
  writeFileSync(path, obj(tris));
  const { page, errors, requests } = await openModels();
  // Remove everything above the sphere's equator (input coordinates, as the person would see them).
  await page.select('[data-testid="option-deface"]', 'plane');
  await page.waitForSelector('[data-testid="option-plane"]');
  await page.type('[data-testid="option-plane"]', '112.5,-48.25,1215,0,0,1');
  await page.select('[data-testid="option-profile"]', 'print');
  await page.type('[data-testid="option-seed"]', '42');

  const sentBefore = requests.length;
  await choose(page, path);
  await page.waitForSelector('[data-testid="model-report"]', { timeout: 180000 });
  assert.deepEqual(requests.slice(sentBefore), []);

  const found = await channels(page);
  for (const c of ['obj-comment', 'obj-object-name', 'obj-group-name', 'obj-mtllib']) {
    assert.ok(found.includes(c), `${c} reported (got ${found})`);
  }
  assert.equal(await page.$eval('[data-testid="report-deface"]', (t) => t.dataset.outcome), 'defaced');
  const removed = await tableText(page, 'preview-removed');
  assert.ok(Number.parseInt(removed, 10) > 0, `removed region highlighted: ${removed}`);
  const summary = await tableText(page, 'report-summary');
  assert.match(summary, /Profileprint/);
  assert.match(summary, /Reproducible \(seeded\)yes/);
  const steps = await page.$$eval('[data-testid="report-steps"] tr[data-step]', (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.step, r.dataset.applied])));
  assert.equal(steps.deface, 'true');
  assert.equal(steps.mask, 'false', 'print keeps the surface exact');

  await page.click('[data-testid="model-download"]');
  const out = await takeDownload('deidentified-model.stl');
  const n = parseBinaryStl(out, 'download');
  assert.ok(n > 0 && n < tris.count, `a cut model (${n} triangles)`);
  assertNoPlanted(out, 'the download');
  // The CLI on the same file and options: the same bytes, and the same report figures, although
  // the page measured half of them in a second worker.
  const veil = process.env.VEIL_BIN;
  assert.ok(veil, 'VEIL_BIN names the CLI (set by cargo xtask test)');
  const [cliOut, cliReport] = [join(files, 'cli.stl'), join(files, 'cli.json')];
  execFileSync(veil, ['deid', path, '-o', cliOut, '--profile', 'print', '--deface', 'plane:112.5,-48.25,1215,0,0,1', '--seed', '42', '--report', cliReport]);
  assert.ok(readFileSync(cliOut).equals(out), "the page's download is the CLI's output, byte for byte");
  const h = JSON.parse(readFileSync(cliReport, 'utf8')).utility.hausdorff;
  const utility = await tableText(page, 'report-utility');
  assert.ok(h.samples > 0 && utility.includes(`Points measured${h.samples}`), `${h.samples} points: ${utility}`);
  for (const [row, v] of [['Hausdorff max', h.max], ['Hausdorff mean', h.mean], ['Hausdorff 95th percentile', h.p95]]) {
    assert.ok(utility.includes(`${row}${v.toFixed(3)} mm`), `${row} ${v}: ${utility}`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('cancel stops a long run at once, keeps nothing, and the page processes the next model', { timeout: 240000 }, async () => {
  const big = join(files, 'big.stl');
  writeFileSync(big, binaryStl(sphere({ lon: 1000, lat: 500 }), 'big')); // 999,000 triangles
  const small = join(files, 'small.stl');
  writeFileSync(small, binaryStl(sphere({ lon: 40, lat: 20 }), PLANTED[0]));
  const { page, errors } = await openModels();
  await watchProgress(page);
  await choose(page, big);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="model-progress"]')?.getAttribute('value')) > 0.02, { timeout: 120000 });
  await page.click('[data-testid="model-cancel"]');
  await page.waitForSelector('[data-testid="model-status"][data-phase="cancelled"]', { timeout: 2000 });
  assert.equal(await page.$('[data-testid="model-progress"]'), null, 'the progress bar is gone');
  assert.equal(await page.$('[data-testid="model-report"]'), null, 'no result is shown');
  // A terminated worker says nothing more: the page stays cancelled.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await page.$eval('[data-testid="model-status"]', (s) => s.dataset.phase), 'cancelled');

  await waitForWorker(page);
  await choose(page, small);
  await page.waitForSelector('[data-testid="model-report"]', { timeout: 120000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a damaged file is refused with its error code, not a crash', { timeout: 120000 }, async () => {
  const good = binaryStl(sphere({ lon: 20, lat: 10 }), 'x');
  const path = join(files, 'damaged.stl');
  writeFileSync(path, good.subarray(0, good.length - 17)); // the count disagrees with the size
  const { page, errors } = await openModels();
  await choose(page, path);
  await page.waitForSelector('[data-testid="model-error"]', { timeout: 60000 });
  const code = await page.$eval('[data-testid="model-error"]', (e) => e.dataset.code);
  assert.ok(['count-mismatch', 'truncated-file'].includes(code), code);
  // The worker survives a refused file.
  assert.equal(await page.$eval('[data-testid="page-models"]', (p) => p.dataset.worker), 'ready');
  assert.deepEqual(errors, []);
  await page.close();
});
