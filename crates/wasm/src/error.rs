//! `VeilError`: the one error every function of `@veil/core` throws (or rejects with).
//!
//! It is a real JavaScript `Error` (stack trace, `instanceof Error`) whose `name` is `"VeilError"`
//! and whose `code` is the stable machine code of the core library's error enum, unchanged: the
//! same string the `veil` CLI prints (`{"status":"rejected","reason":CODE}` for readings,
//! `veil: CODE: message` for seals), the ingest server answers and the app shows as a badge.
//! Codes are matched on; messages are for people and may change.

use veil_core::Coded;
use wasm_bindgen::JsValue;

/// The code of a JavaScript argument that is not what the function accepts (wrong type, missing
/// field, unknown option value). Raised by this facade before any core library runs.
pub const BAD_ARGUMENT: &str = "bad-argument";

/// The code of `sealArtifact` refusing a model that is not the pipeline's de-identified output
/// (pass `raw: true` to seal it anyway), as `veil seal` without `--raw`.
pub const RAW_MODEL: &str = "raw-model";

/// The code of `sealArtifact` refusing a de-identification report that is not the shareable form.
pub const BAD_REPORT: &str = "bad-report";

/// An error on its way to JavaScript: a stable code, a message, and optional structured detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeilError {
    code: &'static str,
    message: String,
    /// For audit-chain breaks: the index of the first entry that does not verify.
    index: Option<usize>,
}

impl VeilError {
    /// An error with a code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        VeilError {
            code,
            message: message.into(),
            index: None,
        }
    }

    /// A [`BAD_ARGUMENT`] error.
    pub fn argument(message: impl Into<String>) -> Self {
        Self::new(BAD_ARGUMENT, message)
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The index of the first broken audit entry, if this is an audit-chain break.
    pub fn index(&self) -> Option<usize> {
        self.index
    }

    /// Attach the index of the first broken audit entry.
    pub(crate) fn at_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

impl std::fmt::Display for VeilError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for VeilError {}

impl From<VeilError> for JsValue {
    fn from(e: VeilError) -> JsValue {
        let err = js_sys::Error::new(&e.message);
        err.set_name("VeilError");
        // Reflect::set only fails on frozen or proxy targets; a fresh Error is neither.
        let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code.into());
        if let Some(i) = e.index {
            let _ = js_sys::Reflect::set(&err, &"index".into(), &JsValue::from_f64(i as f64));
        }
        err.into()
    }
}

macro_rules! from_core {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for VeilError {
            fn from(e: $ty) -> Self {
                VeilError::new(e.code(), e.to_string())
            }
        }
    )*};
}

from_core!(
    veil_mesh::MeshError,
    veil_trust::Rejection,
    veil_consent::ConsentError,
    veil_seal::SealError,
    veil_audit::AuditError,
);

impl From<veil_audit::BrokenLink> for VeilError {
    fn from(b: veil_audit::BrokenLink) -> Self {
        VeilError::new(b.code(), b.to_string()).at_index(b.index)
    }
}

impl From<serde_wasm_bindgen::Error> for VeilError {
    fn from(e: serde_wasm_bindgen::Error) -> Self {
        VeilError::argument(e.to_string())
    }
}
