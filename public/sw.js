// Veil's service worker: precache the app shell of exactly one build, serve it cache-first, so the app
// loads and runs with the network off after one online visit.
//
// The precache list is not written by hand: `cargo xtask` replaces the VEIL_BUILD and VEIL_PRECACHE
// lines below with the files of the staged build and their SHA-256 (Subresource Integrity), so a new
// build is a new service worker script (the browser notices the byte change) with a new cache, installed
// atomically (any file failing its hash fails the whole install) and activated when the person reloads.
'use strict';

const VEIL_BUILD = 'dev'; // replaced at build time
const VEIL_PRECACHE = []; // replaced at build time: [{ url, integrity }]

const CACHE = `veil-shell-${VEIL_BUILD}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await Promise.all(VEIL_PRECACHE.map(async ({ url, integrity }) => {
      const response = await fetch(new Request(url, { cache: 'reload', integrity }));
      if (!response.ok) throw new Error(`precache ${url}: HTTP ${response.status}`);
      await cache.put(url, response);
    }));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith('veil-shell-') && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
  // A page that loaded while this worker activated was passed over by the claim in `activate`; it
  // asks once it runs, naming its scripts. Their names are content-hashed: this worker claims only
  // when it precached every one of them, so it never takes over a page of another build. A worker
  // that is not yet active cannot claim (the promise rejects, and nothing changes).
  if (event.data?.kind === 'claim' && Array.isArray(event.data.scripts) && event.data.scripts.length) {
    const href = (s) => { try { return new URL(s, self.location).href; } catch { return null; } };
    const ours = new Set(VEIL_PRECACHE.map(({ url }) => href(url)));
    const all = event.data.scripts.every((s) => typeof s === 'string' && ours.has(href(s)));
    if (all) event.waitUntil(self.clients.claim().catch(() => {}));
  }
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // The ingest API is never cached: uploads and keys must be live. The recipient users' page
  // (`/recipient/`, served by the ingest server itself) is not the app: never its shell.
  if (url.pathname.startsWith('/v1/') || url.pathname === '/recipient' || url.pathname.startsWith('/recipient/')) return;

  if (request.mode === 'navigate') {
    // Every route of the single-page app is the same shell.
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const shell = await cache.match('/index.html');
      if (shell) return shell;
      return fetch(request);
    })());
    return;
  }

  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(url.pathname);
    if (hit) return hit;
    return fetch(request);
  })());
});

// Background Sync (where the browser has it): when the connection returns, an open page is asked to
// flush its outbox; with no page open, the worker uploads the sealed envelopes itself. Either way
// each upload carries its artifact id as the Idempotency-Key, so it is stored exactly once.
// The outbox's rules live in `crates/outbox` (veil-outbox); this is the one copy outside it, kept to
// the same retry rule (2xx delivered, 401 `unknown-client` parked until the page enrols the device,
// other 4xx than 408/429 final, anything else retried) and
// the same stored shape. Revocations and erasures wait for the page: they are signed with the
// client key, which only the page uses. Like the page's outbox, it never sends an item whose consent
// has expired (`consent_until_ms`, written when it was sealed): it cancels one never tried, and
// leaves one tried before to the page, which cancels it and revokes what may have left.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'veil-outbox') return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window' });
    if (windows.length > 0) {
      for (const client of windows) client.postMessage('veil-outbox-flush');
      return;
    }
    await uploadOutbox();
  })());
});

function idbRequest(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// The words veil_outbox::CONSENT_EXPIRED gives.
const CONSENT_EXPIRED = 'the consent it was sealed under expired before it left';

async function uploadOutbox() {
  const names = (await indexedDB.databases()).map((d) => d.name);
  if (!names.includes('veil-patient-outbox')) return;
  const db = await idbRequest(indexedDB.open('veil-patient-outbox'));
  try {
    const items = await idbRequest(db.transaction('items').objectStore('items').getAll());
    for (const json of items) {
      const item = JSON.parse(json);
      if (item.state.state !== 'queued' && item.state.state !== 'uploading') continue;
      if (typeof item.consent_until_ms === 'number' && Date.now() >= item.consent_until_ms) {
        // Never tried: nothing of it left, so it is cancelled here. One tried before may be at the
        // server: the page's outbox cancels it and revokes it "if stored" (signed, which only the
        // page can), so it waits for the page, unsent.
        if (item.state.state === 'queued' && item.attempts === 0) {
          item.state = { state: 'cancelled', reason: CONSENT_EXPIRED };
          await idbRequest(db.transaction('items', 'readwrite').objectStore('items').put(JSON.stringify(item), item.id));
          await idbRequest(db.transaction('envelopes', 'readwrite').objectStore('envelopes').delete(item.id));
        }
        continue;
      }
      const envelope = await idbRequest(db.transaction('envelopes').objectStore('envelopes').get(item.id));
      if (!envelope) continue;
      const response = await fetch('/v1/artifacts', {
        method: 'POST',
        headers: { 'Idempotency-Key': item.id, 'Content-Type': 'application/cbor' },
        body: envelope,
      });
      item.attempts += 1;
      const refused = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
      const body = refused ? await response.json().catch(() => ({})) : {};
      const reason = `${body.error ?? response.status}: ${body.detail ?? ''}`;
      if (response.ok) {
        item.state = { state: 'delivered', at_ms: Date.now() };
      } else if (response.status === 401 && body.error === 'unknown-client') {
        // This device is not connected to a clinic yet: the page sends it again once it is.
        item.state = { state: 'awaiting-enrolment', reason };
      } else if (refused) {
        item.state = { state: 'failed', reason };
      } else {
        throw new Error(`upload of ${item.id} answered ${response.status}: retry on the next sync`);
      }
      await idbRequest(db.transaction('items', 'readwrite').objectStore('items').put(JSON.stringify(item), item.id));
      // A delivered envelope has no further use here (as in the page's outbox).
      if (response.ok) await idbRequest(db.transaction('envelopes', 'readwrite').objectStore('envelopes').delete(item.id));
    }
  } finally {
    db.close();
  }
}
