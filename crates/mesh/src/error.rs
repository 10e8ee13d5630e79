//! The one error type of this crate: every way a model or an option can be refused.
//!
//! Each variant carries a stable machine code ([`MeshError::code`]) that the CLI, the npm module
//! and the Models page show unchanged, so a user's bug report names the exact problem. Messages
//! about a file name a position (line, header line, element, facet, face) and a kind, never text
//! or numbers read from it: error messages travel (bug reports, logs, a portal's telemetry).

/// Why a model could not be read or de-identified.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MeshError {
    /// The file ends before a structure it declares (header, facet, element) is complete.
    #[error("truncated file: {what}")]
    Truncated {
        /// What was being read when the bytes ran out.
        what: String,
    },
    /// A binary STL whose triangle count disagrees with its size (84 + 50·n bytes).
    #[error("binary STL: its triangle count disagrees with its size, which holds {actual} facets")]
    CountMismatch {
        /// Whole 50-byte facets the file holds after its 84-byte header (the count it declares
        /// is not kept: errors never echo values read from a file).
        actual: u64,
    },
    /// The bytes are none of binary STL, ASCII STL, OBJ or PLY.
    #[error("unrecognised format: {0}")]
    UnknownFormat(String),
    /// A PLY header that cannot be understood.
    #[error("bad PLY header: {0}")]
    BadHeader(String),
    /// A format variant this crate does not read (e.g. a PLY without a face element).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Text that does not follow the format's grammar.
    #[error("parse error at line {line}: {message}")]
    Parse {
        /// 1-based line number (0 for binary data).
        line: usize,
        /// What was expected.
        message: String,
    },
    /// A coordinate that is NaN or infinite.
    #[error("non-finite coordinate (NaN or infinity) in {what}")]
    NonFinite {
        /// Where it was found (e.g. `facet 12`, `vertex 7`).
        what: String,
    },
    /// A face refers to a vertex that does not exist.
    #[error("face {face} refers to a vertex outside the model's {vertices} vertices")]
    IndexOutOfRange {
        /// Which face (1-based, in file order; for OBJ, of the triangles its polygons became): a
        /// position, not the index it holds.
        face: u64,
        /// Vertices defined.
        vertices: u64,
    },
    /// No usable triangle (none at all, or all degenerate).
    #[error("empty mesh: {0}")]
    Empty(String),
    /// A declared or produced count over the configured limit (checked before allocating).
    #[error("{what} count exceeds the limit of {limit}")]
    TooLarge {
        /// What was counted.
        what: String,
        /// The limit in force ([`crate::Limits`]); the count itself may be a value read from the
        /// file, so it is not kept.
        limit: u64,
    },
    /// An option value that cannot be used (e.g. a plane with a zero normal).
    #[error("bad option: {0}")]
    BadOption(String),
    /// The operating system (or the browser's `crypto.getRandomValues`) gave no randomness.
    #[error("no randomness available: {0}")]
    Entropy(String),
    /// The caller's cancellation check returned true.
    #[error("cancelled")]
    Cancelled,
}

impl veil_core::Coded for MeshError {
    /// The stable machine code of this error (kebab-case; never changes between releases).
    fn code(&self) -> &'static str {
        match self {
            MeshError::Truncated { .. } => "truncated-file",
            MeshError::CountMismatch { .. } => "count-mismatch",
            MeshError::UnknownFormat(_) => "unknown-format",
            MeshError::BadHeader(_) => "bad-header",
            MeshError::Unsupported(_) => "unsupported-format",
            MeshError::Parse { .. } => "parse-error",
            MeshError::NonFinite { .. } => "non-finite-coordinate",
            MeshError::IndexOutOfRange { .. } => "index-out-of-range",
            MeshError::Empty(_) => "empty-mesh",
            MeshError::TooLarge { .. } => "too-large",
            MeshError::BadOption(_) => "bad-option",
            MeshError::Entropy(_) => "no-entropy",
            MeshError::Cancelled => "cancelled",
        }
    }
}

impl MeshError {
    pub(crate) fn truncated(what: impl Into<String>) -> Self {
        MeshError::Truncated { what: what.into() }
    }

    pub(crate) fn parse(line: usize, message: impl Into<String>) -> Self {
        MeshError::Parse {
            line,
            message: message.into(),
        }
    }
}
