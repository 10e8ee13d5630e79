// Reading everything a page keeps in browser storage, to prove what is (not) left behind.

/** Dump localStorage, sessionStorage, every IndexedDB record and every non-shell cache as one string. */
export async function dumpStorage(page) {
  return page.evaluate(async () => {
    const out = { local: {}, session: {}, idb: {}, caches: {} };
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      out.local[k] = localStorage.getItem(k);
    }
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i);
      out.session[k] = sessionStorage.getItem(k);
    }
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      out.idb[name] = {};
      for (const store of db.objectStoreNames) {
        out.idb[name][store] = await new Promise((resolve, reject) => {
          const req = db.transaction(store).objectStore(store).getAll();
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      }
      db.close();
    }
    for (const name of await caches.keys()) {
      if (name.startsWith('veil-shell-')) continue;
      const cache = await caches.open(name);
      out.caches[name] = {};
      for (const req of await cache.keys()) out.caches[name][req.url] = await (await cache.match(req)).text();
    }
    const replacer = (_k, v) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) ? Array.from(new Uint8Array(v.buffer ?? v)) : v;
    return JSON.stringify(out, replacer);
  });
}
