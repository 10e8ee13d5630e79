//! `AppError`: the one error the app's pages and glue return, a stable code and a message.
//!
//! The crates' errors (`veil_mesh::MeshError`, `veil_trust::Rejection`, ...) convert into it with
//! their own `veil_core::Coded` code unchanged, so the app shows the same code as the CLI, the npm
//! package and the server (`docs/architecture.md`, "Error codes"). What only the browser can get
//! wrong (a missing API, IndexedDB, the mesh worker, Bluetooth) has the app's own codes, the
//! constants below; the architecture test reads them from this file, and each is listed in the
//! doc's table. Pages show an error as its code beside its message ([`crate::components::ErrorText`]).
//! Codes are matched on; messages are for people and may change.

use std::fmt;

use veil_core::Coded;
use wasm_bindgen::JsValue;

use crate::platform::bluetooth::BluetoothError;
use crate::platform::idb::IdbError;
use crate::platform::js_error_text;
use crate::platform::storage::StorageError;

/// A browser API failed or is missing: no `window`, WebCrypto, WebGL2, a Blob URL, reading a
/// chosen file.
pub const BROWSER: &str = "browser";
/// The browser's storage failed: IndexedDB (unavailable in private mode, a failed transaction,
/// stored data that no longer parses) or localStorage.
pub const STORAGE: &str = "storage";
/// The mesh worker could not be started or reached, crashed, or sent what the page cannot read.
pub const WORKER: &str = "worker";
/// A Bluetooth device could not be reached or read: the chooser, a GATT connection, read or
/// write, or a device that has nothing to read (no measurement service, no reading yet, removed).
pub const BLUETOOTH: &str = "bluetooth";
/// A failure the app's outbox (`outbox.rs`: sealing, queueing, delivery, its audit log) reported
/// as text: it does not return `AppError` yet, so its text comes through [`From<String>`].
pub const OUTBOX: &str = "outbox";

/// A failure with a stable kebab-case `code` (a crate's `Coded::code` or one of this module's
/// constants) and a `message` for people. `Display` is the message alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// The stable machine code.
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
}

impl AppError {
    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// A [`BROWSER`] error: a browser API failed or is missing.
    pub fn browser(message: impl Into<String>) -> Self {
        Self::new(BROWSER, message)
    }

    /// A [`BROWSER`] error from a JavaScript exception or rejection (`Name: message`).
    pub fn browser_js(value: &JsValue) -> Self {
        Self::browser(js_error_text(value))
    }

    /// A [`STORAGE`] error: IndexedDB or localStorage failed.
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(STORAGE, message)
    }

    /// A [`WORKER`] error: the mesh worker could not run or answered what cannot be read.
    pub fn worker(message: impl Into<String>) -> Self {
        Self::new(WORKER, message)
    }

    /// A [`BLUETOOTH`] error: a device could not be reached or read.
    pub fn bluetooth(message: impl Into<String>) -> Self {
        Self::new(BLUETOOTH, message)
    }

    /// The same error, its message prefixed with what was being done (`Could not connect: ...`).
    #[must_use]
    pub fn context(mut self, doing: &str) -> Self {
        self.message = format!("{doing}: {}", self.message);
        self
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

/// The crates' errors, each with its own code. One impl per type rather than a blanket
/// `impl<E: Coded>`: that would rule out the `From<String>` bridge below (`String` could become
/// `Coded` upstream).
macro_rules! from_coded {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for AppError {
            fn from(e: $error) -> Self {
                AppError::new(e.code(), e.to_string())
            }
        }
    )*};
}

from_coded!(
    veil_mesh::MeshError,
    veil_trust::Rejection,
    veil_trust::ProvisionError,
    veil_consent::ConsentError,
    veil_seal::SealError,
    veil_audit::AuditError,
    veil_core::pem::PemError,
);

impl From<BluetoothError> for AppError {
    fn from(e: BluetoothError) -> Self {
        AppError::bluetooth(e.message)
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        // Its `Display` says "storage: ..."; the code says that already.
        AppError::storage(e.0)
    }
}

impl From<IdbError> for AppError {
    fn from(e: IdbError) -> Self {
        AppError::storage(e.0)
    }
}

/// The bridge from the outbox, which still reports failures as text: an [`OUTBOX`] error with the
/// text as its message. Goes when the outbox returns coded errors.
impl From<String> for AppError {
    fn from(message: String) -> Self {
        AppError::new(OUTBOX, message)
    }
}

/// The bridge into the outbox's text errors: `code: message`, so the code still shows where the
/// outbox prints it.
impl From<AppError> for String {
    fn from(e: AppError) -> Self {
        format!("{}: {}", e.code, e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_errors_keep_their_code_and_message() {
        let e = AppError::from(veil_mesh::MeshError::BadOption("plane".into()));
        assert_eq!(e.code(), "bad-option");
        assert_eq!(e.to_string(), "bad option: plane");
        let e = AppError::from(veil_consent::ConsentError::NoJurisdiction);
        assert_eq!(e.code(), "no-jurisdiction");
    }

    #[test]
    fn app_codes_are_codes_and_context_keeps_the_code() {
        for code in [BROWSER, STORAGE, WORKER, BLUETOOTH, OUTBOX] {
            assert!(veil_core::is_code(code), "{code}");
        }
        let e = AppError::storage("quota").context("Could not save");
        assert_eq!(
            (e.code, e.message.as_str()),
            (STORAGE, "Could not save: quota")
        );
        assert_eq!(String::from(e), "storage: Could not save: quota");
        assert_eq!(AppError::from("no session".to_string()).code, OUTBOX);
    }
}
