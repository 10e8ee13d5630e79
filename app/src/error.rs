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
/// Sealing needs the person's session first: who they are and their consent choices (Consent page).
pub const NO_SESSION: &str = "no-session";
/// The recipient's public key has never been fetched: connect once so it can be kept for offline use.
pub const RECIPIENT_UNKNOWN: &str = "recipient-unknown";
/// There is nothing to seal (no verified readings).
pub const NOTHING_TO_SEAL: &str = "nothing-to-seal";
/// A model that is not the de-identification pipeline's output cannot be sealed (as `veil seal`
/// and npm's `sealArtifact` refuse it).
pub const RAW_MODEL: &str = "raw-model";
/// A message to the server (revocation, erasure) is queued and waits for the connection: done here,
/// the server is told when back online.
pub const WAITING: &str = "waiting";
/// The server answered a revocation or erasure with a final refusal (its reason follows).
pub const NOT_DELIVERED: &str = "not-delivered";
/// There is no identity layer (pseudonym secret) to erase: never created, or already erased.
pub const NO_IDENTITY: &str = "no-identity";

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
    veil_audit::BrokenLink,
    veil_outbox::OutboxError,
    veil_outbox::enrolment::EnrolmentError,
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

/// JSON the app stores or reads back (IndexedDB records, reports) that does not serialize or parse.
impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::storage(format!("stored data: {e}"))
    }
}

impl From<veil_outbox::StoreError> for AppError {
    fn from(e: veil_outbox::StoreError) -> Self {
        AppError::storage(e.0)
    }
}

impl From<IdbError> for AppError {
    fn from(e: IdbError) -> Self {
        AppError::storage(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn crate_errors_keep_their_code_and_message() {
        let e = AppError::from(veil_mesh::MeshError::BadOption("plane".into()));
        assert_eq!(e.code(), "bad-option");
        assert_eq!(e.to_string(), "bad option: plane");
        let e = AppError::from(veil_consent::ConsentError::NoJurisdiction);
        assert_eq!(e.code(), "no-jurisdiction");
    }

    #[wasm_bindgen_test]
    fn app_codes_are_codes_and_context_keeps_the_code() {
        for code in [
            BROWSER,
            STORAGE,
            WORKER,
            BLUETOOTH,
            NO_SESSION,
            RECIPIENT_UNKNOWN,
            NOTHING_TO_SEAL,
            RAW_MODEL,
            WAITING,
            NOT_DELIVERED,
            NO_IDENTITY,
        ] {
            assert!(veil_core::is_code(code), "{code}");
        }
        let e = AppError::storage("quota").context("Could not save");
        assert_eq!(
            (e.code, e.message.as_str()),
            (STORAGE, "Could not save: quota")
        );
    }
}
