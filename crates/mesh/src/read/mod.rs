//! Readers for the three formats CT/MRI segmentation tools export: STL (binary and ASCII),
//! Wavefront OBJ and PLY (ASCII, binary little- and big-endian).
//!
//! Every reader welds bit-identical vertices, refuses NaN/Inf, bounds every declared count against
//! the bytes that remain before allocating, and records the metadata channels it meets.

mod obj;
mod ply;
mod stl;

use serde::{Deserialize, Serialize};

use crate::progress::Hooks;
use crate::scrub::{Inventory, MetadataChannel};
use crate::{Limits, Mesh, MeshError};

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

/// A model as read: welded geometry plus the inventory of its metadata.
#[derive(Debug, Clone)]
pub struct ReadModel {
    /// The welded mesh.
    pub mesh: Mesh,
    /// The format detected.
    pub format: Format,
    /// Every metadata channel found (ids, counts and byte counts; never values).
    pub metadata: Vec<MetadataChannel>,
    /// Triangles as stored in the file (polygons count as their fan triangles).
    pub triangles_read: u64,
    /// Triangles dropped because they repeat a vertex after welding.
    pub degenerate_dropped: u64,
}

/// Read a model from bytes (never panics; a typed error on bad input).
pub fn read(bytes: &[u8], hint: FormatHint, limits: &Limits) -> Result<ReadModel, MeshError> {
    let mut progress = |_: f32| {};
    let cancel = || false;
    let mut hooks = Hooks::new(&mut progress, &cancel);
    read_with(bytes, hint, limits, &mut hooks)
}

pub(crate) fn read_with(
    bytes: &[u8],
    hint: FormatHint,
    limits: &Limits,
    hooks: &mut Hooks<'_>,
) -> Result<ReadModel, MeshError> {
    let hint = match hint {
        FormatHint::Auto => sniff(bytes)?,
        h => h,
    };
    let mut inv = Inventory::default();
    let (mut mesh, format, triangles_read) = match hint {
        FormatHint::Stl => stl::read(bytes, limits, &mut inv, hooks)?,
        FormatHint::Obj => obj::read(bytes, limits, &mut inv, hooks)?,
        FormatHint::Ply => ply::read(bytes, limits, &mut inv, hooks)?,
        FormatHint::Auto => return Err(MeshError::UnknownFormat("cannot tell the format".into())),
    };
    let degenerate_dropped = mesh.drop_degenerate() as u64;
    if mesh.triangles.is_empty() {
        return Err(MeshError::Empty(if triangles_read == 0 {
            "the file holds no triangle".into()
        } else {
            format!("all {triangles_read} triangles are degenerate")
        }));
    }
    let before = mesh.vertices.len();
    mesh.compact();
    let unused = before - mesh.vertices.len();
    if unused > 0 {
        // Vertices no face uses are geometry that would be silently dropped: say so.
        inv.add("unreferenced-vertices", None, unused as u64, 0);
    }
    Ok(ReadModel {
        mesh,
        format,
        metadata: inv.channels,
        triangles_read,
        degenerate_dropped,
    })
}

/// Guess the format from the first bytes.
fn sniff(bytes: &[u8]) -> Result<FormatHint, MeshError> {
    if bytes.starts_with(b"ply") {
        return Ok(FormatHint::Ply);
    }
    if stl::binary_size_matches(bytes) {
        return Ok(FormatHint::Stl);
    }
    let head = &bytes[..bytes.len().min(1024)];
    let trimmed = head.trim_ascii_start();
    if trimmed.len() >= 5 && trimmed[..5].eq_ignore_ascii_case(b"solid") {
        return Ok(FormatHint::Stl);
    }
    let text_like = !head.is_empty() && head.iter().all(|&b| b >= 0x20 || b"\t\r\n".contains(&b));
    if text_like
        && head
            .split(|&b| b == b'\n')
            .any(|l| l.starts_with(b"v ") || l.starts_with(b"f ") || l.starts_with(b"#"))
    {
        return Ok(FormatHint::Obj);
    }
    if bytes.len() >= 84 {
        return Ok(FormatHint::Stl);
    }
    Err(MeshError::UnknownFormat(
        "not STL, OBJ or PLY (no recognisable signature)".into(),
    ))
}

/// A whitespace tokenizer over text bytes that tracks line numbers.
pub(crate) struct Tokens<'a> {
    bytes: &'a [u8],
    pos: usize,
    pub(crate) line: usize,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Tokens {
            bytes,
            pos: 0,
            line: 1,
        }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn next_token(&mut self) -> Option<&'a [u8]> {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            if self.bytes[self.pos] == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        if self.pos >= self.bytes.len() {
            return None;
        }
        let start = self.pos;
        while self.pos < self.bytes.len() && !self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        Some(&self.bytes[start..self.pos])
    }
    /// The rest of the current line (without the newline), trimmed.
    pub(crate) fn rest_of_line(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
            self.pos += 1;
        }
        self.bytes[start..self.pos].trim_ascii()
    }
}

pub(crate) fn parse_f32(tok: &[u8], line: usize) -> Result<f32, MeshError> {
    std::str::from_utf8(tok)
        .ok()
        .and_then(|s| s.parse::<f32>().ok())
        .ok_or_else(|| {
            MeshError::parse(
                line,
                format!("expected a number, found a {}-byte token", tok.len()),
            )
        })
}

pub(crate) fn finite(p: [f32; 3], what: impl FnOnce() -> String) -> Result<[f32; 3], MeshError> {
    if p.iter().all(|v| v.is_finite()) {
        Ok(p)
    } else {
        Err(MeshError::NonFinite { what: what() })
    }
}
