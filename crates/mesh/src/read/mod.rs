//! Readers for the three formats CT/MRI segmentation tools export: STL (binary and ASCII),
//! Wavefront OBJ and PLY (ASCII, binary little- and big-endian).
//!
//! Every reader welds bit-identical vertices, refuses NaN/Inf, bounds every declared count against
//! the bytes that remain before allocating, and records the metadata channels it meets.

mod format;
mod obj;
mod ply;
mod stl;
mod tokens;

pub use format::{Format, FormatHint};

use crate::progress::Hooks;
use crate::scrub::{Inventory, MetadataChannel};
use crate::{Limits, Mesh, MeshError};

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
