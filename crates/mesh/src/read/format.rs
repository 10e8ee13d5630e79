//! The formats a model can be read from, and what a caller knows about one before reading.

use serde::{Deserialize, Serialize};

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Binary STL (80-byte header, u32 count, 50-byte facets).
    StlBinary,
    /// ASCII STL (`solid` … `endsolid`).
    StlAscii,
    /// Wavefront OBJ.
    Obj,
    /// PLY, ASCII.
    PlyAscii,
    /// PLY, binary little-endian.
    PlyBinaryLe,
    /// PLY, binary big-endian.
    PlyBinaryBe,
}

/// What the caller knows about the input (usually from its file extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FormatHint {
    /// Sniff the bytes.
    #[default]
    Auto,
    /// STL, binary or ASCII (decided from the bytes).
    Stl,
    /// Wavefront OBJ.
    Obj,
    /// PLY (any encoding).
    Ply,
}

impl FormatHint {
    /// The hint for a file name's extension (`.stl`, `.obj`, `.ply`, any case); `Auto` otherwise.
    pub fn from_path(name: &str) -> FormatHint {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "stl" => FormatHint::Stl,
            "obj" => FormatHint::Obj,
            "ply" => FormatHint::Ply,
            _ => FormatHint::Auto,
        }
    }
}
