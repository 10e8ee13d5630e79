//! A small promise-style layer over IndexedDB for string keys and values that are JSON strings or
//! `Uint8Array`s (or structured-cloneable objects such as `CryptoKey`s).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode};

/// An IndexedDB failure, as text for the person (IndexedDB gives no more structure than that).
#[derive(Debug, Clone)]
pub struct IdbError(pub String);

impl std::fmt::Display for IdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "browser storage: {}", self.0)
    }
}

fn err(value: JsValue) -> IdbError {
    IdbError(super::js_error_text(&value))
}

/// Wait for a request and return its result.
pub async fn wait(request: &IdbRequest) -> Result<JsValue, IdbError> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let req = request.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &req.result().unwrap_or(JsValue::UNDEFINED));
        });
        let req = request.clone();
        let fail = Closure::once_into_js(move || {
            let error = req
                .error()
                .ok()
                .flatten()
                .map(JsValue::from)
                .unwrap_or(JsValue::NULL);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        request.set_onsuccess(Some(ok.unchecked_ref()));
        request.set_onerror(Some(fail.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(err)
}

/// An open database connection, closed when dropped. It also closes itself when another context
/// wants to delete or upgrade the database (e.g. a kiosk session ending), which would otherwise wait
/// for it forever.
#[derive(Debug)]
pub struct Connection(IdbDatabase);

impl std::ops::Deref for Connection {
    type Target = IdbDatabase;
    fn deref(&self) -> &IdbDatabase {
        &self.0
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Open (creating when needed) database `name` with the object stores `stores`.
pub async fn open(
    name: &str,
    version: u32,
    stores: &'static [&'static str],
) -> Result<Connection, IdbError> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or_else(|| IdbError("IndexedDB is unavailable".into()))?;
    let request = factory.open_with_u32(name, version).map_err(err)?;
    let upgrade = Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(
        move |ev: web_sys::IdbVersionChangeEvent| {
            let Some(db) = ev
                .target()
                .and_then(|t| t.dyn_into::<IdbRequest>().ok())
                .and_then(|r| r.result().ok())
                .and_then(|r| r.dyn_into::<IdbDatabase>().ok())
            else {
                return;
            };
            let existing = db.object_store_names();
            for store in stores {
                if !existing.contains(store) {
                    let _ = db.create_object_store(store);
                }
            }
        },
    );
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = wait(&request).await;
    drop(upgrade);
    let db = db?
        .dyn_into::<IdbDatabase>()
        .map_err(|_| IdbError("not a database".into()))?;
    let closer = Closure::<dyn FnMut()>::new({
        let db = db.clone();
        move || db.close()
    });
    db.set_onversionchange(Some(closer.as_ref().unchecked_ref()));
    closer.forget();
    Ok(Connection(db))
}

fn store(
    db: &IdbDatabase,
    name: &str,
    mode: IdbTransactionMode,
) -> Result<web_sys::IdbObjectStore, IdbError> {
    db.transaction_with_str_and_mode(name, mode)
        .and_then(|t| t.object_store(name))
        .map_err(err)
}

/// Put `value` under `key`.
pub async fn put(db: &IdbDatabase, name: &str, key: &str, value: &JsValue) -> Result<(), IdbError> {
    let request = store(db, name, IdbTransactionMode::Readwrite)?
        .put_with_key(value, &JsValue::from_str(key))
        .map_err(err)?;
    wait(&request).await.map(|_| ())
}

/// The value under `key`, if any.
pub async fn get(db: &IdbDatabase, name: &str, key: &str) -> Result<Option<JsValue>, IdbError> {
    let request = store(db, name, IdbTransactionMode::Readonly)?
        .get(&JsValue::from_str(key))
        .map_err(err)?;
    let value = wait(&request).await?;
    Ok((!value.is_undefined()).then_some(value))
}

/// Every value in the store, in key order.
pub async fn all(db: &IdbDatabase, name: &str) -> Result<Vec<JsValue>, IdbError> {
    let request = store(db, name, IdbTransactionMode::Readonly)?
        .get_all()
        .map_err(err)?;
    Ok(js_sys::Array::from(&wait(&request).await?).to_vec())
}

/// Delete `key`.
pub async fn delete(db: &IdbDatabase, name: &str, key: &str) -> Result<(), IdbError> {
    let request = store(db, name, IdbTransactionMode::Readwrite)?
        .delete(&JsValue::from_str(key))
        .map_err(err)?;
    wait(&request).await.map(|_| ())
}

/// What [`update`] found and wrote: the value before, and the value written if any.
pub type Updated = (Option<JsValue>, Option<JsValue>);

/// Read `key`, let `change` decide the new value (`None`: leave it), and write it, in one
/// readwrite transaction: no other write to the store comes between the read and the write (the
/// write is issued from the read's success event, while the transaction is active).
pub async fn update(
    db: &IdbDatabase,
    name: &str,
    key: &str,
    change: impl FnOnce(Option<JsValue>) -> Option<JsValue> + 'static,
) -> Result<Updated, IdbError> {
    let transaction = db
        .transaction_with_str_and_mode(name, IdbTransactionMode::Readwrite)
        .map_err(err)?;
    let store = transaction.object_store(name).map_err(err)?;
    let key = JsValue::from_str(key);
    let read = store.get(&key).map_err(err)?;
    let outcome: Rc<RefCell<Option<Result<Updated, IdbError>>>> = Rc::default();
    let on_read = {
        let read = read.clone();
        let outcome = outcome.clone();
        let transaction = transaction.clone();
        Closure::once_into_js(move || {
            let before = read.result().ok().filter(|v| !v.is_undefined());
            let after = change(before.clone());
            let written = match &after {
                Some(value) => store.put_with_key(value, &key).map(|_| ()),
                None => Ok(()),
            };
            let failed = written.is_err();
            *outcome.borrow_mut() = Some(written.map(|()| (before, after)).map_err(err));
            if failed {
                let _ = transaction.abort();
            }
        })
    };
    read.set_onsuccess(Some(on_read.unchecked_ref()));
    let commit = committed(&transaction).await;
    let outcome = outcome.borrow_mut().take();
    match (commit, outcome) {
        (_, Some(Err(e))) | (Err(e), _) => Err(e),
        (Ok(()), Some(Ok(updated))) => Ok(updated),
        (Ok(()), None) => Err(IdbError("the update did not run".into())),
    }
}

/// Wait until `transaction` commits (an error or an abort rejects).
async fn committed(transaction: &IdbTransaction) -> Result<(), IdbError> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let done = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let failed = transaction.clone();
        let abort = Closure::once_into_js(move || {
            let error = failed.error().map(JsValue::from).unwrap_or(JsValue::NULL);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        transaction.set_oncomplete(Some(done.unchecked_ref()));
        transaction.set_onabort(Some(abort.unchecked_ref()));
    });
    JsFuture::from(promise).await.map(|_| ()).map_err(err)
}
